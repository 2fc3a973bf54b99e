/**
 * The `.dlens` trace: a safetensors file whose manifest and tensors follow docs/trace-format.md.
 * Pure TypeScript: shared by the engine (writer) and the renderer (reader).
 */
import {
  FormatError,
  headerLength,
  parseHeader,
  tensorData,
  type RawTensor,
  type DType,
  type TensorData,
  type TensorEntry,
} from './safetensors.js';
import { StepTensor, type Row, type RowFetch } from './step-tensor.js';
import { ManifestSchema, type Manifest } from './manifest.js';
import { deriveCommitSteps, deriveEdits } from './derive.js';
import { alignError } from './align.js';
import { halfArrayToFloat } from './f16.js';
import { parseJsonChecked } from './json-guard.js';

import { TraceError, type Trace } from './trace-type.js';
import { checkManifestAgainstTensors } from './consistency.js';

export { FormatError, StepTensor, TraceError };
export type { Manifest, Trace };

/** Tensors read when the trace opens: one value per position per step at most. */
const EAGER: Record<string, { dtype: DType | DType[]; shape: (d: Trace['dims']) => number[] }> = {
  state: { dtype: 'I32', shape: (d) => [d.S + 1, d.T] },
  masked: { dtype: 'U8', shape: (d) => [d.S + 1, d.T] },
  commit_step: { dtype: 'I32', shape: (d) => [d.T] },
  // F32 since v2: a confidence of 0.9999996 must stay apart from 1 (F16 rounds everything above 0.9998 to 1).
  confidence: { dtype: ['F32', 'F16'], shape: (d) => [d.S, d.G] },
  entropy: { dtype: 'F16', shape: (d) => [d.S, d.G] },
  block: { dtype: 'I32', shape: (d) => [d.S, 2] },
  step_ms: { dtype: 'F32', shape: (d) => [d.S] },
  edits: { dtype: 'I32', shape: () => [-1, 4] },
  align: { dtype: 'I32', shape: (d) => [d.S + 1, d.T] },
};
const HEAD_READ = 1 << 18;
/** Tensors read a step at a time when a view needs them: the bulk of a large trace. */
const PER_STEP: Record<string, { dtype: DType | DType[]; shape: (d: Trace['dims']) => number[] }> = {
  topk_ids: { dtype: 'I32', shape: (d) => [d.S, d.G, d.K] },
  // F32 since v2, as confidence: a candidate at 0.9999996 is not one at 1.
  topk_probs: { dtype: ['F32', 'F16'], shape: (d) => [d.S, d.G, d.K] },
  saliency: { dtype: 'F16', shape: (d) => [d.S, d.Ly, d.T] },
  cached: { dtype: 'U8', shape: (d) => [d.S, d.Ly, d.T] },
  attn_block: { dtype: 'I32', shape: (d) => [d.S, d.T] },
  lens_ids: { dtype: 'I32', shape: (d) => [d.S, d.Ly, d.G] },
  lens_probs: { dtype: 'F16', shape: (d) => [d.S, d.Ly, d.G] },
};
/** Version 1 required every tensor; version 2 requires only `state`. */
const V1_REQUIRED = [
  'state',
  'commit_step',
  'topk_ids',
  'topk_probs',
  'confidence',
  'entropy',
  'block',
  'step_ms',
  'saliency',
  'cached',
];

/**
 * Real manifests are a few levels deep (strategy parameters, the model card) and hold the vocabulary of the tokens
 * the trace uses: LLaDA's 126k tokens fit in a few MB. Anything far beyond is refused before it is walked.
 */
const MAX_MANIFEST_DEPTH = 32;
const MAX_MANIFEST_CHARS = 48 * 1024 * 1024;

/**
 * Traces above this size open lazily: the per-position tensors now, top-k, saliency and cache rows as views ask.
 * Below it, reading the whole file is faster than many small reads.
 */
export const LAZY_ABOVE = 64 << 20;

/** Tensors read at opening that lie at most this far apart are read in one request (the gap read and dropped). */
const SPAN_GAP = 1 << 16;

/** A trace too large to read whole: a file (range reads) or `dlens serve` (HTTP ranges). */
export interface ByteSource {
  size: number;
  read(offset: number, length: number): Promise<Uint8Array>;
}

const asTraceError = (e: unknown) => {
  if (e instanceof TraceError) return e;
  if (e instanceof FormatError) return new TraceError(`not a valid .dlens trace: ${e.message}`);
  return new TraceError(`not a valid .dlens trace: ${(e as Error)?.message ?? String(e)}`);
};

