import type { LoadedTrace } from './traceModel.js';
import type { StepTensor, Row } from '../../../engine/trace/step-tensor.js';
import { finalTokens, firstCorrectLayerRow } from '../../../engine/metrics/index.js';

/**
 * Heatmap data, steps on x and positions on y, stored step-major (data[s * rows + r]) so a column is contiguous.
 * `rowStart` is the absolute position of row 0 (the prompt length for per-generated-position metrics, 0 for
 * attention and cache metrics, which cover the prompt too).
 */
export interface Matrix {
  metric: string;
  label: string;
  cols: number;
  rows: number;
  rowStart: number;
  data: Float32Array;
  domain: [number, number];
  kind: 'sequential' | 'categorical';
  /** Names of categorical values 0..n-1. */
  categories?: string[];
  /** Columns not read yet (a large trace opened lazily): loadMatrix reads them. */
  pending?: boolean;
}

export interface MetricOption {
  id: string;
  label: string;
  layered: boolean;
}

/** The metrics this trace can show: those whose tensors it holds (another tool's trace may hold only states). */
export function metricOptions(lt: LoadedTrace): MetricOption[] {
  const t = lt.trace;
  const has = (name: string) => t.holds.has(name);
  const base: MetricOption[] = [];
  if (has('confidence')) base.push({ id: 'confidence', label: 'Confidence (top-1 probability)', layered: false });
  if (has('entropy')) base.push({ id: 'entropy', label: 'Entropy (nats)', layered: false });
  if (has('topk_ids')) {
    base.push({ id: 'top1_change', label: 'Top-1 changes', layered: false });
    base.push({ id: 'correct', label: 'Top-1 equals final token', layered: false });
  }
  base.push({ id: 'decided', label: 'Decided, undecided, edited, remasked', layered: false });
  if (t.edits.length) base.push({ id: 'changes', label: 'Changes of a committed token so far', layered: false });
  if (has('lens_ids'))
    base.push({ id: 'lens_first', label: 'Logit lens: first layer with the final token on top', layered: false });
  if (has('saliency')) base.push({ id: 'saliency', label: 'Attention received (saliency)', layered: true });
  if (has('cached') && t.manifest.cache.mode !== 'none')
    base.push({ id: 'cache', label: 'Cache residency / evictions', layered: true });
  for (const [name, x] of t.extras)
    if (x.shape.length === 2 && x.shape[0] === t.dims.S && x.shape[1] === t.dims.G)
      base.push({
        id: name,
        label: (t.manifest.extras[name.slice(6)]?.label as string | undefined) ?? name,
        layered: false,
      });
  return base;
}

/** Tensors the metrics of metricOptions need that this trace lacks: the view names them. */
export function missingTensors(lt: LoadedTrace): string[] {
  return ['confidence', 'entropy', 'topk_ids', 'saliency'].filter((n) => !lt.trace.holds.has(n));
}

/** A heatmap whose columns come from a per-step tensor: `fill(s, row)` turns step s's row into column s, in order. */
interface StepMatrix {
  tensor: Pick<StepTensor, 'full' | 'load' | 'row' | 'rowLength' | 'present'>;
  matrix: Matrix;
  fill(s: number, row: Row): void;
}

function stepMatrix(lt: LoadedTrace, metric: string, layer: number): StepMatrix | null {
  const t = lt.trace;
  const { S, G, K, T, Ly, P } = t.dims;
  const final = t.state.subarray(S * T, (S + 1) * T);
  if (metric === 'top1_change' || metric === 'correct') {
    const data = new Float32Array(S * G).fill(NaN);
    let prev: Int32Array | null = null;
    return {
      tensor: t.topkIds,
      matrix: {
        metric,
        label: metric === 'correct' ? 'top-1 = final token' : 'top-1 changed',
        cols: S,
        rows: G,
        rowStart: P,
        data,
        domain: [0, 1],
        kind: 'categorical',
        categories: metric === 'correct' ? ['wrong', 'right'] : ['same', 'changed'],
      },
      fill(s, row) {
        const tops = new Int32Array(G);
        for (let g = 0; g < G; g++) {
          const top = (tops[g] = row[g * K]!);
          if (top < 0) continue;
          if (metric === 'correct') {
            // v3: the final token of the token that sat here at step s (none when it was deleted later).
            const f = t.align ? t.align[s * T + P + g]! : P + g;
            if (f >= P) data[s * G + g] = top === final[f] ? 1 : 0;
          } else if (prev && prev[g]! >= 0) data[s * G + g] = prev[g] !== top ? 1 : 0;
        }
        prev = tops;
      },
    };
  }
  if (metric === 'lens_first') {
    const data = new Float32Array(S * G).fill(NaN);
    const final = finalTokens(t);
    return {
      tensor: t.lensIds,
      matrix: {
        metric,
        label: `first layer with the final token on top (${Ly + 1} = none)`,
        cols: S,
        rows: G,
        rowStart: P,
        data,
        domain: [1, Ly + 1],
        kind: 'sequential',
      },
      fill(s, row) {
        data.set(firstCorrectLayerRow(row as Int32Array, final, Ly, G), s * G);
      },
    };
  }
  if (metric === 'saliency') {
    const data = new Float32Array(S * T).fill(NaN);
    return {
      tensor: t.saliency,
      matrix: {
        metric,
        label: layer >= 0 ? `saliency, layer ${layer}` : 'saliency, mean of layers',
        cols: S,
        rows: T,
        rowStart: 0,
        data,
        domain: [0, 1e-6],
        kind: 'sequential',
      },
      fill(s, row) {
        for (let p = 0; p < T; p++) {
          if (layer >= 0) {
            data[s * T + p] = row[layer * T + p]!;
            continue;
          }
          let sum = 0,
            n = 0;
          for (let l = 0; l < Ly; l++) {
            const v = row[l * T + p]!;
            if (!Number.isNaN(v)) {
              sum += v;
              n++;
            }
          }
          if (n) data[s * T + p] = sum / n;
        }
      },
    };
  }
  if (metric === 'cache') {
    const l = Math.max(0, layer);
    const data = new Float32Array(S * T);
    let prev: Uint8Array | null = null;
    return {
      tensor: t.cached,
      matrix: {
        metric,
        label: `cache, layer ${l}`,
        cols: S,
        rows: T,
        rowStart: 0,
        data,
        domain: [0, 2],
        kind: 'categorical',
        categories: ['not cached', 'cached', 'evicted'],
      },
      fill(s, row) {
        const cur = row.subarray(l * T, (l + 1) * T) as Uint8Array;
        // Evicted: in the cache at the step before, out of it now (engine/trace evictions()).
        for (let p = 0; p < T; p++) data[s * T + p] = prev && prev[p] && !cur[p] ? 2 : cur[p]!;
        prev = cur.slice();
      },
    };
  }
  return null;
}

