import { DlensError } from '../errors.js';
import type { CachePolicy } from './types.js';
import type { ParamSpec, Params } from '../params.js';
import { dualCache } from './dual.js';

export const SPARSE_PARAMS: Record<string, ParamSpec> = {
  keep_ratio: {
    type: 'number',
    default: 0.5,
    min: 0,
    max: 1,
    minExclusive: true,
    description: 'share of prefix and suffix positions each layer keeps',
  },
  kernel_size: {
    type: 'integer',
    default: 3,
    description: 'max-pool window (odd) that smooths attention scores along positions',
  },
  delay: {
    type: 'integer',
    default: 1,
    min: 0,
    description: 'full-pass steps at a block start before the cache is selected',
  },
};

/**
 * Sparse-dLLM's delayed bidirectional sparse cache, as OpenMOSS/Sparse-dLLM's LLaDA generate loop does it: the
 * block's first `delay` + 1 steps are full passes and store nothing but the last; at step `delay` (one by default:
 * the attention of a block whose tokens are all still masked is not yet a stable guide) each layer scores prefix and
 * suffix as CustomCache.filter_cache does — the mean block query's dot product with each key, averaged over heads
 * (the graph's key_scores; its 1/√d scale changes no ranking) —, max-pools the scores along positions
 * (`kernel_size`), keeps the top floor(n x `keep_ratio`) and caches only those for the rest of the block. So the cache
 * never holds more than the kept share between steps. The saliency views still show attention received.
 */
export function sparseCache(params: Params): CachePolicy {
  const p = {
    keep_ratio: Number(params.keep_ratio),
    kernel_size: Number(params.kernel_size),
    delay: Number(params.delay),
  };
  // Oddness is beyond a ParamSpec: the max-pool window is centred on each position.
  if (p.kernel_size < 1 || p.kernel_size % 2 === 0)
    throw new DlensError(
      `cache sparse: kernel_size must be an odd integer >= 1 (the max-pool window is centred on each position), got ${p.kernel_size}`,
    );
  return {
    ...dualCache(),
    mode: 'sparse',
    params: p,
    description: 'delayed bidirectional sparse cache with attention-guided eviction',
    paper: 'Song et al. 2025, Sparse-dLLM: Accelerating Diffusion LLMs with Dynamic Cache Eviction (arXiv:2508.02558)',
    refresh: (k) => k <= p.delay,
    keep(k, candidates, score, layers) {
      if (k < p.delay) return Array.from({ length: layers }, () => []);
      return Array.from({ length: layers }, (_, l) => selectKept(candidates, score(l), p.keep_ratio, p.kernel_size));
    },
  };
}

/**
 * Max-pool the scores along position order (window `kernel`, same length), keep the top floor(n x `ratio`) by pooled
 * score. Pooling makes plateaus (a local maximum spreads to its neighbours), so equal pooled scores at the cut are
 * common: the lowest positions are kept, as torch.topk does on CUDA, where Sparse-dLLM runs (its CPU topk picks
 * among equals in an unspecified order).
 */
export function selectKept(positions: number[], scores: Float32Array, ratio: number, kernel: number): number[] {
  const n = positions.length;
  const keep = Math.max(0, Math.min(n, Math.floor(n * ratio + 1e-9)));
  if (keep === n) return positions.slice();
  const order = positions.map((p, i) => ({ p, i })).sort((a, b) => a.p - b.p);
  const raw = order.map(({ i }) => scores[i]!);
  const half = (kernel - 1) / 2;
  const pooled = raw.map((_, j) => {
    let m = -Infinity;
    for (let d = -half; d <= half; d++) {
      const v = raw[j + d];
      if (v !== undefined && v > m) m = v;
    }
    return m;
  });
  const ranked = order.map(({ p }, j) => ({ p, s: pooled[j]! })).sort((a, b) => b.s - a.s || a.p - b.p);
  return ranked
    .slice(0, keep)
    .map((x) => x.p)
    .sort((a, b) => a - b);
}