/** Parse and validate a trace held in memory. Throws only TraceError, with a message naming what is wrong. */
export function readTrace(bytes: Uint8Array): Trace {
  try {
    const n = headerLength(bytes.subarray(0, 8), bytes.byteLength);
    const data = bytes.subarray(8 + n);
    const header = parseHeader(bytes.subarray(8, 8 + n), data.byteLength);
    const trace = assemble(
      true,
      header,
      (e) => data.subarray(e.begin, e.end),
      (e, rowBytes) => (s0, s1) => data.subarray(e.begin + s0 * rowBytes, e.begin + s1 * rowBytes),
    );
    // In memory, check every step now: a malformed trace is refused when it opens, as v1 readers did.
    trace.topkIds.full();
    trace.attnBlock.full();
    trace.lensIds.full();
    return trace;
  } catch (e) {
    throw asTraceError(e);
  }
}

/**
 * Open a trace through range reads: the header and the per-position tensors now, the per-step tensors (top-k,
 * saliency, cache residency) a step at a time as views ask. A 1 GB trace opens by reading a few tens of MB;
 * `onProgress` hears how many of them are in.
 */
export async function openTrace(src: ByteSource, onProgress?: (done: number, total: number) => void): Promise<Trace> {
  try {
    // The length and the header in one read when the header fits its first 256 KiB (a vocabulary of a few thousand
    // tokens does): over HTTP each round trip costs tens of ms.
    const head = await src.read(0, Math.min(HEAD_READ, src.size));
    const n = headerLength(head.subarray(0, 8), src.size);
    const dataLen = src.size - 8 - n;
    const header = parseHeader(8 + n <= head.byteLength ? head.subarray(8, 8 + n) : await src.read(8, n), dataLen);
    const base = 8 + n;
    const eager = new Map<string, Uint8Array>();
    // Tensors side by side in the file are read as one span, and the spans at once: over HTTP, one request after
    // another left most of a 1 GB trace's opening waiting.
    const wanted = [...header.entries]
      .filter(([name]) => name in EAGER || name.startsWith('extra.'))
      .sort((a, b) => a[1].begin - b[1].begin);
    const spans: { begin: number; end: number; names: [string, TensorEntry][] }[] = [];
    for (const [name, e] of wanted) {
      const last = spans.at(-1);
      if (last && e.begin - last.end <= SPAN_GAP) {
        last.end = Math.max(last.end, e.end);
        last.names.push([name, e]);
      } else spans.push({ begin: e.begin, end: e.end, names: [[name, e]] });
    }
    const total = spans.reduce((a, sp) => a + sp.end - sp.begin, 0);
    let done = 0;
    onProgress?.(0, total);
    await Promise.all(
      spans.map(async (sp) => {
        const bytes = await src.read(base + sp.begin, sp.end - sp.begin);
        onProgress?.((done += bytes.byteLength), total);
        if (bytes.byteLength !== sp.end - sp.begin)
          throw new TraceError(`the trace ended early: ${bytes.byteLength} of ${sp.end - sp.begin} bytes read`);
        for (const [name, e] of sp.names) eager.set(name, bytes.subarray(e.begin - sp.begin, e.end - sp.begin));
      }),
    );
    return assemble(
      false,
      header,
      (e, name) => eager.get(name)!,
      (e, rowBytes) => (s0, s1) => src.read(base + e.begin + s0 * rowBytes, (s1 - s0) * rowBytes),
    );
  } catch (e) {
    throw asTraceError(e);
  }
}

function parseManifest(metadata: Record<string, string>): Manifest {
  const raw = metadata.dlens;
  if (raw === undefined)
    throw new TraceError('not a .dlens trace: the safetensors file has no __metadata__.dlens manifest');
  if (raw.length > MAX_MANIFEST_CHARS)
    throw new TraceError(
      `the manifest is ${raw.length} characters long; dlens reads manifests up to ${MAX_MANIFEST_CHARS}`,
    );
  let json: unknown;
  try {
    json = parseJsonChecked(raw, MAX_MANIFEST_DEPTH);
  } catch (e) {
    throw new TraceError(`the manifest is refused: ${(e as Error).message}`);
  }
  const parsed = ManifestSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new TraceError(`the manifest is invalid at "${issue.path.join('.') || '(root)'}": ${issue.message}`);
  }
  return parsed.data;
}

