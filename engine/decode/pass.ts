import type { ForwardOutputs } from '../model/load.js';

/** One forward call: full (every position, no cache) or the block [bs, be) against a cache. */
export interface Pass {
  out: ForwardOutputs;
  /** True for a full pass (which also rebuilds the cache). */
  full: boolean;
  /** First position computed, positions computed, cached positions attended to. */
  q0: number;
  Q: number;
  C: number;
}
