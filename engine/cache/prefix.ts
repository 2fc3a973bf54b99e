import type { CachePolicy } from './types.js';

/**
 * Fast-dLLM prefix cache: a full pass at each block's first step, then the block and everything after it, attending
 * to the cached prefix — as NVlabs/Fast-dLLM's generate_with_prefix_cache calls `model(x[:, start:], past_key_values)`.
 * The suffix is recomputed, not cached: the block's queries see the masked suffix as it is now.
 */
export function prefixCache(): CachePolicy {
  return {
    mode: 'prefix',
    description: 'full pass at block start; later steps compute the block and the suffix against the cached prefix',
    paper:
      'Wu et al. 2025, Fast-dLLM: Training-free Acceleration of Diffusion LLM by Enabling KV Cache and Parallel Decoding (arXiv:2505.22618)',
    params: {},
    needsSuffix: false,
    computesSuffix: true,
    refresh: (k) => k === 0,
    initial: (_T, bs) => Array.from({ length: bs }, (_, i) => i),
  };
}
