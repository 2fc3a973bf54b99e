import type { StepView, Strategy } from './types.js';
import { byConfidence, commitOf } from './rank.js';
import { DlensError } from '../errors.js';

type RemdmParams = {
  init_unmask_ratio: number;
  unmask_k: number;
  loop_steps: number;
};

/**
 * ReMDM's loop schedule (Wang et al. 2025, kuleshov-group/remdm's `remdm-loop`) as NEUIR/PC-Sampler adapts it to
 * LLaDA (src/generate.py generate_with_remdm), over the whole generation as one block: commit `unmask_k` masked
 * positions per pass until `init_unmask_ratio` of the generation is decided; then `loop_steps` times, one pass remasks
 * the `unmask_k` committed tokens the model now gives the lowest probability and the next commits as many of the
 * masked positions, most confident first; then commit `unmask_k` per pass until none is masked.
 */
export const remdm: Strategy<RemdmParams, number | undefined> = {
  name: 'remdm',
  description:
    'Decode most of the answer, then loop: remask the least likely committed tokens and commit again (ReMDM loop).',
  paper: 'Wang et al. 2025, Remasking Discrete Diffusion Models with Inference-Time Scaling (ReMDM), arXiv:2503.00307',
  revisits: true,
  params: {
    init_unmask_ratio: {
      type: 'number',
      default: 0.875,
      min: 0,
      max: 1,
      description: 'share of the generation committed before the remasking loop',
    },
    unmask_k: { type: 'integer', default: 1, min: 1, description: 'tokens committed (and remasked) per pass' },
    loop_steps: { type: 'integer', default: 32, min: 0, description: 'remask-and-commit rounds (two passes each)' },
  },
  decide(view, p, lastRemasked) {
    const { first, loops } = phases(view, p);
    const s = view.step;
    const masked = view.masked.length;
    if (s >= first && s < first + 2 * loops) {
      if ((s - first) % 2 === 0) {
        // Remask: the committed tokens the model now finds least likely (ties: leftmost first).
        const held = committed(view)
          .map((q) => ({ q, prob: view.held![q - view.promptLength]! }))
          .sort((a, b) => a.prob - b.prob || a.q - b.q);
        const k = Math.min(p.unmask_k, held.length);
        return { commit: [], remask: held.slice(0, k).map((h) => h.q), state: k };
      }
      const commit = byConfidence(view)
        .slice(0, lastRemasked ?? p.unmask_k)
        .map(commitOf);
      return { commit, done: masked === commit.length && s + 1 >= first + 2 * loops };
    }
    const commit = byConfidence(view).slice(0, Math.min(p.unmask_k, masked)).map(commitOf);
    return { commit, done: masked === commit.length && s + 1 >= first + 2 * loops };
  },
};

/** Passes of the first phase, and the remasking rounds (none when nothing is committed before them). */
function phases(view: StepView, p: RemdmParams) {
  const G = view.genLength;
  if (view.blockStart !== view.promptLength || view.blockEnd !== view.promptLength + G)
    throw new DlensError(
      `strategy remdm decodes the whole generation as one block, as its LLaDA code does: use --block-length ${G}`,
    );
  const initial = G * p.init_unmask_ratio;
  if (!Number.isInteger(initial) || initial % p.unmask_k !== 0)
    throw new DlensError(
      `strategy remdm: gen length ${G} × init_unmask_ratio ${p.init_unmask_ratio} = ${initial} must be a whole multiple of unmask_k ${p.unmask_k}`,
    );
  const first = initial / p.unmask_k;
  return { first, loops: first > 0 ? p.loop_steps : 0 };
}

/** The block's committed generated positions. */
function committed(view: StepView): number[] {
  const out: number[] = [];
  for (let q = Math.max(view.blockStart, view.promptLength); q < view.blockEnd; q++)
    if (view.tokens[q] !== view.maskId) out.push(q);
  return out;
}
