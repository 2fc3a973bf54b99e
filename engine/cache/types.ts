/**
 * A KV-cache policy is data plus two small rules: when a step runs a full pass (refreshing the cache) and which
 * positions each layer keeps afterwards. The decoding loop does the gathering; policies never touch tensors.
 */
export type CacheMode = 'none' | 'prefix' | 'dual' | 'sparse';

export interface CacheParamSpec { type: 'number' | 'integer'; default: number; description: string }

export interface CachePolicy {
  mode: CacheMode;
  description: string;
  paper: string;
  params: Record<string, number>;
  /** Whether the model must attend to positions after the block (suffix) through the cache. */
  needsSuffix: boolean;
  /** True: this step of the block runs a full pass over all positions and rebuilds the cache. */
  refresh(blockStep: number): boolean;
  /** Positions (outside the block) every layer caches after a full pass for block [bs, be) of T positions. */
  initial(T: number, bs: number, be: number): number[];
  /**
   * After a cached pass at `blockStep`: optionally a new per-layer selection, from the attention each cached
   * position received from the block's queries (`scores[layer][i]` for `cached[layer][i]`). Null keeps the cache.
   */
  reselect?(blockStep: number, cached: number[][], scores: Float32Array[]): number[][] | null;
}
