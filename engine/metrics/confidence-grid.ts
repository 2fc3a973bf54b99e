import type { Trace } from '../trace/trace.js';
import type { Regions } from './regions.js';

/** Bins per axis of a decode's confidence grid (relative step × relative answer position). */
export const GRID = 8;

/**
 * A decode's mean confidence by relative step (rows: step s of S in bin ⌊8s/S⌋) × relative answer position (columns:
 * the k-th of the answer's n tokens in bin ⌊8k/n⌋), over the statistics the trace kept: the shape a set's figure
 * averages over decodes (where in the answer, and when, the model was unsure). Row-major, GRID × GRID; null where a
 * bin holds no statistic (rounded to 3 decimals: an index row carries it).
 */
export function confidenceGrid(trace: Trace, regions: Regions): (number | null)[] {
  const { S, G } = trace.dims;
  const answer: number[] = [];
  for (let g = 0; g < G; g++) if (regions.cls[g] === 0) answer.push(g);
  const sum = new Float64Array(GRID * GRID),
    count = new Uint32Array(GRID * GRID);
  const n = answer.length;
  for (let s = 0; s < S; s++) {
    const row = Math.floor((s * GRID) / S) * GRID;
    for (let k = 0; k < n; k++) {
      const c = trace.confidence[s * G + answer[k]!]!;
      if (Number.isNaN(c)) continue;
      const bin = row + Math.floor((k * GRID) / n);
      sum[bin]! += c;
      count[bin]!++;
    }
  }
  return Array.from(sum, (v, i) => (count[i] ? Math.round((v / count[i]!) * 1000) / 1000 : null));
}
