import type { Strategy } from './types.js';
import { byConfidence, commitOf, series } from './rank.js';

/**
 * Prophet's early commit (pixeli99/Prophet, generate_earlyexit.py): LLaDA's low-confidence schedule, and at each step
 * the mean top-2 logit gap (log p1 − log p2) over the answer region (`answer_length` positions from `answer_start`);
 * once it reaches the threshold of the decode's phase (early before a third of the steps, mid before two thirds, late
 * after), every masked position of the sequence is committed with this pass's prediction and decoding ends.
 * The gap is recorded as extra.gap over the answer region.
 */
export const prophet: Strategy<{
  answer_start: number;
  answer_length: number;
  early: number;
  mid: number;
  late: number;
}> = {
  name: 'prophet',
  description:
    'Low-confidence decoding that commits the whole rest at once when the answer region’s top-2 logit gap is wide (early exit).',
  paper: 'Li et al. 2025, Diffusion Language Models Know the Answer Before Decoding (Prophet), arXiv:2508.19982',
  wide: true,
  params: {
    answer_start: { type: 'integer', default: 0, min: 0, description: 'first generated position of the answer region' },
    answer_length: { type: 'integer', default: 5, min: 1, description: 'positions of the answer region' },
    early: { type: 'number', default: 7.5, min: 0, description: 'gap to commit before a third of the steps' },
    mid: { type: 'number', default: 5, min: 0, description: 'gap to commit before two thirds of the steps' },
    late: { type: 'number', default: 2.5, min: 0, description: 'gap to commit after two thirds of the steps' },
  },
  series: { gap: { label: 'Prophet: top-2 logit gap over the answer region', kind: 'heatmap' } },
  decide(view, p) {
    const gap = series(view);
    const gaps: number[] = [];
    for (let g = p.answer_start; g < Math.min(view.genLength, p.answer_start + p.answer_length); g++) {
      const pr = view.predictions[g];
      if (!pr || !(pr.topProbs[1]! > 0)) continue;
      gap[g] = Math.log(pr.topProbs[0]!) - Math.log(pr.topProbs[1]!);
      gaps.push(gap[g]!);
    }
    const progress = (view.step + 1) / view.totalSteps;
    const bar = progress < 0.33 ? p.early : progress < 0.67 ? p.mid : p.late;
    if (gaps.length && gaps.reduce((a, b) => a + b, 0) / gaps.length >= bar) {
      const commit: { position: number; token: number }[] = [];
      for (let q = view.promptLength; q < view.promptLength + view.genLength; q++) {
        const pr = view.predictions[q - view.promptLength];
        if (view.tokens[q] === view.maskId && pr) commit.push({ position: q, token: pr.token });
      }
      return { commit, series: { gap } };
    }
    return { commit: byConfidence(view).slice(0, view.scheduled).map(commitOf), series: { gap } };
  },
};
