import type { Strategy } from './types.js';
import { byConfidence, commitOf } from './rank.js';

/**
 * Fast-dLLM's factor rule: with confidences sorted c1 >= c2 >= ..., commit the longest prefix of n tokens in which
 * every c_i (i >= 2) satisfies c_i >= 1 - f/(i + 1); the first is always committed. More tokens need more confidence
 * each. `rule: reference` (default) is NVlabs/Fast-dLLM's get_transfer_index_dynamic as published: its loop leaves
 * `top_i` at the last index both when every candidate passes and when only the last one fails, and
 * `if top_i == 0 or top_i == len(threshs) - 1: top_i += 1` then commits every masked position in both cases — one
 * token more than the rule when only the last fails. `rule: paper` commits exactly the prefix the rule allows.
 */
export const fastDllmFactor: Strategy<{ factor: number; rule: string }> = {
  name: 'fast-dllm-factor',
  description:
    'Commit the n most confident positions while the n-th confidence is at least 1 - factor/(n+1) (Fast-dLLM factor rule).',
  paper: 'Wu et al. 2025, Fast-dLLM, arXiv:2505.22618 (factor-based parallel decoding)',
  params: {
    factor: {
      type: 'number',
      default: 1,
      min: 0,
      minExclusive: true,
      description: 'f in (n + 1)(1 - c_n) <= f; larger commits more per step',
    },
    rule: {
      type: 'enum',
      default: 'reference',
      options: ['reference', 'paper'],
      description:
        "reference: as Fast-dLLM's code (all masked positions when only the last fails); paper: exactly the rule",
    },
  },
  decide(view, { factor, rule }) {
    const r = byConfidence(view);
    let n = 1;
    while (n < r.length && r[n]!.pred.confidence >= 1 - factor / (n + 2)) n++;
    if (rule === 'reference' && n === r.length - 1) n++;
    // n = 1 is always committed; it passed the rule only if (1 + 1)(1 - c_1) <= f
    const forced = n === 1 && r.length > 0 && r[0]!.pred.confidence < 1 - factor / 2;
    return { commit: r.slice(0, n).map(commitOf), forced };
  },
};
