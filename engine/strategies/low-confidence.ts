import type { Strategy } from './types.js';
import { byConfidence, commitOf } from './rank.js';

/** LLaDA (Nie et al., 2025, "Large Language Diffusion Models"), generate.py's low_confidence remasking. */
export const lowConfidence: Strategy = {
  name: 'low-confidence',
  description:
    'Commit the scheduled number of masked positions with the highest confidence (LLaDA low-confidence remasking).',
  paper: 'Nie et al. 2025, Large Language Diffusion Models (LLaDA), arXiv:2502.09992',
  params: {},
  decide(view) {
    return { commit: byConfidence(view).slice(0, view.scheduled).map(commitOf) };
  },
};
