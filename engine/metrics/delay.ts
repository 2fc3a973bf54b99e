import type { Trace } from '../trace/trace.js';
import { positionAt } from '../trace/align.js';

/**
 * Delayed decoding (LocalLeap's observation): per generated position, when its final token first became the
 * top-1 prediction, the step from which it stayed so until it was committed ("stable-from"), its commit step,
 * and the delay between stable-from and commit. Pure: also used by the renderer.
 *
 * Step indices are 0-based steps; the prediction of step s is made from state s (before that step's commits),
 * and a position with commit_step c was committed by step c - 1.
 */
export interface PositionTiming {
  position: number;
  finalToken: number;
  firstCorrect: number; // -1 if never top-1 before its commit
  stableFrom: number; // -1 if not stable at its commit step (e.g. sampled away from top-1)
  commit: number; // step index that committed it; -1 if never committed
  delay: number; // commit - stableFrom, or NaN
}

export function positionTimings(trace: Trace): PositionTiming[] {
  const { S, T, G, K, P } = trace.dims;
  const final = trace.state.subarray(S * T, (S + 1) * T);
  // Not in memory (a large trace still being read) or not recorded: no step carries evidence.
  const ids = trace.topkIds.full() ?? new Int32Array();
  const out: PositionTiming[] = [];
  for (let g = 0; g < G; g++) {
    const p = P + g,
      f = final[p]!;
    const c = trace.commitStep[p]! - 1;
    let first = -1,
      stable = -1;
    const last = c >= 0 ? c : S - 1;
    for (let s = 0; s <= last; s++) {
      // A v3 trace's tokens move: the prediction at step s is read where this token sat then.
      const q = trace.align ? positionAt(trace.align, T, s, p) : p;
      if (q < P) continue;
      const top = ids[(s * G + q - P) * K];
      if (top === undefined || top < 0) continue; // not computed this step: carries no evidence either way
      if (top === f) {
        if (first < 0) first = s;
        if (stable < 0) stable = s;
      } else stable = -1;
    }
    out.push({
      position: p,
      finalToken: f,
      firstCorrect: first,
      stableFrom: c >= 0 ? stable : -1,
      commit: c,
      delay: c >= 0 && stable >= 0 ? c - stable : NaN,
    });
  }
  return out;
}

export interface DelaySummary {
  positions: number;
  meanDelay: number;
  /** Share of committed tokens whose delay exceeds k steps, for k = 0, 1, 2, 4, 8. */
  delayedMoreThan: Record<string, number>;
  /**
   * Learn2PD-style oracle: steps needed had every token been committed at its stable-from step (idle steps skipped).
   */
  oracleSteps: number;
  actualSteps: number;
}

/** Summary over the positions `keep` accepts (all by default; a region's positions: engine/metrics/regions.ts). */
export function delaySummary(
  trace: Trace,
  all = positionTimings(trace),
  keep: (position: number) => boolean = () => true,
): DelaySummary {
  const timings = all.filter((t) => keep(t.position));
  const ok = timings.filter((t) => !Number.isNaN(t.delay));
  const ks = [0, 1, 2, 4, 8];
  const delayedMoreThan: Record<string, number> = {};
  for (const k of ks) delayedMoreThan[String(k)] = ok.length ? ok.filter((t) => t.delay > k).length / ok.length : 0;
  const oracle = new Set(timings.map((t) => (t.stableFrom >= 0 ? t.stableFrom : t.commit)).filter((s) => s >= 0));
  return {
    positions: timings.length,
    meanDelay: ok.length ? ok.reduce((a, t) => a + t.delay, 0) / ok.length : 0,
    delayedMoreThan,
    oracleSteps: oracle.size,
    actualSteps: trace.dims.S,
  };
}