const finish = (m: Matrix) =>
  m.metric === 'saliency' ? { ...m, domain: [0, finiteMax(m.data, 1e-6)] as [number, number] } : m;

/**
 * Heatmap of a metric; layer: a layer index, or -1 for the mean over layers. Per-step metrics of a large trace
 * opened lazily come back `pending` (their columns NaN) until loadMatrix has read the rows.
 */
export function buildMatrix(lt: LoadedTrace, metric: string, layer = -1): Matrix {
  const m = buildPositionMatrix(lt, metric, layer);
  return lt.trace.align ? followTokens(m, lt) : m;
}

/**
 * Format v3 (insertions and deletions): each step's row of a generated position goes to the row of the final
 * position its token ends at, so a row is one token's history across moves; values of tokens that do not reach the
 * final state are left out (NaN, drawn as not computed).
 */
function followTokens(m: Matrix, lt: LoadedTrace): Matrix {
  const { S, T, P, G } = lt.trace.dims;
  const align = lt.trace.align!;
  if (m.rows !== G || m.rowStart !== P || m.cols !== S) return m;
  const out = new Float32Array(S * G).fill(m.kind === 'categorical' ? 0 : NaN);
  for (let s = 0; s < S; s++)
    for (let g = 0; g < G; g++) {
      const f = align[s * T + P + g]!;
      if (f >= P) out[s * G + f - P] = m.data[s * G + g]!;
    }
  return { ...m, data: out };
}

function buildPositionMatrix(lt: LoadedTrace, metric: string, layer = -1): Matrix {
  const t = lt.trace;
  const { S, G, P } = t.dims;
  if (metric === 'confidence' || metric === 'entropy') {
    const src = metric === 'confidence' ? t.confidence : t.entropy;
    return {
      metric,
      label: metric === 'confidence' ? 'confidence' : 'entropy (nats)',
      cols: S,
      rows: G,
      rowStart: P,
      data: src,
      domain: metric === 'confidence' ? [0, 1] : [0, finiteMax(src, 1)],
      kind: 'sequential',
    };
  }
  if (metric === 'decided') {
    // Every trace has states: undecided (0), decided (1), and the step where a committed token was edited (2) or
    // remasked (3).
    const { T } = t.dims;
    const data = new Float32Array(S * G);
    for (let s = 0; s < S; s++) for (let g = 0; g < G; g++) data[s * G + g] = t.masked[s * T + P + g] ? 0 : 1;
    for (let i = 0; i < t.edits.length; i += 4) {
      const s = t.edits[i]!,
        p = t.edits[i + 1]!;
      if (p >= P) data[s * G + p - P] = t.masked[(s + 1) * T + p] ? 3 : 2;
    }
    return {
      metric,
      label: 'decided',
      cols: S,
      rows: G,
      rowStart: P,
      data,
      domain: [0, 3],
      kind: 'categorical',
      categories: ['undecided', 'decided', 'edited', 'remasked'],
    };
  }
  if (metric === 'changes') {
    // How many times each position's committed token has changed (edited or remasked) before each step.
    const data = new Float32Array(S * G);
    const at = new Float32Array(S * G);
    for (let i = 0; i < t.edits.length; i += 4) {
      const g = t.edits[i + 1]! - P;
      if (g >= 0 && t.edits[i]! + 1 < S) at[(t.edits[i]! + 1) * G + g]!++;
    }
    let max = 1;
    for (let s = 0; s < S; s++)
      for (let g = 0; g < G; g++) {
        data[s * G + g] = (s ? data[(s - 1) * G + g]! : 0) + at[s * G + g]!;
        max = Math.max(max, data[s * G + g]!);
      }
    return {
      metric,
      label: 'changes so far',
      cols: S,
      rows: G,
      rowStart: P,
      data,
      domain: [0, max],
      kind: 'sequential',
    };
  }
  const sm = stepMatrix(lt, metric, layer);
  if (sm) {
    const all = sm.tensor.full();
    if (!all) return { ...sm.matrix, pending: sm.tensor.present };
    const n = sm.tensor.rowLength;
    for (let s = 0; s < S; s++) sm.fill(s, all.subarray(s * n, (s + 1) * n));
    return finish(sm.matrix);
  }
  const x = t.extras.get(metric);
  if (x && x.shape.length === 2) {
    const data = x.data instanceof Float32Array ? x.data : Float32Array.from(x.data as ArrayLike<number>);
    return {
      metric,
      label: metric.slice(6),
      cols: S,
      rows: G,
      rowStart: P,
      data,
      domain: [finiteMin(data, 0), finiteMax(data, 1)],
      kind: 'sequential',
    };
  }
  throw new Error(`unknown heatmap metric "${metric}"`);
}

