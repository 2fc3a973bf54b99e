import type { Strategy } from './types.js';
import { byConfidence, commitOf } from './rank.js';

/**
 * Fast-dLLM's factor rule: with confidences sorted c1 >= c2 >= ..., commit the longest prefix of n tokens in which
 * every c_i (i >= 2) satisfies (i + 1)(1 - c_i) < f, i.e. c_i > 1 - f/(i + 1) (NVlabs/Fast-dLLM,
 * get_transfer_index_dynamic); the first is always committed. More tokens need more confidence each.
 */
export const fastDllmFactor: Strategy<{ factor: number }> = {
  name: 'fast-dllm-factor',
  description:
    'Commit the n most confident positions while the n-th confidence exceeds 1 - factor/(n+1) (Fast-dLLM factor rule).',
  paper: 'Wu et al. 2025, Fast-dLLM, arXiv:2505.22618 (factor-based parallel decoding)',
  params: {
    factor: {
      type: 'number',
      default: 1,
      min: 0,
      minExclusive: true,
      description: 'f in (n + 1)(1 - c_n) < f; larger commits more per step',
    },
  },
  decide(view, { factor }) {
    const r = byConfidence(view);
    let n = 1;
    while (n < r.length && r[n]!.pred.confidence > 1 - factor / (n + 2)) n++;
    return { commit: r.slice(0, n).map(commitOf) };
  },
};
