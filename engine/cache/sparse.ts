import { DlensError } from '../errors.js';
import type { CachePolicy } from './types.js';
import { dualCache } from './dual.js';

export const SPARSE_DEFAULTS = { keep_ratio: 0.5, kernel_size: 3, delay: 1 };

/**
 * Sparse-dLLM's delayed bidirectional sparse cache. At a block's first step a full pass caches prefix and suffix
 * (as dual). `delay` steps later — one by default, so the choice is made from attention that has settled — each
 * layer scores its cached positions by the attention they receive from the block's queries (head-averaged),
 * smooths the scores along positions with a max-pool of `kernel_size`, and keeps the top `keep_ratio`; the rest
 * are evicted until the next block's refresh.
 */
export function sparseCache(params: Record<string, number> = {}): CachePolicy {
  const p = { ...SPARSE_DEFAULTS, ...params };
  if (!(p.keep_ratio > 0 && p.keep_ratio <= 1)) throw new DlensError(`cache sparse: keep_ratio must be in (0, 1], got ${p.keep_ratio}`);
  if (!Number.isInteger(p.kernel_size) || p.kernel_size < 1 || p.kernel_size % 2 === 0) throw new DlensError(`cache sparse: kernel_size must be an odd integer >= 1 (the max-pool window is centred on each position), got ${p.kernel_size}`);
  if (!Number.isInteger(p.delay) || p.delay < 1) throw new DlensError(`cache sparse: delay must be an integer >= 1 (steps after the block's full pass at which eviction happens), got ${p.delay}`);
  const dual = dualCache();
  return {
    ...dual, mode: 'sparse', params: p,
    description: 'delayed bidirectional sparse cache with attention-guided eviction',
    paper: 'Song et al. 2025, Sparse-dLLM: Accelerating Diffusion LLMs with Dynamic Cache Eviction (arXiv:2508.02558)',
    reselect(blockStep, cached, scores) {
      if (blockStep !== p.delay) return null;
      return cached.map((positions, l) => selectKept(positions, scores[l]!, p.keep_ratio, p.kernel_size));
    },
  };
}

/** Max-pool the scores along position order (window `kernel`, same length), keep the top `ratio` by pooled score. */
export function selectKept(positions: number[], scores: Float32Array, ratio: number, kernel: number): number[] {
  const n = positions.length;
  const keep = Math.max(0, Math.min(n, Math.round(n * ratio)));
  if (keep === n) return positions.slice();
  const order = positions.map((p, i) => ({ p, i })).sort((a, b) => a.p - b.p);
  const raw = order.map(({ i }) => scores[i]!);
  const half = (kernel - 1) / 2;
  const pooled = raw.map((_, j) => {
    let m = -Infinity;
    for (let d = -half; d <= half; d++) { const v = raw[j + d]; if (v !== undefined && v > m) m = v; }
    return m;
  });
  const ranked = order.map(({ p }, j) => ({ p, s: pooled[j]!, r: raw[j]! })).sort((a, b) => b.s - a.s || b.r - a.r || a.p - b.p);
  return ranked.slice(0, keep).map((x) => x.p).sort((a, b) => a - b);
}
