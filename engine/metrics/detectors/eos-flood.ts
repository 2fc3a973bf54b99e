import type { Detector, Finding } from './types.js';
import { maskedIn, top1At } from './context.js';

/** Positions of EOS committed together, and text still masked before them, from which a span counts. */
export const EOS_SPAN = 4;
/** Confidence below which a committed EOS was not yet the model's settled answer. */
export const EOS_SURE = 0.9;

/**
 * EOS flood (Dream #51, LLaDA #59: "the output is all EOS"). Three signs, each a finding:
 * - the answer is empty: the first generated position ends as EOS or pad;
 * - EOS committed early across a span: one step commits EOS or pad at EOS_SPAN or more positions, at least one of
 *   them below EOS_SURE confidence, while at least as many positions before the first of them are still masked (the
 *   answer's length is fixed before its text, and before the model was sure of it: padding committed at confidence
 *   1 ahead of the text is how parallel decoders finish a short answer, not a flood);
 * - EOS dominating confidence: at a step, EOS or pad is the top-1 prediction at half or more of the block's masked
 *   positions, among them a position whose final token is answer text.
 */
export const eosFlood: Detector = {
  id: 'eos-flood',
  label: 'EOS flood',
  definition: `empty answer; or ≥${EOS_SPAN} EOS committed in one step, one below ${EOS_SURE} confidence, with ≥${EOS_SPAN} positions before them still masked; or EOS top-1 at ≥ half of the block's masked positions, one of them answer text`,
  notApplicable: (cx) => (cx.ids.eos < 0 && cx.ids.pad < 0 ? 'the trace names no EOS or pad token' : null),
  detect(cx) {
    const { trace, final } = cx;
    const { S, P, T } = trace.dims;
    const out: Finding[] = [];
    if (T > P && cx.isEnd(final[P]!))
      out.push({
        detector: 'eos-flood',
        step: trace.commitStep[P]! - 1,
        positions: [P],
        detail: 'the answer is empty: the first generated position is EOS',
      });
    for (let s = 0; s < S; s++) {
      const eos = cx.committedAt(s).filter((p) => cx.isEnd(trace.state[(s + 1) * T + p]!));
      const G = trace.dims.G;
      const unsure = eos.some((p) => !(trace.confidence[s * G + p - P]! >= EOS_SURE));
      if (eos.length >= EOS_SPAN && unsure) {
        let before = 0;
        for (let p = P; p < eos[0]!; p++) if (maskedIn(cx, s + 1, p)) before++;
        if (before >= EOS_SPAN)
          out.push({
            detector: 'eos-flood',
            step: s,
            positions: eos,
            detail: `${eos.length} EOS committed at once from position ${eos[0]}, not all of them sure, while ${before} positions before them were still masked`,
          });
      }
      if (!cx.top1) continue;
      const bs = trace.block[2 * s]!,
        be = trace.block[2 * s + 1]!;
      let masked = 0;
      const eosTop: number[] = [];
      for (let p = Math.max(P, bs); p < be; p++) {
        if (!maskedIn(cx, s, p)) continue;
        const t = top1At(cx, s, p);
        if (t < 0) continue;
        masked++;
        if (cx.isEnd(t)) eosTop.push(p);
      }
      const onText = eosTop.filter((p) => cx.regions.has('answer', p));
      if (masked && eosTop.length * 2 >= masked && onText.length)
        out.push({
          detector: 'eos-flood',
          step: s,
          positions: onText,
          detail: `EOS is the top-1 at ${eosTop.length} of ${masked} masked positions, ${onText.length} of which end as answer text`,
        });
    }
    return out;
  },
};
