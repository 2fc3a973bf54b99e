/**
 * What a trace's states imply, for traces that do not record it: each position's final commit step and the edits of
 * committed tokens. Shared by the reader (trace.ts) and the writers.
 */
/**
 * Step of each position's final commit: the first state from which it keeps its final token decided (−1 for the
 * prompt and positions never decided).
 */
export function deriveCommitSteps(state: Int32Array, masked: Uint8Array, S: number, T: number, P: number): Int32Array {
  const out = new Int32Array(T).fill(-1);
  for (let p = P; p < T; p++) {
    const f = state[S * T + p]!;
    if (masked[S * T + p]) continue;
    let c = S;
    while (c > 0 && !masked[(c - 1) * T + p] && state[(c - 1) * T + p] === f) c--;
    out[p] = c;
  }
  return out;
}

/** Committed tokens that changed at a step (to another token, or back to noise): rows [step, position, from, to]. */
export function deriveEdits(state: Int32Array, masked: Uint8Array, S: number, T: number): Int32Array {
  const rows: number[] = [];
  for (let s = 0; s < S; s++)
    for (let p = 0; p < T; p++) {
      const a = s * T + p,
        b = (s + 1) * T + p;
      if (!masked[a] && (masked[b] || state[a] !== state[b])) rows.push(s, p, state[a]!, state[b]!);
    }
  return Int32Array.from(rows);
}
