import type { CachePolicy } from './types.js';

/** No cache: every step is one full forward pass (LLaDA's generate.py). */
export function noneCache(): CachePolicy {
  return {
    mode: 'none',
    description: 'one full forward pass per step',
    paper: 'Nie et al. 2025, LLaDA (arXiv:2502.09992)',
    params: {},
    needsSuffix: false,
    computesSuffix: false,
    refresh: () => true,
    initial: () => [],
  };
}
