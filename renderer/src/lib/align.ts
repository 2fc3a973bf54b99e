import type { Trace } from '../../../engine/trace/trace.js';

/**
 * How Compare puts traces of different lengths on one cursor: the same step number; the same fraction of each
 * decode's steps (a 4-step and a 64-step decode both halfway); or the same number of forward passes (NFE: the work
 * spent), spread evenly over each trace's steps (a trace records its NFE in all, not per step).
 */
export type Alignment = 'step' | 'progress' | 'nfe';

export const ALIGNMENT_LABEL: Record<Alignment, string> = {
  step: 'the same step number',
  progress: 'the same fraction of each decode',
  nfe: 'the same forward passes (NFE)',
};

/** The step of `t` that the cursor at `step` of the reference trace `ref` stands for under `how`. */
export function alignedStep(how: Alignment, step: number, ref: Trace, t: Trace): number {
  const S = t.dims.S,
    Sr = Math.max(1, ref.dims.S);
  if (how === 'step') return Math.min(step, S);
  if (how === 'progress') return Math.min(S, Math.round((step / Sr) * S));
  const per = (x: Trace) => (x.manifest.nfe || x.dims.S) / Math.max(1, x.dims.S); // forward passes per step
  const forwards = step * per(ref);
  return Math.min(S, Math.round(forwards / per(t)));
}
