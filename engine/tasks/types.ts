import type { Rng } from '../util/rng.js';

/** One generated instance: what the model is asked, one correct answer, and what the checker needs. */
export interface TaskInstance {
  suite: string;
  id: string;
  prompt: string;
  reference: string;
  checker: Record<string, unknown>;
}

export interface Suite {
  name: string;
  description: string;
  /** 'exact': one right answer; 'valid': many; 'text': free English, scored by overlap. */
  kind: 'exact' | 'valid' | 'text';
  /** Generation length (tokens) that holds the longest answer plus end of text: a shorter one makes long answers
   * impossible to get right (ten 3-digit numbers are 39 tokens), so benches and evals default to it. */
  genLength: number;
  generate(rng: Rng, index: number, ctx: SuiteContext): TaskInstance;
  /** Score in [0, 1] of a model's output for this instance. */
  score(output: string, inst: TaskInstance): number;
}

export interface SuiteContext {
  /** 'train' or 'eval': corpus suites split their items by a hash so eval items are unseen. */
  split: 'train' | 'eval';
  corpus?: CorpusProvider;
}

export interface CorpusProvider {
  define(): readonly { word: string; definition: string }[];
  fortune(): readonly { text: string }[];
}
