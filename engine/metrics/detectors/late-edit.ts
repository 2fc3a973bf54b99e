import type { Detector, Finding } from './types.js';
import { maskedIn, tokenOf } from './context.js';

/** Share of the decode's last steps in which a change to an answer token counts as late. */
export const LATE_EDIT_FRACTION = 0.25;

/**
 * Late edit (revisiting decoders): an answer token replaced or remasked in the last LATE_EDIT_FRACTION of the
 * decode's steps. The answer was still moving when decoding stopped, so one step fewer would have given another
 * answer; with many of them the decode had not settled.
 */
export const lateEdit: Detector = {
  id: 'late-edit',
  label: 'Late edit',
  definition: `an answer token edited or remasked in the last ${LATE_EDIT_FRACTION * 100}% of the steps`,
  notApplicable: (cx) => (cx.trace.edits.length ? null : 'no committed token changed in this decode'),
  detect(cx) {
    const { edits, dims } = cx.trace;
    const from = Math.floor(dims.S * (1 - LATE_EDIT_FRACTION));
    const out: Finding[] = [];
    for (let i = 0; i < edits.length; i += 4) {
      const s = edits[i]!,
        p = edits[i + 1]!;
      if (s < from || !cx.regions.has('answer', p)) continue;
      const what = maskedIn(cx, s + 1, p)
        ? `remasked ${tokenOf(cx, edits[i + 2]!)}`
        : `${tokenOf(cx, edits[i + 2]!)} → ${tokenOf(cx, edits[i + 3]!)}`;
      out.push({
        detector: 'late-edit',
        step: s,
        positions: [p],
        detail: `answer position ${p} at step ${s} of ${dims.S}: ${what}`,
      });
    }
    return out;
  },
};
