import type { Trace } from '../../trace/trace.js';
import { endIds, positionRegions } from '../regions.js';
import type { DetectContext } from './types.js';

const TEXT = /[\p{L}\p{N}]/u;

export function detectContext(trace: Trace): DetectContext {
  const { S, T, G, K, P } = trace.dims;
  const ids = endIds(trace);
  const final = trace.state.subarray(S * T, (S + 1) * T);
  const all = trace.holds.has('topk_ids') ? trace.topkIds.full() : null;
  const top1 = all ? Int32Array.from({ length: S * G }, (_, i) => all[i * K] ?? -1) : null;
  const byStep = new Map<number, number[]>();
  for (let p = P; p < T; p++) {
    const c = trace.commitStep[p]!;
    if (c < 1) continue;
    if (!byStep.has(c - 1)) byStep.set(c - 1, []);
    byStep.get(c - 1)!.push(p);
  }
  const isEnd = (id: number) => id === ids.eos || id === ids.pad;
  return {
    trace,
    ids,
    regions: positionRegions(trace),
    final,
    top1,
    isEnd,
    committedAt: (s) => byStep.get(s) ?? [],
    structural(id) {
      if (isEnd(id) || id === ids.mask) return false;
      const text = trace.manifest.vocab[String(id)];
      return text !== undefined && text.length > 0 && !TEXT.test(text);
    },
  };
}

/** Top-1 at step s for absolute position p, or -1 (not computed, not recorded). */
export const top1At = (cx: DetectContext, s: number, p: number) => {
  const { G, P, S } = cx.trace.dims;
  return cx.top1 && s >= 0 && s < S ? (cx.top1[s * G + p - P] ?? -1) : -1;
};

/** Whether position p is masked in state s. */
export const maskedIn = (cx: DetectContext, s: number, p: number) => cx.trace.masked[s * cx.trace.dims.T + p] === 1;

export const tokenOf = (cx: DetectContext, id: number) =>
  JSON.stringify(cx.trace.manifest.vocab[String(id)] ?? `<${id}>`);
