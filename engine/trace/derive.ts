/**
 * What a trace's states imply, for traces that do not record it: each position's final commit step and the edits of
 * committed tokens. Shared by the reader (trace.ts) and the writers. With a v3 alignment (align.ts) a token is
 * followed to wherever it moved; without one it stays at its index.
 */
import { positionAt } from './align.js';

/**
 * Step of each position's final commit: the first state from which it keeps its final token decided (−1 for the
 * prompt and positions never decided).
 */
export function deriveCommitSteps(
  state: Int32Array,
  masked: Uint8Array,
  S: number,
  T: number,
  P: number,
  align: Int32Array | null = null,
): Int32Array {
  const out = new Int32Array(T).fill(-1);
  for (let p = P; p < T; p++) {
    const f = state[S * T + p]!;
    if (masked[S * T + p] || (align && align[S * T + p]! < 0)) continue;
    let c = S;
    for (; c > 0; c--) {
      const q = positionAt(align, T, c - 1, p);
      if (q < 0 || masked[(c - 1) * T + q] || state[(c - 1) * T + q] !== f) break;
    }
    out[p] = c;
  }
  return out;
}

/**
 * Committed tokens that changed at a step (to another token, or back to noise): rows [step, position, from, to].
 * With an alignment, `position` is where the token was before the step and `to` what holds it after, wherever it
 * moved; tokens deleted before the end are not followed (the alignment maps to the final state only).
 */
export function deriveEdits(
  state: Int32Array,
  masked: Uint8Array,
  S: number,
  T: number,
  align: Int32Array | null = null,
): Int32Array {
  const rows: number[] = [];
  for (let s = 0; s < S; s++)
    for (let p = 0; p < T; p++) {
      const a = s * T + p;
      if (masked[a]) continue;
      let q = p;
      if (align) {
        if (align[a]! < 0) continue;
        q = positionAt(align, T, s + 1, align[a]!);
      }
      const b = (s + 1) * T + q;
      if (masked[b] || state[a] !== state[b]) rows.push(s, p, state[a]!, state[b]!);
    }
  return Int32Array.from(rows);
}
