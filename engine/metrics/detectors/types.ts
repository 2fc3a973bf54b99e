import type { Trace } from '../../trace/trace.js';
import type { EndIds, Regions } from '../regions.js';

export type DetectorId =
  'eos-flood' | 'repetition' | 'premature-commit' | 'stall' | 'lock-in' | 'oscillation' | 'late-edit';

/** One place a detector flags: the step to look at, the positions involved, and what happened in words. */
export interface Finding {
  detector: DetectorId;
  /** The step index (0-based) whose commits or predictions show it. */
  step: number;
  /** Absolute positions involved, the first one the place to look. */
  positions: number[];
  detail: string;
  /** For a detector with several signs (Detector.signs), the one this finding shows. */
  sign?: string;
}

/** What every detector reads, derived once per trace. */
export interface DetectContext {
  trace: Trace;
  ids: EndIds;
  regions: Regions;
  /** The final state [T]. */
  final: Int32Array;
  /** Top-1 prediction per step and generated position [S, G] (-1 where not computed); null when not recorded. */
  top1: Int32Array | null;
  isEnd(id: number): boolean;
  /** Absolute positions committed by step s (their commit_step is s + 1), ascending. */
  committedAt(s: number): number[];
  /** Whether a token is structure: punctuation, spaces or newlines (no letter or digit), not EOS, pad or mask. */
  structural(id: number): boolean;
}

/**
 * A detector is data plus a pure function (as a strategy): its id, a label for badges, the one-line definition
 * shown with it (docs/diagnostics.md has the full one), and `detect`. `needs` names what the trace must hold;
 * without it the detector reports "not applicable" rather than "nothing found".
 */
export interface Detector {
  id: DetectorId;
  label: string;
  definition: string;
  /** Signs that flag separately (each finding names its own), so a bench can count them apart. */
  signs?: readonly { id: string; label: string }[];
  /** A reason the detector cannot judge this trace, or null. */
  notApplicable(cx: DetectContext): string | null;
  detect(cx: DetectContext): Finding[];
}
