import type { Trace } from '../../../engine/trace/trace.js';
import { tokenText } from './traceModel.js';

export interface TextMatch {
  /** The first position of the match, and whether it is in the prompt or the generated text. */
  position: number;
  inPrompt: boolean;
  /** The step that committed the match's first token (-1 in the prompt, or never committed). */
  commitStep: number;
  /** The matching text with a little context. */
  context: string;
}

/**
 * Where `query` occurs in the final text (prompt and output, case-insensitive), across token boundaries: each match's
 * first position and the step that committed it. At most `limit` matches.
 */
export function findText(t: Trace, query: string, limit = 50): TextMatch[] {
  const q = query.toLowerCase();
  if (!q) return [];
  const { S, T, P } = t.dims;
  const final = t.state.subarray(S * T, (S + 1) * T);
  const starts: number[] = [];
  let text = '';
  for (let p = 0; p < T; p++) {
    starts.push(text.length);
    text += tokenText(t, final[p]!);
  }
  const lower = text.toLowerCase();
  const out: TextMatch[] = [];
  for (let i = lower.indexOf(q); i >= 0 && out.length < limit; i = lower.indexOf(q, i + 1)) {
    let p = 0;
    while (p + 1 < T && starts[p + 1]! <= i) p++;
    out.push({
      position: p,
      inPrompt: p < P,
      commitStep: p < P ? -1 : t.commitStep[p]! - 1,
      context: text.slice(Math.max(0, i - 12), i + q.length + 12),
    });
  }
  return out;
}

/** The steps at which generated position `pos`'s top-1 candidate changed from the step before (its first too). */
export function top1Changes(t: Trace, pos: number): number[] {
  const { S, G, K, P } = t.dims;
  const g = pos - P;
  if (g < 0 || g >= G || !K) return [];
  const out: number[] = [];
  let prev = -2;
  for (let s = 0; s < S; s++) {
    const row = t.topkIds.row(s);
    if (!row) continue; // a large trace's row not read yet
    const id = row[g * K]!;
    if (id < 0) continue; // not computed at this step
    if (id !== prev) out.push(s);
    prev = id;
  }
  return out;
}
