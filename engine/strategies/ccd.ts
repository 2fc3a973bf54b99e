import type { Strategy } from './types.js';
import { byConfidence, commitOf, series } from './rank.js';

interface CcdState {
  buffer: Map<number, number>;
  size: number;
}

/**
 * CCD, coherent contextual decoding (tonyckc/CCD-DLM-code, "seek mode"): a verification buffer holds the previous
 * step's next-most-confident positions and their predicted tokens. This step, positions among the current top
 * `buffer size` that were in the buffer and still predict the same token have a coherent trajectory and are all
 * committed (the adaptive budget); when fewer than the schedule's count agree, the schedule's top positions are
 * committed instead. The buffer grows by one each step up to base x (1 + expand_ratio) and restarts at one at each
 * block start and when under 10 % of the block is still masked. Recorded: extra.ccd_buffer (1 in the buffer,
 * 2 committed through agreement).
 */
export const ccd: Strategy<{ expand_ratio: number }, CcdState> = {
  name: 'ccd',
  description:
    "Commit, beyond the schedule, positions whose top prediction agrees with the previous step's (coherent trajectory); adaptive budget.",
  paper: 'Beyond Confidence: Adaptive and Coherent Decoding for Diffusion Language Models (CCD), arXiv:2512.02044',
  params: {
    expand_ratio: {
      type: 'number',
      default: 4,
      min: 0,
      max: 32,
      description: 'buffer may grow to base x (1 + expand_ratio) positions',
    },
  },
  series: { ccd_buffer: { label: 'CCD verification buffer (1) and agreed commits (2)', kind: 'heatmap' } },
  initState: () => ({ buffer: new Map(), size: 1 }),
  decide(view, p, prev) {
    const base = Math.max(1, view.scheduled);
    const blockSize = view.blockEnd - view.blockStart;
    const restart = view.blockStep === 0 || view.masked.length <= 0.1 * blockSize;
    const size = restart ? 1 : Math.min(prev.size + 1, base + Math.floor(base * p.expand_ratio));
    const r = byConfidence(view);
    const s = series(view);
    const agreed = restart ? [] : r.slice(0, size).filter((x) => prev.buffer.get(x.p) === x.pred.token);
    const commit = agreed.length >= base ? agreed : r.slice(0, base);
    const done = new Set(commit.map((x) => x.p));
    const next = r.filter((x) => !done.has(x.p)).slice(0, size);
    for (const x of next) s[x.p - view.promptLength] = 1;
    if (agreed.length >= base) for (const x of agreed) s[x.p - view.promptLength] = 2;
    return {
      commit: commit.map(commitOf),
      series: { ccd_buffer: s },
      state: { buffer: new Map(next.map((x) => [x.p, x.pred.token])), size },
    };
  },
};
