import type { Strategy } from './types.js';
import { byConfidence, commitOf, probability } from './rank.js';

/**
 * Fast-dLLM's confidence-aware parallel decoding: every masked position of the block whose confidence reaches the
 * threshold is committed, and always the most confident one, so each step makes progress (get_transfer_index keeps
 * the top-1 and drops the others below the threshold: a confidence equal to it is committed).
 */
export const fastDllmThreshold: Strategy<{ threshold: number }> = {
  name: 'fast-dllm-threshold',
  description:
    'Commit every masked position of the block with confidence at least the threshold (at least the most confident one).',
  paper:
    'Wu et al. 2025, Fast-dLLM: Training-free Acceleration of Diffusion LLM by Enabling KV Cache and Parallel Decoding, arXiv:2505.22618',
  params: {
    threshold: probability('confidence from which a position is committed'),
  },
  decide(view, { threshold }) {
    const r = byConfidence(view);
    const pass = r.filter((x) => x.pred.confidence >= threshold);
    return { commit: (pass.length ? pass : r.slice(0, 1)).map(commitOf), forced: !pass.length };
  },
};
