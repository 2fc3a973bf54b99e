import { DlensError } from '../errors.js';
import type { CacheMode, CachePolicy } from './types.js';
import { noneCache } from './none.js';
import { prefixCache } from './prefix.js';
import { dualCache } from './dual.js';
import { sparseCache } from './sparse.js';

export const CACHE_MODES: readonly CacheMode[] = ['none', 'prefix', 'dual', 'sparse'];

/** Parameters of each policy as data (the app's record form and `--set cache.K=V` read them). */
export const CACHE_PARAMS: Record<CacheMode, Record<string, { type: 'number' | 'integer'; default: number; min?: number; max?: number; minExclusive?: boolean; description: string }>> = {
  none: {}, prefix: {}, dual: {},
  sparse: {
    keep_ratio: { type: 'number', default: 0.5, min: 0, max: 1, minExclusive: true, description: 'share of prefix and suffix positions each layer keeps' },
    kernel_size: { type: 'integer', default: 3, min: 1, description: 'max-pool window (odd) that smooths attention scores along positions' },
    delay: { type: 'integer', default: 1, min: 0, description: 'full-pass steps at a block start before the cache is selected' },
  },
};

export function makeCache(mode: string, params: Record<string, number>, attention: 'bidirectional' | 'block-causal'): CachePolicy {
  if (!CACHE_MODES.includes(mode as CacheMode)) throw new DlensError(`unknown cache mode "${mode}": choose one of ${CACHE_MODES.join(', ')}`);
  const known = Object.fromEntries(CACHE_MODES.map((m) => [m, Object.keys(CACHE_PARAMS[m])])) as Record<CacheMode, string[]>;
  for (const k of Object.keys(params)) if (!known[mode as CacheMode].includes(k)) throw new DlensError(`cache ${mode} has no parameter "${k}"${known[mode as CacheMode].length ? `; its parameters are ${known[mode as CacheMode].join(', ')}` : ''}`);
  const policy = mode === 'none' ? noneCache() : mode === 'prefix' ? prefixCache() : mode === 'dual' ? dualCache() : sparseCache(params);
  if (policy.needsSuffix && attention === 'block-causal') throw new DlensError(`cache ${mode} caches positions after the block, but this model is block-causal and never attends to them; use --cache prefix`);
  return policy;
}
