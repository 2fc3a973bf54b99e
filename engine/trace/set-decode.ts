/**
 * One decode of a trace set, compact (docs/trace-set.md): a safetensors blob holding what a `.dlens` trace holds, with
 * the states as the first state and the changes after it, and the per-step statistics only for the rows kept (by
 * default the rows a step decides from: its undecided positions that the model predicted). Pure TypeScript: the
 * engine writes and reads sets with it, and `expandDecode` turns a decode back into a `.dlens` trace.
 */
import { decodeSafetensors, encodeSafetensors, type RawTensor } from './safetensors.js';
import { floatArrayToHalf, halfArrayToFloat } from './f16.js';
import { parseJsonChecked } from './json-guard.js';
import { readTrace, TraceError, type Trace } from './trace.js';
import { writeTrace, type TraceInput } from './write.js';
import type { Manifest } from './manifest.js';

export const SET_DECODE_FORMAT = 'dlens-set-decode/1';

/**
 * What a set keeps of a trace. `rows`: the per-step statistics of the rows a step decides from (the undecided
 * positions of its block, 'decided', the default) or of every row the trace holds ('all'). `saliency`: the attention
 * each position received, per layer ([S, Ly, T] at F16, most of a trace's size): off unless asked.
 */
export interface Keep {
  rows: 'decided' | 'all';
  saliency: boolean;
}
export const KEEP_DEFAULT: Keep = { rows: 'decided', saliency: false };

/** The compact blob of a trace (already checked: a Trace from readTrace or openTrace's whole reads). */
export function compactDecode(t: Trace, keep: Keep = KEEP_DEFAULT): Uint8Array {
  const { S, T, G, K, P } = t.dims;
  const m = new Map<string, RawTensor>();
  const put = (name: string, r: RawTensor) => m.set(name, r);
  put('state0', { dtype: 'I32', shape: [T], data: t.state.slice(0, T) });
  if (t.holds.has('masked')) put('masked0', { dtype: 'U8', shape: [T], data: t.masked.slice(0, T) });
  const changes: number[] = [];
  for (let s = 0; s < S; s++)
    for (let p = 0; p < T; p++) {
      const a = s * T + p,
        b = a + T;
      if (t.state[a] !== t.state[b] || t.masked[a] !== t.masked[b]) changes.push(s, p, t.state[b]!, t.masked[b]!);
    }
  // Changes are the compact form when few positions change per step (commit-once and editing decoders); a decoder
  // that re-noises every position every step (uniform noise) is cheaper as the states themselves.
  if (changes.length < S * T)
    put('changes', { dtype: 'I32', shape: [changes.length / 4, 4], data: Int32Array.from(changes) });
  else put('state', { dtype: 'I32', shape: [S + 1, T], data: t.state });
  if (t.holds.has('commit_step')) put('commit_step', { dtype: 'I32', shape: [T], data: t.commitStep });
  if (t.holds.has('block')) put('block', { dtype: 'I32', shape: [S, 2], data: t.block });
  if (t.holds.has('step_ms')) put('step_ms', { dtype: 'F32', shape: [S], data: t.stepMs });
  // v3: where tokens moved (insertions and deletions); expanded, the decode is a v3 trace again.
  if (t.align) put('align', { dtype: 'I32', shape: [S + 1, T], data: t.align });
  putRows(t, keep.rows, put);
  for (const name of ['attn_block', 'saliency', 'cached', 'lens_ids', 'lens_probs'] as const) {
    const st = {
      attn_block: t.attnBlock,
      saliency: t.saliency,
      cached: t.cached,
      lens_ids: t.lensIds,
      lens_probs: t.lensProbs,
    }[name];
    if (!st.present || (name === 'saliency' && !keep.saliency)) continue;
    const rows = Array.from({ length: S }, (_, s) => st.row(s)!);
    const data = concat(rows);
    if (name === 'cached' && !data.some((v) => v !== 0)) continue; // nothing was cached (cache none): nothing to keep
    put(name, { dtype: st.dtype as RawTensor['dtype'], shape: st.shape, data: encodeAs(st.dtype, data) });
    // (F16 rows were widened by the reader; they go back as F16.)
  }
  for (const [k, v] of t.extras) put(k, v);
  const manifest = JSON.stringify(t.manifest);
  return encodeSafetensors(m, {
    format: SET_DECODE_FORMAT,
    dlens: manifest,
    rows: keep.rows,
    K: String(K),
    P: String(P),
    G: String(G),
  });
}

