import type { Detector, Finding } from './types.js';
import { maskedIn, tokenOf, top1At } from './context.js';

/** Masked answer positions before a structural token, from which its commit is "ahead of its text"; neighbourhood. */
export const LOCK_IN = { ahead: 2, window: 4 };

/**
 * Lock-in (LLaDA #80: an early comma fixed the whole sentence): a structural token (punctuation, spaces, newlines)
 * committed while LOCK_IN.ahead or more answer positions before it in its block are still masked, after which a
 * still-masked neighbour within LOCK_IN.window positions changes its top-1 prediction, at the next step, to the token
 * it finally gets: the later tokens follow the structure committed first.
 */
export const lockIn: Detector = {
  id: 'lock-in',
  label: 'Lock-in',
  definition: `punctuation or spacing committed with ≥${LOCK_IN.ahead} answer positions before it still masked, after which a masked neighbour (±${LOCK_IN.window}) switches its top-1 to its final token`,
  notApplicable: (cx) => (cx.top1 ? null : 'the trace records no top-k predictions'),
  detect(cx) {
    const { trace, final } = cx;
    const { S, P, T } = trace.dims;
    const out: Finding[] = [];
    for (let s = 0; s + 1 < S; s++) {
      const bs = Math.max(P, trace.block[2 * s]!);
      for (const p of cx.committedAt(s)) {
        const tok = trace.state[(s + 1) * T + p]!;
        if (!cx.structural(tok)) continue;
        let ahead = 0;
        for (let q = bs; q < p; q++) if (cx.regions.has('answer', q) && maskedIn(cx, s + 1, q)) ahead++;
        if (ahead < LOCK_IN.ahead) continue;
        const followers: number[] = [];
        for (let q = Math.max(P, p - LOCK_IN.window); q <= Math.min(T - 1, p + LOCK_IN.window); q++) {
          if (q === p || !maskedIn(cx, s + 1, q)) continue;
          const now = top1At(cx, s, q),
            next = top1At(cx, s + 1, q);
          if (now >= 0 && next >= 0 && now !== next && next === final[q]) followers.push(q);
        }
        if (followers.length)
          out.push({
            detector: 'lock-in',
            step: s,
            positions: [p, ...followers],
            detail: `${tokenOf(cx, tok)} committed at position ${p} with ${ahead} answer positions before it masked; then ${followers.length} neighbour(s) switched to their final token`,
          });
      }
    }
    return out;
  },
};
