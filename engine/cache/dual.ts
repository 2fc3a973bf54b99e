import type { CachePolicy } from './types.js';
import { prefixCache } from './prefix.js';

/** Fast-dLLM dual cache: prefix and the (still masked) suffix after the block are both cached, refreshed per block. */
export function dualCache(): CachePolicy {
  return {
    ...prefixCache(),
    mode: 'dual',
    description: 'as prefix, and the masked suffix after the block is cached too',
    paper: 'Wu et al. 2025, Fast-dLLM (arXiv:2505.22618), DualCache',
    needsSuffix: true,
    computesSuffix: false,
    initial: (T, bs, be) => [
      ...Array.from({ length: bs }, (_, i) => i),
      ...Array.from({ length: T - be }, (_, i) => be + i),
    ],
  };
}