function assemble(
  inMemory: boolean,
  header: ReturnType<typeof parseHeader>,
  bytesOf: (e: TensorEntry, name: string) => Uint8Array,
  rowsOf: (e: TensorEntry, rowBytes: number) => RowFetch,
): Trace {
  const manifest = parseManifest(header.metadata);
  const entries = header.entries;
  const st = entries.get('state');
  if (!st || st.shape.length !== 2) throw new TraceError('tensor "state" is missing or not 2-dimensional');
  if (manifest.format === 'dlens-trace/1')
    for (const name of V1_REQUIRED)
      if (!entries.has(name)) throw new TraceError(`required tensor "${name}" is missing`);
  const T = st.shape[1]!;
  const S = st.shape[0]! - 1;
  const P = manifest.prompt_length;
  const G = T - P;
  if (S < 0) throw new TraceError('tensor "state" has no rows');
  if (G < 0) throw new TraceError(`prompt_length ${P} exceeds the ${T} positions of "state"`);
  if (S !== manifest.steps) throw new TraceError(`manifest says ${manifest.steps} steps but "state" holds ${S}`);
  if (G !== manifest.gen_length)
    throw new TraceError(
      `manifest gen_length ${manifest.gen_length} does not match ${G} generated positions in "state"`,
    );
  const layered = entries.get('saliency') ?? entries.get('cached') ?? entries.get('lens_ids');
  const dims = { S, T, G, P, K: entries.get('topk_ids')?.shape[2] ?? 0, Ly: layered?.shape[1] ?? 0 };
  for (const [name, spec] of Object.entries({ ...EAGER, ...PER_STEP })) {
    const t = entries.get(name);
    if (!t) continue;
    const ok = Array.isArray(spec.dtype) ? spec.dtype.includes(t.dtype) : t.dtype === spec.dtype;
    if (!ok)
      throw new TraceError(`tensor "${name}" has dtype ${t.dtype}, expected ${[spec.dtype].flat().join(' or ')}`);
    const want = spec.shape(dims);
    if (t.shape.length !== want.length || t.shape.some((v, i) => want[i] !== -1 && v !== want[i]))
      throw new TraceError(`tensor "${name}" has shape [${t.shape}], expected [${want.map((v) => (v < 0 ? 'E' : v))}]`);
  }
  for (const name of entries.keys())
    if (!(name in EAGER) && !(name in PER_STEP) && !name.startsWith('extra.'))
      throw new TraceError(`tensor "${name}" is not part of the trace format (extensions are named extra.*)`);
  const V = Number(manifest.model.card.vocab_size ?? Infinity);
  const eager = <A>(name: string, make: (d: TensorData) => A, absent: () => A): A => {
    const e = entries.get(name);
    return e ? make(tensorData(e.dtype, bytesOf(e, name), !inMemory)) : absent();
  };
  const state = eager(
    'state',
    (d) => d as Int32Array,
    () => new Int32Array(),
  );
  for (let i = 0; i < state.length; i++)
    if (state[i]! < 0 || state[i]! >= V)
      throw new TraceError(`state holds token id ${state[i]} outside the model's vocabulary`);
  const MASK = manifest.mask_token_id;
  const masked = eager(
    'masked',
    (d) => d as Uint8Array,
    () => {
      if (MASK === undefined)
        throw new TraceError(
          'the trace names no mask_token_id and holds no "masked" tensor: nothing says which positions are undecided',
        );
      // A plain loop: Uint8Array.from with a mapping function takes seconds on a 1 GB trace's 8M states.
      const m = new Uint8Array(state.length);
      for (let i = 0; i < state.length; i++) m[i] = state[i] === MASK ? 1 : 0;
      return m;
    },
  );
  const align = eager(
    'align',
    (d) => d as Int32Array,
    () => null,
  );
  if (align) {
    if (manifest.format !== 'dlens-trace/3')
      throw new TraceError(`tensor "align" is part of format v3, and the manifest says ${manifest.format}`);
    const err = alignError(align, S, T);
    if (err) throw new TraceError(err);
  }
  const commit = eager(
    'commit_step',
    (d) => d as Int32Array,
    () => deriveCommitSteps(state, masked, S, T, P, align),
  );
  for (let i = 0; i < T; i++) {
    const c = commit[i]!;
    if (c < -1 || c > S) throw new TraceError(`commit_step[${i}] = ${c} is outside -1..${S}`);
  }
  const half = (d: TensorData) => halfArrayToFloat(d as Uint16Array);
  const nan = (n: number) => () => new Float32Array(n).fill(NaN);
  const block = eager(
    'block',
    (d) => d as Int32Array,
    () => {
      // No record of the active block (another tool's trace): the whole generated span.
      const b = new Int32Array(2 * S);
      for (let s = 0; s < S; s++) {
        b[2 * s] = P;
        b[2 * s + 1] = T;
      }
      return b;
    },
  );
  const edits = eager(
    'edits',
    (d) => d as Int32Array,
    () => deriveEdits(state, masked, S, T, align),
  );
  const holds = new Set(entries.keys());
  const rowCheck = (name: string, lo: number) => (row: Int32Array, s: number) => {
    for (let i = 0; i < row.length; i++)
      if (row[i]! < lo || row[i]! >= V)
        throw new TraceError(
          `${name} holds token id ${row[i]} at step ${s}, outside the model's vocabulary${lo < 0 ? ' (-1 marks no candidate)' : ''}`,
        );
  };
  const perStep = <A extends Row>(name: string, check?: (row: A, s: number) => void): StepTensor<A> => {
    const e = entries.get(name);
    const spec = PER_STEP[name]!;
    if (!e) return new StepTensor<A>(name, [spec.dtype].flat()[0]!, [0], null);
    const rowBytes = e.shape[0] ? (e.end - e.begin) / e.shape[0] : 0;
    return new StepTensor<A>(name, e.dtype, e.shape, rowsOf(e, rowBytes), check, {}, inMemory);
  };
  const extras = new Map<string, RawTensor>();
  for (const [name, e] of entries)
    if (name.startsWith('extra.'))
      extras.set(name, { dtype: e.dtype, shape: e.shape, data: tensorData(e.dtype, bytesOf(e, name), !inMemory) });
  const trace: Trace = {
    manifest,
    dims,
    holds,
    state,
    masked,
    commitStep: commit,
    confidence: eager('confidence', (d) => (d instanceof Float32Array ? d : half(d)), nan(S * G)),
    entropy: eager('entropy', half, nan(S * G)),
    block,
    stepMs: eager('step_ms', (d) => d as Float32Array, nan(S)),
    edits,
    align,
    attnBlock: perStep<Int32Array>('attn_block', (row, s) => {
      for (let i = 0; i < row.length; i++)
        if (row[i]! < 0) throw new TraceError(`attn_block holds a negative block index at step ${s}`);
    }),
    topkIds: perStep<Int32Array>('topk_ids', rowCheck('topk_ids', -1)),
    topkProbs: perStep<Float32Array>('topk_probs'),
    saliency: perStep<Float32Array>('saliency'),
    cached: perStep<Uint8Array>('cached'),
    lensIds: perStep<Int32Array>('lens_ids', rowCheck('lens_ids', -1)),
    lensProbs: perStep<Float32Array>('lens_probs'),
    extras,
  };
  checkManifestAgainstTensors(trace);
  return trace;
}

