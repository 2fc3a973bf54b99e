import type { Strategy } from './types.js';
import { series } from './rank.js';

type Alg = 'maskgit_plus' | 'topk_margin' | 'entropy';

/** Each algorithm's confidence of a masked position's prediction, as Dream's sample_tokens computes it. */
const CONFIDENCE: Record<Alg, (p: { confidence: number; entropy: number; topProbs: Float32Array }) => number> = {
  maskgit_plus: (p) => p.confidence, // probability of the chosen token
  topk_margin: (p) => p.topProbs[0]! - (Number.isNaN(p.topProbs[1]!) ? 0 : p.topProbs[1]!), // top-1 minus top-2
  entropy: (p) => -p.entropy, // negative entropy: a peaked distribution is confident
};

const DESCRIPTION: Record<Alg, string> = {
  maskgit_plus: "Dream: commit the positions whose chosen token is most probable (MaskGIT+), on Dream's schedule.",
  topk_margin: 'Dream: commit the positions with the largest margin between their top-1 and top-2 probabilities.',
  entropy: 'Dream: commit the positions whose predicted distribution has the lowest entropy.',
};

/**
 * Dream's sampling rules (DreamLM/Dream, generation_utils.py `_sample`): at step i of K, with t = 1 − i(1 − eps)/K
 * and s = t − (1 − eps)/K, commit int(masked × (1 − s/t)) positions (all that remain at the last step) — so early
 * steps may commit none — ranked by the algorithm's confidence; with `alg_temp` > 0 they are drawn without
 * replacement from softmax(confidence / alg_temp) (Gumbel top-k on the step's random draws) instead. Dream decodes
 * the whole generation as one block: use --block-length equal to --gen-length to reproduce it; with shorter blocks
 * the schedule runs per block.
 */
function dream(alg: Alg): Strategy<{ alg_temp: number; eps: number }> {
  const conf = CONFIDENCE[alg];
  return {
    name: alg, // Dream's own alg= names
    description: DESCRIPTION[alg],
    paper: 'Ye et al. 2025, Dream 7B: Diffusion Large Language Models (arXiv:2508.15487)',
    params: {
      alg_temp: {
        type: 'number',
        default: 0,
        min: 0,
        description: 'temperature of drawing which positions to commit (0: the most confident)',
      },
      eps: {
        type: 'number',
        default: 1e-3,
        min: 0,
        max: 0.5,
        minExclusive: true,
        description: "the schedule's final time step",
      },
    },
    series: { [`dream_${alg}`]: { label: `Dream ${alg} confidence`, kind: 'heatmap' } },
    decide(view, { alg_temp, eps }) {
      const K = view.stepsInBlock,
        i = view.blockStep;
      const t = 1 - (i * (1 - eps)) / K,
        s = 1 - ((i + 1) * (1 - eps)) / K;
      const n = i < K - 1 ? Math.trunc(view.masked.length * (1 - s / t)) : view.masked.length;
      const s0 = series(view);
      const ranked = view.masked.map((p, j) => {
        const pred = view.predictions[p - view.promptLength]!;
        const c = conf(pred);
        s0[p - view.promptLength] = c;
        // Gumbel top-k: the same law as drawing without replacement from softmax(c / alg_temp).
        const key =
          alg_temp > 0 ? c / alg_temp - Math.log(-Math.log(Math.min(1 - 1e-12, Math.max(1e-12, view.random[j]!)))) : c;
        return { position: p, token: pred.token, key };
      });
      ranked.sort((a, b) => b.key - a.key || a.position - b.position);
      return {
        commit: ranked.slice(0, n).map(({ position, token }) => ({ position, token })),
        series: { [`dream_${alg}`]: s0 },
      };
    },
  };
}

export const dreamMaskgitPlus = dream('maskgit_plus');
export const dreamTopkMargin = dream('topk_margin');
export const dreamEntropy = dream('entropy');
