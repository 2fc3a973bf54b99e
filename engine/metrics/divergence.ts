import type { Trace } from '../trace/trace.js';

/**
 * Where two decodes of the same prompt part (two strategies, caches, seeds; a branch and its parent): traces are
 * aligned step by step (state s of one against state s of the other), over the positions both have.
 *
 * - states part at the first step whose states differ at some position (one committed what the other did not, or
 *   both committed different tokens);
 * - decisions part at the first state holding, at some position, a committed token the other decode does not end
 *   with there: different content, not only a different pace (a parallel decoder's states part at its first step
 *   even when both decodes write the same answer);
 * - predictions part at the first step where both computed a position and their top-1 differs there.
 *
 * At each, both sides' top candidates at the positions involved, so the reason can be read off.
 */
export interface Candidate {
  id: number;
  text: string;
  p: number;
}
export interface SideAt {
  /** The token the state holds (the mask id while masked), or -1 past the trace's end. */
  token: number;
  text: string;
  masked: boolean;
  /** Top candidates predicted at this step (empty: not computed or not recorded). */
  candidates: Candidate[];
}
export interface PartAt {
  position: number;
  a: SideAt;
  b: SideAt;
}
export interface Parting {
  step: number;
  /** How many positions part there; `positions` lists the first MAX_AT of them. */
  count: number;
  positions: PartAt[];
}
export interface Divergence {
  /** Why the traces cannot be compared (different prompts), or null. */
  incomparable: string | null;
  /** Steps of the longer decode (states aligned by step index); generated positions both have. */
  steps: number;
  positions: number;
  /** First step whose states differ (null: equal throughout the shared steps). */
  states: Parting | null;
  /** First state with a committed token the other decode does not end with (null: none). */
  decisions: Parting | null;
  /** First step whose top-1 predictions differ where both computed them (null: never, or not recorded). */
  predictions: Parting | null;
  /** Generated positions whose final tokens differ. */
  finalDiffers: number[];
  /** The earlier of the two partings' steps (null if neither). */
  first: number | null;
}

/** Positions reported at a parting at most (a whole block may part at once). */
const MAX_AT = 16;

export function divergence(a: Trace, b: Trace): Divergence {
  const P = a.dims.P;
  const T = Math.min(a.dims.T, b.dims.T);
  // States are compared up to the longer decode (the shorter one's final state standing for its later steps);
  // predictions up to the shorter one, where both have them.
  const S = Math.max(a.dims.S, b.dims.S),
    Spred = Math.min(a.dims.S, b.dims.S);
  const at = (t: Trace, s: number) => Math.min(s, t.dims.S) * t.dims.T;
  const none = {
    steps: S,
    positions: T - P,
    states: null,
    decisions: null,
    predictions: null,
    finalDiffers: [],
    first: null,
  };
  if (a.dims.P !== b.dims.P || !sameSpan(a.state, b.state, 0, P))
    return { ...none, incomparable: 'the traces decode different prompts' };
  const statePos = (s: number) => {
    const out: number[] = [];
    for (let p = P; p < T; p++) if (a.state[at(a, s) + p] !== b.state[at(b, s) + p]) out.push(p);
    return out;
  };
  let states: Parting | null = null;
  for (let s = 0; s <= S && !states; s++) {
    const ps = statePos(s);
    if (ps.length) states = parting(a, b, s, ps);
  }
  const finalA = a.dims.S * a.dims.T,
    finalB = b.dims.S * b.dims.T;
  let decisions: Parting | null = null;
  for (let s = 0; s <= S && !decisions; s++) {
    const ps: number[] = [];
    for (let p = P; p < T; p++) {
      const x = a.state[at(a, s) + p]!,
        y = b.state[at(b, s) + p]!;
      const aOwn = !a.masked[at(a, s) + p] && x !== b.state[finalB + p],
        bOwn = !b.masked[at(b, s) + p] && y !== a.state[finalA + p];
      if (aOwn || bOwn) ps.push(p);
    }
    if (ps.length) decisions = parting(a, b, s, ps);
  }
  let predictions: Parting | null = null;
  const ia = a.holds.has('topk_ids') ? a.topkIds.full() : null,
    ib = b.holds.has('topk_ids') ? b.topkIds.full() : null;
  if (ia && ib)
    for (let s = 0; s < Spred && !predictions; s++) {
      const ps: number[] = [];
      for (let p = P; p < T; p++) {
        const x = ia[(s * a.dims.G + p - P) * a.dims.K]!,
          y = ib[(s * b.dims.G + p - P) * b.dims.K]!;
        if (x >= 0 && y >= 0 && x !== y) ps.push(p);
      }
      if (ps.length) predictions = parting(a, b, s, ps);
    }
  const finalDiffers: number[] = [];
  for (let p = P; p < T; p++) if (a.state[finalA + p] !== b.state[finalB + p]) finalDiffers.push(p);
  const steps = [states?.step, predictions?.step].filter((x): x is number => x !== undefined);
  return {
    incomparable: null,
    steps: S,
    positions: T - P,
    states,
    decisions,
    predictions,
    finalDiffers,
    first: steps.length ? Math.min(...steps) : null,
  };
}

function sameSpan(x: Int32Array, y: Int32Array, from: number, to: number) {
  for (let i = from; i < to; i++) if (x[i] !== y[i]) return false;
  return true;
}

function parting(a: Trace, b: Trace, step: number, positions: number[]): Parting {
  return {
    step,
    count: positions.length,
    positions: positions.slice(0, MAX_AT).map((p) => ({ position: p, a: side(a, step, p), b: side(b, step, p) })),
  };
}

function side(t: Trace, step: number, p: number): SideAt {
  const { T, S, K, P } = t.dims;
  const s = Math.min(step, S);
  const token = p < T ? t.state[s * T + p]! : -1;
  const candidates: Candidate[] = [];
  const ids = step < S ? t.topkIds.row(step) : null,
    probs = step < S ? t.topkProbs.row(step) : null;
  if (ids && probs && p < T)
    for (let k = 0; k < K; k++) {
      const id = ids[(p - P) * K + k]!;
      if (id < 0) break;
      candidates.push({ id, text: textOf(t, id), p: probs[(p - P) * K + k]! });
    }
  return { token, text: textOf(t, token), masked: p < T && t.masked[s * T + p] === 1, candidates };
}

const textOf = (t: Trace, id: number) =>
  id === t.manifest.mask_token_id ? '▒' : (t.manifest.vocab[String(id)] ?? `<${id}>`);
