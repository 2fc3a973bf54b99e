import { positionAt } from '../../../engine/trace/align.js';
import {
  readTrace,
  openTrace,
  evictions,
  isMaskedAt,
  LAZY_ABOVE,
  type ByteSource,
  type Trace,
} from '../../../engine/trace/trace.js';
import {
  positionTimings,
  positionRegions,
  volatilityBands,
  type PositionTiming,
  type Regions,
  type VolatilityBand,
} from '../../../engine/metrics/index.js';
import { traceMetrics } from '../../../engine/metrics/index.js';

/** A trace opened in the app, with everything derived from it once (timings, bands, metrics, token texts). */
export interface LoadedTrace {
  id: string;
  name: string;
  path?: string;
  /** The file's bytes when it was read whole; a large trace opened lazily has none (saving copies its file). */
  bytes?: Uint8Array;
  trace: Trace;
  timings: PositionTiming[];
  bands: VolatilityBand[];
  /** Which generated positions are the answer and which the EOS padding (docs/metrics.md). */
  regions: Regions;
  metrics: ReturnType<typeof traceMetrics>;
  /** Per step and layer, positions that left the cache at that step. */
  evicted: Map<number, Map<number, number[]>>;
}

let counter = 0;
function derive(trace: Trace, name: string, path?: string, bytes?: Uint8Array): LoadedTrace {
  const timings = positionTimings(trace),
    bands = volatilityBands(trace);
  const evicted = new Map<number, Map<number, number[]>>();
  for (const e of evictions(trace)) {
    if (!evicted.has(e.step)) evicted.set(e.step, new Map());
    evicted.get(e.step)!.set(e.layer, e.positions);
  }
  return {
    id: `t${++counter}`,
    name,
    path,
    bytes,
    trace,
    timings,
    bands,
    regions: positionRegions(trace),
    metrics: traceMetrics(trace, timings, bands),
    evicted,
  };
}

export function loadTrace(bytes: Uint8Array, name: string, path?: string): LoadedTrace {
  return derive(readTrace(bytes), name, path, bytes);
}

export { LAZY_ABOVE };

/**
 * Open a large trace through range reads. What needs every step's top-1 (delay timings) follows when the top-k
 * ids are in: `onMore` receives the trace with them.
 */
export async function openLazy(
  src: ByteSource,
  name: string,
  path: string | undefined,
  onMore: (lt: LoadedTrace) => void,
  onProgress?: (done: number, total: number) => void,
): Promise<LoadedTrace> {
  const trace = await openTrace(src, onProgress);
  const lt = derive(trace, name, path);
  if (trace.topkIds.present)
    void trace.topkIds.loadFull().then(() => {
      const timings = positionTimings(trace);
      onMore({ ...lt, timings, metrics: traceMetrics(trace, timings, lt.bands) });
    });
  return lt;
}

/** Text of a token id as the trace's vocabulary has it (the manifest carries every id the trace mentions). */
export function tokenText(t: Trace, id: number): string {
  if (id === t.manifest.mask_token_id) return '▒';
  return t.manifest.vocab[String(id)] ?? `<${id}>`;
}

export { isMaskedAt };

/** Active block [start, end) at a step (the last step's block after the run). */
export function blockAt(t: Trace, step: number): [number, number] {
  const s = Math.max(0, Math.min(t.dims.S - 1, step));
  return t.dims.S ? [t.block[2 * s]!, t.block[2 * s + 1]!] : [t.dims.P, t.dims.T];
}

/** The state shown at cursor `step`: state before step `step` (0..S; S is the final state). */
export function stateAt(t: Trace, step: number): Int32Array {
  const s = Math.max(0, Math.min(t.dims.S, step));
  return t.state.subarray(s * t.dims.T, (s + 1) * t.dims.T);
}

/** Top-k candidates of generated position `pos` predicted at `step` (empty if not computed then). */
export function candidatesAt(t: Trace, step: number, pos: number): { id: number; text: string; p: number }[] {
  const { G, K, P, S } = t.dims;
  const g = pos - P;
  if (g < 0 || g >= G || step < 0 || step >= S) return [];
  const ids = t.topkIds.row(step),
    probs = t.topkProbs.row(step);
  if (!ids || !probs) return []; // not recorded, or still being read (the view redraws when it is in)
  const out = [];
  for (let k = 0; k < K; k++) {
    const id = ids[g * K + k]!;
    if (id < 0) break;
    out.push({ id, text: tokenText(t, id), p: probs[g * K + k]! });
  }
  return out;
}

/** Confidence history of a generated position over all steps (NaN where not computed). */
export function confidenceHistory(t: Trace, pos: number, at = t.dims.S): Float32Array {
  const { G, S, P, T } = t.dims;
  const out = new Float32Array(S).fill(NaN);
  // A v3 trace's tokens move: follow the token at `pos` in state `at` through every step (NaN where it was not).
  const f = t.align ? t.align[Math.min(at, S) * T + pos]! : pos;
  for (let s = 0; s < S; s++) {
    const q = t.align ? (f < 0 ? (s === at ? pos : -1) : positionAt(t.align, T, s, f)) : pos;
    if (q >= P) out[s] = t.confidence[s * G + q - P]!;
  }
  return out;
}
