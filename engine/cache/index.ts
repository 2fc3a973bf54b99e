import { DlensError } from '../errors.js';
import type { CacheMode, CachePolicy } from './types.js';
import { noneCache } from './none.js';
import { prefixCache } from './prefix.js';
import { dualCache } from './dual.js';
import { sparseCache } from './sparse.js';

export const CACHE_MODES: readonly CacheMode[] = ['none', 'prefix', 'dual', 'sparse'];

export function makeCache(mode: string, params: Record<string, number>, attention: 'bidirectional' | 'block-causal'): CachePolicy {
  if (!CACHE_MODES.includes(mode as CacheMode)) throw new DlensError(`unknown cache mode "${mode}": choose one of ${CACHE_MODES.join(', ')}`);
  const known: Record<CacheMode, string[]> = { none: [], prefix: [], dual: [], sparse: ['keep_ratio', 'kernel_size', 'delay'] };
  for (const k of Object.keys(params)) if (!known[mode as CacheMode].includes(k)) throw new DlensError(`cache ${mode} has no parameter "${k}"${known[mode as CacheMode].length ? `; its parameters are ${known[mode as CacheMode].join(', ')}` : ''}`);
  const policy = mode === 'none' ? noneCache() : mode === 'prefix' ? prefixCache() : mode === 'dual' ? dualCache() : sparseCache(params);
  if (policy.needsSuffix && attention === 'block-causal') throw new DlensError(`cache ${mode} caches positions after the block, but this model is block-causal and never attends to them; use --cache prefix`);
  return policy;
}
