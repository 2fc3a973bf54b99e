import type { Detector, Finding } from './types.js';

/** Forced steps in a row from which decoding counts as stalled. */
export const STALL_RUN = 3;

/**
 * Stall (Fast-dLLM #42, #43): steps at which no masked position passes the strategy's criterion, so it commits its
 * fallback (the most confident position) to make progress. Strategies with such a fallback record it per step as
 * `extra.forced` (fast-dllm-threshold, fast-dllm-factor, adablock, localleap, credit, learn2pd); a run of STALL_RUN
 * or more forced steps is a stall: parallel decoding fell back to one token per step.
 */
export const stall: Detector = {
  id: 'stall',
  label: 'Stall',
  definition: `${STALL_RUN} or more steps in a row where no position passed the strategy's threshold and it committed its fallback`,
  notApplicable: (cx) =>
    cx.trace.extras.has('extra.forced')
      ? null
      : `no extra.forced recorded: strategy ${cx.trace.manifest.strategy.name} commits on a schedule, not by a threshold, or the trace's source does not record its fallbacks`,
  detect(cx) {
    const forced = cx.trace.extras.get('extra.forced')!.data as ArrayLike<number>;
    const out: Finding[] = [];
    const S = cx.trace.dims.S;
    for (let s = 0; s < S;) {
      let e = s;
      while (e < S && forced[e] === 1) e++;
      if (e - s >= STALL_RUN) {
        const positions = [];
        for (let k = s; k < e; k++) positions.push(...cx.committedAt(k));
        out.push({
          detector: 'stall',
          step: s,
          positions,
          detail: `steps ${s}–${e - 1}: no position passed the threshold; ${e - s} forced commits of one token each`,
        });
      }
      s = Math.max(e, s + 1);
    }
    return out;
  },
};
