/**
 * The task of the README's first command (`npx dlens record --task SUITE:INDEX ...`), read from the README itself so
 * that the screenshots and bench:regions follow the README when its demo changes.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from '../engine/model/load.js';
import { taskAt } from '../engine/tasks/generate.js';
import { DEFAULTS } from '../engine/api/defaults.js';

const match = /npx dlens record --task (\w+):(\d+)/.exec(readFileSync(join(REPO_ROOT, 'README.md'), 'utf8'));
if (!match) throw new Error("README.md's first command records no --task SUITE:INDEX; scripts/readme-demo.ts reads it");

export const README_DEMO = { suite: match[1]!, index: Number(match[2]), ref: `${match[1]}:${match[2]}` };
export const readmeDemoTask = () => taskAt(README_DEMO.suite, README_DEMO.index, DEFAULTS.taskSeed, { split: 'eval' });
