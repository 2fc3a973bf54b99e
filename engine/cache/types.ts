/**
 * A KV-cache policy is data plus two small rules: when a step runs a full pass (refreshing the cache) and which
 * positions each layer keeps afterwards. The decoding loop does the gathering; policies never touch tensors.
 */
import type { CacheMode } from './modes.js';
import type { Params } from '../params.js';

export type { CacheMode };

export interface CachePolicy {
  mode: CacheMode;
  description: string;
  paper: string;
  params: Params;
  /** Whether the model must attend to positions after the block (suffix) through the cache. */
  needsSuffix: boolean;
  /**
   * Whether a pass against the cache computes the positions after the block too, so the block's queries attend to
   * the current suffix (Fast-dLLM's prefix cache runs `model(x[:, start:], past_key_values=prefix)`).
   */
  computesSuffix: boolean;
  /** True: this step of the block runs a full pass over all positions and rebuilds the cache. */
  refresh(blockStep: number): boolean;
  /** Positions (outside the block) every layer caches after a full pass for block [bs, be) of T positions. */
  initial(T: number, bs: number, be: number): number[];
  /**
   * Which of `candidates` each layer keeps after a full pass at `blockStep`, from the block's queries' mean score
   * q·k/√d of each candidate in that pass, head-averaged (`score(layer)[i]` for `candidates[i]`; the graph's
   * key_scores). Absent: keep them all. An empty selection stores nothing (the next step must be a full pass too).
   */
  keep?(blockStep: number, candidates: number[], score: (layer: number) => Float32Array, layers: number): number[][];
}
