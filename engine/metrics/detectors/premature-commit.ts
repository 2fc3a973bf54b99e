import type { Detector, Finding } from './types.js';
import { tokenOf, top1At } from './context.js';

/**
 * Premature commit: a committed token the model did not stand behind. Two signs, per position:
 * - not top-1 the step before: at the step before its commit the position's top-1 was another token (the prediction
 *   had just changed, or the commit was sampled away from it);
 * - contradicted at the end: the last prediction recorded at the position after its commit is another token.
 * Steps where the position was not computed carry no evidence (as for the delay metrics).
 */
export const prematureCommit: Detector = {
  id: 'premature-commit',
  label: 'Premature commit',
  definition:
    'a committed token that was not the top-1 at the step before its commit, or that the last prediction after it contradicts',
  signs: [
    { id: 'not-top1-before', label: 'not top-1 the step before' },
    { id: 'contradicted', label: 'contradicted later' },
  ],
  notApplicable: (cx) => (cx.top1 ? null : 'the trace records no top-k predictions'),
  detect(cx) {
    const { trace } = cx;
    const { S, P, T } = trace.dims;
    const out: Finding[] = [];
    for (let p = P; p < T; p++) {
      const c = trace.commitStep[p]! - 1;
      if (c < 0) continue;
      const tok = trace.state[(c + 1) * T + p]!;
      const before = top1At(cx, c - 1, p);
      if (before >= 0 && before !== tok)
        out.push({
          detector: 'premature-commit',
          step: c,
          positions: [p],
          detail: `${tokenOf(cx, tok)} committed at position ${p}; the step before, the top-1 there was ${tokenOf(cx, before)}`,
          sign: 'not-top1-before',
        });
      let last = -1,
        at = -1;
      for (let s = S - 1; s > c && last < 0; s--) if ((last = top1At(cx, s, p)) >= 0) at = s;
      if (last >= 0 && last !== tok)
        out.push({
          detector: 'premature-commit',
          step: at,
          positions: [p],
          detail: `${tokenOf(cx, tok)} committed at step ${c}; at step ${at} the model predicts ${tokenOf(cx, last)} there`,
          sign: 'contradicted',
        });
    }
    return out;
  },
};