function finiteMax(a: Float32Array, fallback: number) {
  let m = -Infinity;
  for (const v of a) if (v > m) m = v;
  return Number.isFinite(m) && m > 0 ? m : fallback;
}
function finiteMin(a: Float32Array, fallback: number) {
  let m = Infinity;
  for (const v of a) if (v < m) m = v;
  return Number.isFinite(m) ? m : fallback;
}

/**
 * The matrix of a per-step metric, its rows read in chunks of steps (range reads of a large trace). onProgress
 * gets the share done; the rows read pass through the tensor's row cache and are not all kept.
 */
export async function loadMatrix(
  lt: LoadedTrace,
  metric: string,
  layer = -1,
  onProgress?: (done: number) => void,
): Promise<Matrix> {
  const sm = stepMatrix(lt, metric, layer);
  if (!sm || sm.tensor.full() || !sm.tensor.present) return buildMatrix(lt, metric, layer);
  const S = lt.trace.dims.S;
  const chunk = Math.max(1, Math.min(256, Math.floor((4 << 20) / Math.max(1, sm.tensor.rowLength))));
  for (let a = 0; a < S; a += chunk) {
    const b = Math.min(S, a + chunk);
    await sm.tensor.load(a, b);
    for (let s = a; s < b; s++) sm.fill(s, sm.tensor.row(s)!);
    onProgress?.(b / S);
  }
  return finish(sm.matrix);
}

/** Value at (step, absolute position), or NaN outside the matrix. */
export function valueAt(m: Matrix, step: number, pos: number) {
  const r = pos - m.rowStart;
  if (step < 0 || step >= m.cols || r < 0 || r >= m.rows) return NaN;
  return m.data[step * m.rows + r]!;
}

/**
 * RGBA pixels (width = cols, height = rows) through a 256-entry lookup table; NaN is transparent so "not
 * computed" reads differently from any value. One pass, no allocation per cell: a million cells in a few ms.
 */
/**
 * Paints the matrix into RGBA pixels, one pixel per `every` columns and rows (the cell at each bin's corner, as a
 * nearest-neighbour downscale shows it): a 2,048-step × 4,000-position matrix on a 1,300-pixel panel paints at the
 * panel's size, and at full size only when zoomed in. Returns the pixels and the image's size.
 */
export function paint(
  m: Matrix,
  lut: Uint8ClampedArray,
  every: { cols: number; rows: number } = { cols: 1, rows: 1 },
): { pixels: Uint8ClampedArray<ArrayBuffer>; width: number; height: number } {
  const [lo, hi] = m.domain;
  const n = lut.length / 4;
  const scale = hi > lo ? (n - 1) / (hi - lo) : 0;
  const { rows, cols, data } = m;
  const fc = Math.max(1, Math.floor(every.cols)),
    fr = Math.max(1, Math.floor(every.rows));
  const width = Math.ceil(cols / fc),
    height = Math.ceil(rows / fr);
  const pixels = new Uint8ClampedArray(width * height * 4);
  // One 32-bit write per pixel from a table of whole pixels (NaN stays 0: transparent).
  const px = new Uint32Array(pixels.buffer, 0, width * height);
  const table = new Uint32Array(n);
  new Uint8ClampedArray(table.buffer).set(lut);
  for (let x = 0; x < width; x++) {
    const base = x * fc * rows;
    for (let y = 0; y < height; y++) {
      const v = data[base + y * fr]!;
      if (v !== v) continue;
      const t = (v - lo) * scale; // clamped before the integer cast, which would turn ±Infinity into 0
      px[y * width + x] = table[t <= 0 ? 0 : t >= n - 1 ? n - 1 : (t + 0.5) | 0]!;
    }
  }
  return { pixels, width, height };
}
