import type { Trace } from '../trace/trace.js';
import { decodingOrder } from '../metrics/order.js';
import { detectFailures, DETECTORS, type DetectorId } from '../metrics/detectors/index.js';

/** What a bench keeps of one instance's decode: its place in the AUP plot, its flags and its decoding order. */
export interface InstanceDiagnosis {
  index: number;
  task_id: string;
  score: number;
  steps: number;
  nfe: number;
  tpf: number;
  /** Detectors that flagged the decode; those that cannot judge it are in `not_applicable`. */
  flagged: DetectorId[];
  /** Of a detector with several signs, those that flagged, as "detector:sign" (premature-commit:contradicted). */
  flagged_signs: string[];
  not_applicable: DetectorId[];
  /** ParallelBench's decoding-order Kendall tau over the answer's tokens (null: one step decided them all). */
  kendall: number | null;
  /** Mean per-block Kendall tau (null: every block decided in one step). */
  kendall_block: number | null;
  /** The instance's trace, when the bench was asked to keep them (--traces DIR). */
  trace?: string;
}

const num = (x: number) => (Number.isNaN(x) ? null : x);

export function diagnoseInstance(
  trace: Trace,
  base: Omit<InstanceDiagnosis, 'flagged' | 'flagged_signs' | 'not_applicable' | 'kendall' | 'kendall_block'>,
): InstanceDiagnosis {
  const reports = detectFailures(trace);
  const order = decodingOrder(trace);
  return {
    ...base,
    flagged: reports.filter((r) => r.findings.length).map((r) => r.id),
    flagged_signs: [
      ...new Set(reports.flatMap((r) => r.findings.filter((f) => f.sign).map((f) => `${r.id}:${f.sign}`))),
    ],
    not_applicable: reports.filter((r) => r.notApplicable).map((r) => r.id),
    kendall: num(order.overall.answer.kendall),
    kendall_block: num(order.meanBlock.kendall),
  };
}

/** Per detector, the share of instances it flagged among those it could judge (null: it could judge none). */
export function detectorShares(xs: InstanceDiagnosis[]): Record<DetectorId, number | null> {
  return Object.fromEntries(
    DETECTORS.map((d) => {
      const judged = xs.filter((x) => !x.not_applicable.includes(d.id));
      return [d.id, judged.length ? judged.filter((x) => x.flagged.includes(d.id)).length / judged.length : null];
    }),
  ) as Record<DetectorId, number | null>;
}

/** The signs of the detectors that have several, as "detector:sign" with a label, in report order. */
export const DETECTOR_SIGNS = DETECTORS.flatMap((d) =>
  (d.signs ?? []).map((s) => ({ key: `${d.id}:${s.id}`, detector: d.id, label: `${d.label}: ${s.label}` })),
);

/** Per sign of DETECTOR_SIGNS, the share of instances it flagged among those its detector could judge. */
export function signShares(xs: InstanceDiagnosis[]): Record<string, number | null> {
  return Object.fromEntries(
    DETECTOR_SIGNS.map((s) => {
      const judged = xs.filter((x) => !x.not_applicable.includes(s.detector));
      // (Older bench files have no flagged_signs: the share is then unknown, not zero.)
      const known = judged.filter((x) => x.flagged_signs);
      return [s.key, known.length ? known.filter((x) => x.flagged_signs.includes(s.key)).length / known.length : null];
    }),
  );
}

/** Mean of the defined values, and how many there were. */
export function definedMean(xs: (number | null)[]): { mean: number | null; n: number } {
  const ok = xs.filter((x): x is number => x !== null);
  return { mean: ok.length ? ok.reduce((a, b) => a + b, 0) / ok.length : null, n: ok.length };
}
