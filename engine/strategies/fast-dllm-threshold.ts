import type { Strategy } from './types.js';
import { byConfidence, commitOf, probability } from './rank.js';

/**
 * Fast-dLLM's confidence-aware parallel decoding: every masked position of the block whose confidence exceeds the
 * threshold is committed; if none does, the single most confident one is, so each step makes progress.
 */
export const fastDllmThreshold: Strategy<{ threshold: number }> = {
  name: 'fast-dllm-threshold',
  description:
    'Commit every masked position of the block with confidence above the threshold (at least the most confident one).',
  paper:
    'Wu et al. 2025, Fast-dLLM: Training-free Acceleration of Diffusion LLM by Enabling KV Cache and Parallel Decoding, arXiv:2505.22618',
  params: {
    threshold: probability('confidence above which a position is committed'),
  },
  decide(view, { threshold }) {
    const r = byConfidence(view);
    const pass = r.filter((x) => x.pred.confidence > threshold);
    return { commit: (pass.length ? pass : r.slice(0, 1)).map(commitOf) };
  },
};