/** The rows of statistics kept, as (step, generated index) pairs with their top-k, confidence and entropy. */
function putRows(t: Trace, rowsKept: Keep['rows'], put: (name: string, r: RawTensor) => void) {
  const { S, T, G, K, P } = t.dims;
  const at: number[] = [];
  const ids: number[] = [],
    probs: number[] = [],
    conf: number[] = [],
    ent: number[] = [];
  for (let s = 0; s < S; s++) {
    const rowIds = t.topkIds.present ? t.topkIds.row(s)! : undefined;
    const rowProbs = t.topkProbs.present ? t.topkProbs.row(s)! : undefined;
    for (let g = 0; g < G; g++) {
      const recorded = rowIds ? rowIds[g * K]! >= 0 : !Number.isNaN(t.confidence[s * G + g]!);
      if (!recorded) continue;
      const inBlock = P + g >= t.block[2 * s]! && P + g < t.block[2 * s + 1]!;
      if (rowsKept === 'decided' && !(inBlock && t.masked[s * T + P + g])) continue;
      at.push(s, g);
      conf.push(t.confidence[s * G + g]!);
      ent.push(t.entropy[s * G + g]!);
      for (let k = 0; k < K; k++) {
        ids.push(rowIds ? rowIds[g * K + k]! : -1);
        probs.push(rowProbs ? rowProbs[g * K + k]! : NaN);
      }
    }
  }
  const R = at.length / 2;
  put('rows', { dtype: 'I32', shape: [R, 2], data: Int32Array.from(at) });
  if (K) {
    put('topk_ids', { dtype: 'I32', shape: [R, K], data: Int32Array.from(ids) });
    put('topk_probs', { dtype: 'F32', shape: [R, K], data: Float32Array.from(probs) });
  }
  put('confidence', { dtype: 'F32', shape: [R], data: Float32Array.from(conf) });
  put('entropy', { dtype: 'F16', shape: [R], data: floatArrayToHalf(ent) });
}

const concat = <A extends ArrayLike<number> & { length: number }>(rows: A[]): Float64Array => {
  const n = rows.reduce((a, r) => a + r.length, 0);
  const out = new Float64Array(n);
  let o = 0;
  for (const r of rows) {
    out.set(r as ArrayLike<number>, o);
    o += r.length;
  }
  return out;
};

/** Row data in the dtype the trace stored it. */
function encodeAs(dtype: string, data: Float64Array) {
  if (dtype === 'I32') return Int32Array.from(data);
  if (dtype === 'U8') return Uint8Array.from(data);
  if (dtype === 'F16') return floatArrayToHalf(data);
  return Float32Array.from(data);
}

