import type { Strategy } from './types.js';

/** LLaDA's "random" remasking: the scheduled count of masked positions chosen uniformly at random. */
export const randomRemasking: Strategy = {
  name: 'random',
  description: 'Commit the scheduled number of masked positions chosen at random (LLaDA random remasking).',
  paper: 'Nie et al. 2025, Large Language Diffusion Models (LLaDA), arXiv:2502.09992',
  params: {},
  decide(view) {
    const ranked = view.masked.map((p, i) => ({ p, r: view.random[i]! })).sort((a, b) => b.r - a.r || a.p - b.p);
    return {
      commit: ranked
        .slice(0, view.scheduled)
        .map(({ p }) => ({ position: p, token: view.predictions[p - view.promptLength]!.token })),
    };
  },
};
