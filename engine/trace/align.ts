/**
 * Trace format v3: positions that move (insertions and deletions, LLaDA 2.2; SGLang's joint_threshold_indel). The
 * `align` tensor [S+1, T] says, per state and position, where that token sits in the final state (−1: nowhere — it is
 * deleted later, or the slot is empty at that step). Without it every token stays at its index (v1, v2).
 */

/** The identity alignment's answer for traces without `align`. */
export const NOWHERE = -1;

/**
 * How the positions of `a` map to positions of `b` (−1: deleted), by the fewest insertions, deletions and
 * substitutions; among equally short edits, substitutions first, so a step that only commits or edits tokens in
 * place aligns each position to itself. A common prefix and suffix are matched first (a step changes few positions).
 */
export function alignPair(a: ArrayLike<number>, b: ArrayLike<number>): Int32Array {
  const out = new Int32Array(a.length).fill(NOWHERE);
  let lo = 0;
  while (lo < a.length && lo < b.length && a[lo] === b[lo]) out[lo] = lo++;
  let ea = a.length,
    eb = b.length;
  while (ea > lo && eb > lo && a[ea - 1] === b[eb - 1]) out[--ea] = --eb;
  const n = ea - lo,
    m = eb - lo,
    w = m + 1;
  // rest[i * w + j]: edit distance of a[lo + i, ea) and b[lo + j, eb); walked from the front, substitutions first,
  // so extra insertions or deletions fall where the sequences differ last (a block's padding, its end).
  const rest = new Int32Array((n + 1) * w);
  for (let i = n; i >= 0; i--)
    for (let j = m; j >= 0; j--) {
      if (i === n || j === m) rest[i * w + j] = n - i + (m - j);
      else {
        const sub = rest[(i + 1) * w + j + 1]! + (a[lo + i] === b[lo + j] ? 0 : 1);
        rest[i * w + j] = Math.min(sub, rest[(i + 1) * w + j]! + 1, rest[i * w + j + 1]! + 1);
      }
    }
  for (let i = 0, j = 0; i < n;) {
    const here = rest[i * w + j]!;
    if (j < m && here === rest[(i + 1) * w + j + 1]! + (a[lo + i] === b[lo + j] ? 0 : 1)) out[lo + i++] = lo + j++;
    else if (here === rest[(i + 1) * w + j]! + 1) i++;
    else j++;
  }
  return out;
}

/**
 * A decode whose sequence changed length or moved tokens, as the states it went through (each as long as it was),
 * laid out as a v3 trace: every state padded with `pad` to the longest, and the alignment of each state's positions
 * to the final one. `present` is 1 where a state had a position at all.
 */
export function alignStates(states: ArrayLike<number>[], pad: number) {
  const S = states.length - 1,
    T = Math.max(...states.map((s) => s.length));
  const state = new Int32Array((S + 1) * T).fill(pad);
  const align = new Int32Array((S + 1) * T).fill(NOWHERE);
  states.forEach((s, k) => state.set(Array.from(s), k * T));
  const last = states[S]!;
  for (let p = 0; p < last.length; p++) align[S * T + p] = p;
  for (let k = S - 1; k >= 0; k--) {
    const step = alignPair(states[k]!, states[k + 1]!);
    for (let p = 0; p < step.length; p++) align[k * T + p] = step[p]! >= 0 ? align[(k + 1) * T + step[p]!]! : NOWHERE;
  }
  return { S, T, state, align };
}

/** Checks a read `align` tensor: values −1..T−1, the final state aligned to itself, order kept in every state. */
export function alignError(align: Int32Array, S: number, T: number): string | null {
  for (let s = 0; s <= S; s++) {
    let last = -1;
    for (let p = 0; p < T; p++) {
      const v = align[s * T + p]!;
      if (v < -1 || v >= T) return `align[${s}, ${p}] = ${v} is outside -1..${T - 1}`;
      if (s === S && v !== p && v !== NOWHERE)
        return `align of the final state must name each position itself (or -1 past its end); position ${p} says ${v}`;
      if (v < 0) continue;
      if (v <= last) return `align of step ${s} does not keep the tokens' order at position ${p} (${v} after ${last})`;
      last = v;
    }
  }
  return null;
}

/** Per alignment, its inverse (state × final position → position), built once: lookups run per step and position. */
const inverses = new WeakMap<Int32Array, Int32Array>();

/** Where the token at final position `f` is in state `s` (−1: not there yet, or already gone). */
export function positionAt(align: Int32Array | null, T: number, s: number, f: number): number {
  if (!align) return f;
  let inv = inverses.get(align);
  if (!inv) {
    inv = new Int32Array(align.length).fill(NOWHERE);
    for (let i = 0; i < align.length; i++) if (align[i]! >= 0) inv[i - (i % T) + align[i]!] = i % T;
    inverses.set(align, inv);
  }
  return f >= 0 && f < T ? inv[s * T + f]! : NOWHERE;
}