/** The `.dlens` trace (format v2) of a compact decode: states rebuilt, statistics placed back, NaN where not kept. */
export function expandDecode(blob: Uint8Array): Uint8Array {
  const { tensors, metadata } = parseBlob(blob);
  if (metadata.format !== SET_DECODE_FORMAT)
    throw new TraceError(`not a trace-set decode (format ${String(metadata.format).slice(0, 40)})`);
  let manifest: Manifest;
  try {
    manifest = parseJsonChecked(metadata.dlens ?? '', 32) as Manifest;
  } catch (e) {
    throw new TraceError(`the decode's manifest is refused: ${(e as Error).message}`);
  }
  const num = (k: string) => Number(metadata[k]);
  const K = num('K'),
    P = num('P'),
    G = num('G');
  const state0 = need(tensors, 'state0').data as Int32Array;
  const T = state0.length;
  const S = manifest.steps;
  if (!(Number.isSafeInteger(S) && S >= 0 && T === P + G && K >= 0))
    throw new TraceError('the decode disagrees with its manifest');
  const { state, masked } = rebuildStates(tensors, manifest, S, T);
  const stat = (n: number, fill: number) => new Float32Array(n).fill(fill);
  const conf = stat(S * G, NaN),
    ent = stat(S * G, NaN),
    topP = stat(S * G * K, NaN);
  const topI = new Int32Array(S * G * K).fill(-1);
  const rows = need(tensors, 'rows').data as Int32Array;
  const rc = need(tensors, 'confidence').data as Float32Array,
    re = need(tensors, 'entropy').data as Float32Array;
  const ri = tensors.get('topk_ids')?.data as Int32Array | undefined,
    rp = tensors.get('topk_probs')?.data as Float32Array | undefined;
  for (let r = 0; r < rows.length / 2; r++) {
    const s = rows[2 * r]!,
      g = rows[2 * r + 1]!;
    if (!(s >= 0 && s < S && g >= 0 && g < G))
      throw new TraceError(`row ${r} names step ${s}, position ${g}: outside the decode`);
    conf[s * G + g] = rc[r]!;
    ent[s * G + g] = re[r]!;
    if (ri && rp) {
      topI.set(ri.subarray(r * K, (r + 1) * K), (s * G + g) * K);
      topP.set(rp.subarray(r * K, (r + 1) * K), (s * G + g) * K);
    }
  }
  const layered = tensors.get('saliency') ?? tensors.get('cached') ?? tensors.get('lens_ids');
  const input: TraceInput = {
    manifest,
    dims: { S, T, G, P, K: ri ? K : 0, Ly: layered?.shape[1] ?? 0 },
    state,
    masked: tensors.has('masked0') ? masked : undefined,
    commitStep: tensors.get('commit_step')?.data as Int32Array | undefined,
    ...(ri ? { topkIds: topI, topkProbs: topP } : {}),
    confidence: conf,
    entropy: ent,
    block: tensors.get('block')?.data as Int32Array | undefined,
    stepMs: tensors.get('step_ms')?.data as Float32Array | undefined,
    align: tensors.get('align')?.data as Int32Array | undefined,
    attnBlock: tensors.get('attn_block')?.data as Int32Array | undefined,
    saliency: tensors.get('saliency')?.data as Float32Array | undefined,
    cached: tensors.get('cached')?.data as Uint8Array | undefined,
    lensIds: tensors.get('lens_ids')?.data as Int32Array | undefined,
    lensProbs: tensors.get('lens_probs')?.data as Float32Array | undefined,
    extras: new Map([...tensors].filter(([k]) => k.startsWith('extra.'))),
  };
  const bytes = writeTrace(input);
  readTrace(bytes); // what is exported opens: the reader's checks, as for any trace
  return bytes;
}

function rebuildStates(tensors: Map<string, RawTensor>, manifest: Manifest, S: number, T: number) {
  const full = tensors.get('state');
  const MASK = manifest.mask_token_id;
  const masked0 = tensors.get('masked0')?.data as Uint8Array | undefined;
  if (full) {
    const state = full.data as Int32Array;
    if (state.length !== (S + 1) * T) throw new TraceError('"state" does not hold the decode\'s steps');
    return { state, masked: masked0 ? Uint8Array.from(state, (v) => (v === MASK ? 1 : 0)) : new Uint8Array(0) };
  }
  const state = new Int32Array((S + 1) * T);
  const masked = new Uint8Array((S + 1) * T);
  state.set(need(tensors, 'state0').data as Int32Array);
  masked.set(masked0 ?? Uint8Array.from(state.subarray(0, T), (v) => (v === MASK ? 1 : 0)));
  const ch = need(tensors, 'changes').data as Int32Array;
  let c = 0;
  for (let s = 0; s < S; s++) {
    state.copyWithin((s + 1) * T, s * T, (s + 1) * T);
    masked.copyWithin((s + 1) * T, s * T, (s + 1) * T);
    for (; c < ch.length && ch[c] === s; c += 4) {
      const p = ch[c + 1]!;
      if (!(p >= 0 && p < T)) throw new TraceError(`a change names position ${p}, outside the decode`);
      state[(s + 1) * T + p] = ch[c + 2]!;
      masked[(s + 1) * T + p] = ch[c + 3]!;
    }
  }
  if (c !== ch.length) throw new TraceError('the changes are not in step order, or name steps past the decode');
  return { state, masked };
}

function need(tensors: Map<string, RawTensor>, name: string): RawTensor {
  const t = tensors.get(name);
  if (!t) throw new TraceError(`the decode has no "${name}" tensor`);
  return t;
}

/** A compact decode's tensors and metadata, checked as every safetensors file is (F16 widened to float32). */
export function parseBlob(blob: Uint8Array): { tensors: Map<string, RawTensor>; metadata: Record<string, string> } {
  let file;
  try {
    file = decodeSafetensors(blob);
  } catch (e) {
    throw new TraceError(`not a trace-set decode: ${(e as Error).message}`);
  }
  const tensors = new Map<string, RawTensor>();
  for (const [name, t] of file.tensors)
    tensors.set(
      name,
      t.dtype === 'F16' ? { dtype: 'F32', shape: t.shape, data: halfArrayToFloat(t.data as Uint16Array) } : t,
    );
  return { tensors, metadata: file.metadata };
}
