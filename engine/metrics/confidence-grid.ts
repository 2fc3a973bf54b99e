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

const NONE = 255;
const quantize = (v: number | null) =>
  v === null || !Number.isFinite(v) ? NONE : Math.round(Math.max(0, Math.min(1, v)) * 254);

/**
 * A grid as an index row keeps it: two hex digits per bin (q / 254 a mean confidence, ff no statistic). A string
 * scans and parses far faster than 64 numbers when a 10,000-row index opens.
 */
export const gridHex = (grid: (number | null)[]) => grid.map((v) => quantize(v).toString(16).padStart(2, '0')).join('');

/** Rows' grids (gridHex strings) as GRID × GRID bytes each, in row order; a row without one is all "no statistic". */
export function packGrids(rows: { conf_grid?: string }[]): Uint8Array {
  const cells = GRID * GRID;
  const out = new Uint8Array(rows.length * cells).fill(NONE);
  rows.forEach((r, i) => {
    const h = typeof r.conf_grid === 'string' && /^[0-9a-f]*$/.test(r.conf_grid) ? r.conf_grid : '';
    for (let k = 0; k < Math.min(cells, h.length >> 1); k++)
      out[i * cells + k] = parseInt(h.slice(2 * k, 2 * k + 2), 16);
  });
  return out;
}

/** One row's grid back from packed bytes (null where no statistic). */
export function unpackGrid(bytes: Uint8Array, row: number): (number | null)[] {
  const cells = GRID * GRID;
  return Array.from(bytes.subarray(row * cells, (row + 1) * cells), (q) => (q === NONE ? null : q / 254));
}
