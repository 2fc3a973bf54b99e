/** The command table: `dlens NAME` runs the command of that name; `dlens --help` lists them in this order. */
import { modelsCommand } from './models.js';
import { recordCommand } from './record.js';
import { learnCommand } from './learn.js';
import { infoCommand } from './info.js';
import { diffCommand } from './diff.js';
import { benchCommand } from './bench.js';
import { convertCommand } from './convert.js';
import { tasksCommand } from './tasks.js';
import { importCommand } from './import.js';
import { serveCommand } from './serve.js';
import { setCommand } from './set.js';
import type { Command } from '../args.js';

export const COMMANDS: readonly Command[] = [
  modelsCommand,
  recordCommand,
  learnCommand,
  infoCommand,
  diffCommand,
  benchCommand,
  convertCommand,
  tasksCommand,
  importCommand,
  serveCommand,
  setCommand,
];
