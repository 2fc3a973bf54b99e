import type { Strategy } from './types.js';
import { lowConfidence } from './low-confidence.js';

/**
 * FreeDave: lossless draft-and-verify for static low-confidence decoding. From one pass's predictions it drafts the
 * next `draft` steps the baseline would take were the predictions to stay put, verifies all drafted states in one
 * batched pass, and keeps the longest prefix the baseline would really have taken; the verifying pass also supplies
 * the predictions for the next draft. Output is identical to low-confidence's by construction; it saves sequential
 * forward passes (NFE), not arithmetic. The decision function is the baseline's; the loop lives in
 * engine/decode/draft-verify.ts. Greedy only, and full passes only (it verifies whole states).
 */
export const freeDave: Strategy<{ draft: number }> = {
  name: 'freedave',
  description:
    'Draft several low-confidence steps from one pass, verify them in one batched pass; same output as low-confidence, fewer sequential passes.',
  paper: 'FreeDave: lossless parallel decoding of diffusion LLMs by draft-and-verify',
  params: {
    draft: { type: 'integer', default: 4, min: 1, max: 32, description: 'steps drafted and verified per batched pass' },
  },
  loop: 'draft-verify',
  decide: (view) => lowConfidence.decide(view, {}, undefined),
};
