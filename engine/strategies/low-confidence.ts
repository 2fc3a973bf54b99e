import type { Strategy } from './types.js';

/** LLaDA (Nie et al., 2025, "Large Language Diffusion Models"), generate.py's low_confidence remasking. */
export const lowConfidence: Strategy = {
  name: 'low-confidence',
  description: 'Commit the scheduled number of masked positions with the highest confidence (LLaDA low-confidence remasking).',
  paper: 'Nie et al. 2025, Large Language Diffusion Models (LLaDA), arXiv:2502.09992',
  params: {},
  decide(view) {
    const ranked = view.masked
      .map((p) => ({ p, pred: view.predictions[p - view.promptLength]! }))
      .sort((a, b) => b.pred.confidence - a.pred.confidence || a.p - b.p);
    return { commit: ranked.slice(0, view.scheduled).map(({ p, pred }) => ({ position: p, token: pred.token })) };
  },
};
