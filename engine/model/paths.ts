import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
/** Where bundled models run from: what `dlens convert` made of assets/checkpoints (engine/model/bundled.ts). */
export const MODELS_DIR = join(REPO_ROOT, 'assets', 'models');
export const DEFAULT_MODEL = 'dlens-tiny';
