import { DlensError } from '../errors.js';
import { Rng } from '../util/rng.js';
import { getSuite } from './suites.js';
import type { SuiteContext, TaskInstance } from './types.js';

/**
 * Instances of a suite for a seed. Each instance draws from its own stream (seed, suite, index),
 * so instance i is the same whether 10 or 10,000 are asked for.
 */
export function generateTasks(suiteName: string, n: number, seed: number, ctx: SuiteContext): TaskInstance[] {
  getSuite(suiteName);
  const out: TaskInstance[] = [];
  for (let i = 0; i < n; i++) out.push(taskAt(suiteName, i, seed, ctx));
  return out;
}

export function taskAt(suiteName: string, index: number, seed: number, ctx: SuiteContext): TaskInstance {
  const suite = getSuite(suiteName);
  let h = (seed >>> 0) ^ 0x5bd1e995;
  for (const c of suiteName) h = Math.imul(h ^ c.charCodeAt(0), 0x01000193) >>> 0;
  const rng = new Rng((h ^ Math.imul(index + 1, 0x9e3779b1)) >>> 0);
  return suite.generate(rng, index, ctx);
}

/** Parse "suite:index" (index as in the generated id suite-N, or N). */
export function parseTaskRef(ref: string): { suite: string; index: number } {
  const m = /^([a-z]+):(?:[a-z]+-)?(\d+)$/.exec(ref);
  if (!m) throw new DlensError(`--task expects SUITE:INDEX (for example lookup:3), got "${ref}"`);
  getSuite(m[1]!);
  const index = Number(m[2]);
  if (!Number.isSafeInteger(index)) throw new DlensError(`--task index ${m[2]} is too large; use an index below 2^53`);
  return { suite: m[1]!, index };
}
