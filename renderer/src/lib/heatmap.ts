import type { LoadedTrace } from './traceModel.js';

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
}

export interface MetricOption {
  id: string;
  label: string;
  layered: boolean;
}

export function metricOptions(lt: LoadedTrace): MetricOption[] {
  const t = lt.trace;
  const base: MetricOption[] = [
    { id: 'confidence', label: 'Confidence (top-1 probability)', layered: false },
    { id: 'entropy', label: 'Entropy (nats)', layered: false },
    { id: 'top1_change', label: 'Top-1 changes', layered: false },
    { id: 'correct', label: 'Top-1 equals final token', layered: false },
    { id: 'saliency', label: 'Attention received (saliency)', layered: true },
  ];
  if (t.manifest.cache.mode !== 'none') base.push({ id: 'cache', label: 'Cache residency / evictions', layered: true });
  for (const [name, x] of t.extras)
    if (x.shape.length === 2 && x.shape[0] === t.dims.S && x.shape[1] === t.dims.G)
      base.push({
        id: name,
        label: (t.manifest.extras[name.slice(6)]?.label as string | undefined) ?? name,
        layered: false,
      });
  return base;
}

/** layer: a layer index, or -1 for the mean over layers. */
export function buildMatrix(lt: LoadedTrace, metric: string, layer = -1): Matrix {
  const t = lt.trace;
  const { S, G, K, T, Ly, P } = t.dims;
  const final = t.state.subarray(S * T, (S + 1) * T);
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
  if (metric === 'top1_change' || metric === 'correct') {
    const data = new Float32Array(S * G).fill(NaN);
    for (let s = 0; s < S; s++)
      for (let g = 0; g < G; g++) {
        const top = t.topkIds[(s * G + g) * K]!;
        if (top < 0) continue;
        if (metric === 'correct') data[s * G + g] = top === final[P + g] ? 1 : 0;
        else if (s > 0) {
          const prev = t.topkIds[((s - 1) * G + g) * K]!;
          if (prev >= 0) data[s * G + g] = prev !== top ? 1 : 0;
        }
      }
    return {
      metric,
      label: metric === 'correct' ? 'top-1 = final token' : 'top-1 changed',
      cols: S,
      rows: G,
      rowStart: P,
      data,
      domain: [0, 1],
      kind: 'categorical',
      categories: metric === 'correct' ? ['wrong', 'right'] : ['same', 'changed'],
    };
  }
  if (metric === 'saliency') {
    const data = new Float32Array(S * T).fill(NaN);
    for (let s = 0; s < S; s++)
      for (let p = 0; p < T; p++) {
        if (layer >= 0) {
          data[s * T + p] = t.saliency[(s * Ly + layer) * T + p]!;
          continue;
        }
        let sum = 0,
          n = 0;
        for (let l = 0; l < Ly; l++) {
          const v = t.saliency[(s * Ly + l) * T + p]!;
          if (!Number.isNaN(v)) {
            sum += v;
            n++;
          }
        }
        if (n) data[s * T + p] = sum / n;
      }
    return {
      metric,
      label: layer >= 0 ? `saliency, layer ${layer}` : 'saliency, mean of layers',
      cols: S,
      rows: T,
      rowStart: 0,
      data,
      domain: [0, finiteMax(data, 1e-6)],
      kind: 'sequential',
    };
  }
  if (metric === 'cache') {
    const l = Math.max(0, layer);
    const data = new Float32Array(S * T);
    for (let s = 0; s < S; s++) {
      for (let p = 0; p < T; p++) data[s * T + p] = t.cached[(s * Ly + l) * T + p]!;
      for (const p of lt.evicted.get(s)?.get(l) ?? []) data[s * T + p] = 2;
    }
    return {
      metric,
      label: `cache, layer ${l}`,
      cols: S,
      rows: T,
      rowStart: 0,
      data,
      domain: [0, 2],
      kind: 'categorical',
      categories: ['not cached', 'cached', 'evicted'],
    };
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
export function paint(
  m: Matrix,
  lut: Uint8ClampedArray,
  out = new Uint8ClampedArray(m.cols * m.rows * 4),
): Uint8ClampedArray {
  const [lo, hi] = m.domain;
  const n = lut.length / 4;
  const scale = hi > lo ? (n - 1) / (hi - lo) : 0;
  const { rows, cols, data } = m;
  for (let s = 0; s < cols; s++) {
    const base = s * rows;
    for (let r = 0; r < rows; r++) {
      const v = data[base + r]!;
      const o = (r * cols + s) * 4;
      if (Number.isNaN(v)) {
        out[o + 3] = 0;
        continue;
      }
      let i = Math.round((v - lo) * scale);
      i = i < 0 ? 0 : i >= n ? n - 1 : i;
      out[o] = lut[i * 4]!;
      out[o + 1] = lut[i * 4 + 1]!;
      out[o + 2] = lut[i * 4 + 2]!;
      out[o + 3] = 255;
    }
  }
  return out;
}
