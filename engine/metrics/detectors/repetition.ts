import type { Detector, Finding } from './types.js';
import { tokenOf } from './context.js';

/** A loop: one token 4 times in a row, or an n-gram (2 ≤ n ≤ 8) 3 times in a row. */
export const REPEAT = { single: 4, ngram: 3, maxN: 8 };

/**
 * Repetition (Sparse-dLLM #3): an n-gram loop in the output's answer tokens. The longest loop at each place is
 * reported once; the step is the one that committed the loop's last token. A loop the task's reference answer holds
 * too is the right answer, not a failure (a sum's run of zeros: 459999 + 540001 = 1000000).
 */
export const repetition: Detector = {
  id: 'repetition',
  label: 'Repetition',
  definition: `the answer holds one token ${REPEAT.single}× in a row or an n-gram (n ≤ ${REPEAT.maxN}) ${REPEAT.ngram}× in a row`,
  notApplicable: () => null,
  detect(cx) {
    const { P, T } = cx.trace.dims;
    const pos: number[] = [];
    for (let p = P; p < T; p++) if (cx.regions.has('answer', p)) pos.push(p);
    const tok = pos.map((p) => cx.final[p]!);
    const { vocab, task } = cx.trace.manifest;
    const out: Finding[] = [];
    for (let i = 0; i < tok.length;) {
      let best = { n: 0, reps: 0 };
      for (let n = 1; n <= REPEAT.maxN && i + 2 * n <= tok.length; n++) {
        let reps = 1;
        while (i + (reps + 1) * n <= tok.length && sameAt(tok, i, i + reps * n, n)) reps++;
        const need = n === 1 ? REPEAT.single : REPEAT.ngram;
        if (reps >= need && reps * n > best.reps * best.n) best = { n, reps };
      }
      if (!best.n) {
        i++;
        continue;
      }
      const span = pos.slice(i, i + best.n * best.reps);
      if (task?.reference.includes(span.map((p) => vocab[String(cx.final[p])] ?? '').join(''))) {
        i += best.n * best.reps;
        continue;
      }
      const last = Math.max(...span.map((p) => cx.trace.commitStep[p]! - 1));
      const gram = tok
        .slice(i, i + best.n)
        .map((t) => tokenOf(cx, t))
        .join(' ');
      out.push({
        detector: 'repetition',
        step: last,
        positions: span,
        detail: `${best.n === 1 ? 'token' : `${best.n}-gram`} ${gram} repeated ${best.reps} times`,
      });
      i += best.n * best.reps;
    }
    return out;
  },
};

const sameAt = (t: number[], a: number, b: number, n: number) => {
  for (let k = 0; k < n; k++) if (t[a + k] !== t[b + k]) return false;
  return true;
};
