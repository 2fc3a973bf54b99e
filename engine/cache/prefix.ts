import type { CachePolicy } from './types.js';

/**
 * Fast-dLLM prefix cache: a full pass at each block's first step, then only the block, attending to the cached prefix.
 */
export function prefixCache(): CachePolicy {
  return {
    mode: 'prefix',
    description: 'full pass at block start; later steps compute the block against the cached prefix',
    paper:
      'Wu et al. 2025, Fast-dLLM: Training-free Acceleration of Diffusion LLM by Enabling KV Cache and Parallel Decoding (arXiv:2505.22618)',
    params: {},
    needsSuffix: false,
    refresh: (k) => k === 0,
    initial: (_T, bs) => Array.from({ length: bs }, (_, i) => i),
  };
}
