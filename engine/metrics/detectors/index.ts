import type { Trace } from '../../trace/trace.js';
import { detectContext } from './context.js';
import { eosFlood } from './eos-flood.js';
import { repetition } from './repetition.js';
import { prematureCommit } from './premature-commit.js';
import { stall } from './stall.js';
import { lockIn } from './lock-in.js';
import { oscillation } from './oscillation.js';
import { lateEdit } from './late-edit.js';
import type { Detector, DetectorId, Finding } from './types.js';

export type { Detector, DetectorId, Finding };

/** Every failure detector, in the order reports list them (docs/diagnostics.md). To add one: a module and a line. */
export const DETECTORS: readonly Detector[] = [
  eosFlood,
  repetition,
  prematureCommit,
  stall,
  lockIn,
  oscillation,
  lateEdit,
];

export interface DetectorReport {
  id: DetectorId;
  label: string;
  definition: string;
  /** Why the detector cannot judge this trace (null: it could). */
  notApplicable: string | null;
  findings: Finding[];
}

/** Runs every detector on a trace. Pure; the app, `dlens info` and `dlens bench` share it. */
export function detectFailures(trace: Trace): DetectorReport[] {
  const cx = detectContext(trace);
  return DETECTORS.map((d) => {
    const na = d.notApplicable(cx);
    return { id: d.id, label: d.label, definition: d.definition, notApplicable: na, findings: na ? [] : d.detect(cx) };
  });
}
