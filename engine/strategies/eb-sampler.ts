import type { Strategy } from './types.js';
import { commitOf } from './rank.js';

/**
 * EB-Sampler (entropy-bounded unmasking), as SGLang's dllm algorithm `eb_sampling` decides
 * (python/sglang/srt/dllm/algorithm/eb_sampling.py; NEUIR/PC-Sampler's generate_with_eb_sampler is the same rule):
 * the block's masked positions sorted by entropy, lowest first; the first is always committed, and each next one
 * while the entropies before it sum to at most `gamma`.
 */
export const ebSampler: Strategy<{ gamma: number }> = {
  name: 'eb-sampler',
  description:
    'Commit the lowest-entropy masked positions of the block while their summed entropy stays within gamma (at least one).',
  paper:
    'Ben-Hamu et al. 2025, Accelerated Sampling from Masked Diffusion Models via Entropy Bounded Unmasking, arXiv:2505.24857',
  params: {
    gamma: {
      type: 'number',
      default: 0.15,
      min: 0,
      description: 'entropy budget (nats) of the positions committed together',
    },
  },
  decide(view, { gamma }) {
    const ranked = view.masked
      .map((p) => ({ p, pred: view.predictions[p - view.promptLength]! }))
      .sort((a, b) => a.pred.entropy - b.pred.entropy || a.p - b.p);
    let spent = 0;
    const take = ranked.filter((r, i) => {
      const ok = i === 0 || spent <= gamma;
      spent += r.pred.entropy;
      return ok;
    });
    return { commit: take.map(commitOf) };
  },
};