/** Positions that left the cache at each step, per layer: derived from `cached` (1 at step s-1, 0 at step s). */
export function evictions(trace: Trace): { step: number; layer: number; positions: number[] }[] {
  const { S, Ly, T } = trace.dims;
  const cached = trace.cached.full();
  const out: { step: number; layer: number; positions: number[] }[] = [];
  if (!cached) return out;
  for (let s = 1; s < S; s++)
    for (let l = 0; l < Ly; l++) {
      const ps: number[] = [];
      for (let p = 0; p < T; p++) if (cached[((s - 1) * Ly + l) * T + p] && !cached[(s * Ly + l) * T + p]) ps.push(p);
      if (ps.length) out.push({ step: s, layer: l, positions: ps });
    }
  return out;
}

/** Whether position p is still undecided (noise) in state `step` (clamped to 0..S). */
export function isMaskedAt(trace: Trace, step: number, p: number) {
  const s = Math.max(0, Math.min(trace.dims.S, step));
  return trace.masked[s * trace.dims.T + p] === 1;
}

/** Summary numbers that `dlens info` and the app show. */
export function summary(trace: Trace) {
  const { S, G } = trace.dims;
  const m = trace.manifest;
  return {
    steps: S,
    nfe: m.nfe,
    gen_length: G,
    wall_ms: m.wall_ms,
    tokens_per_step: S ? G / S : 0,
    tokens_per_forward: m.nfe ? G / m.nfe : 0,
    tokens_per_s: m.wall_ms ? (G / m.wall_ms) * 1000 : 0,
    complete: m.complete,
  };
}
