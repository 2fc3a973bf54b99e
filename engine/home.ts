import { homedir } from 'node:os';
import { join } from 'node:path';

/** dlens's own folder (recordings, filters, imported models, the recent list): DLENS_HOME, else ~/.dlens. */
export const dlensHome = () => process.env.DLENS_HOME ?? join(homedir(), '.dlens');
/** Where models converted from the app land; models are found there by name. */
export const userModelsDir = () => join(dlensHome(), 'models');
