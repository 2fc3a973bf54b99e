/**
 * The `.dlens` trace: a safetensors file whose manifest and tensors follow docs/trace-format.md.
 * Pure TypeScript: shared by the engine (writer) and the renderer (reader).
 */
import { decodeSafetensors, encodeSafetensors, FormatError, type RawTensor, type DType } from './safetensors.js';
import { ManifestSchema, type Manifest } from './manifest.js';
import { halfArrayToFloat, floatArrayToHalf } from './f16.js';
import { parseJsonChecked } from './json-guard.js';

export { FormatError };
export type { Manifest };

export class TraceError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TraceError';
  }
}

export interface Trace {
  manifest: Manifest;
  /** S steps, T positions, G generated positions, K top candidates, Ly layers. */
  dims: { S: number; T: number; G: number; K: number; Ly: number; P: number };
  state: Int32Array; // [S+1, T]
  commitStep: Int32Array; // [T]
  topkIds: Int32Array; // [S, G, K]
  topkProbs: Float32Array; // [S, G, K]  (decoded from F16)
  confidence: Float32Array; // [S, G]
  entropy: Float32Array; // [S, G]
  block: Int32Array; // [S, 2]
  stepMs: Float32Array; // [S]
  saliency: Float32Array; // [S, Ly, T]
  cached: Uint8Array; // [S, Ly, T]
  extras: Map<string, RawTensor>;
}

const REQUIRED: Record<string, { dtype: DType; shape: (d: Trace['dims']) => number[] }> = {
  state: { dtype: 'I32', shape: (d) => [d.S + 1, d.T] },
  commit_step: { dtype: 'I32', shape: (d) => [d.T] },
  topk_ids: { dtype: 'I32', shape: (d) => [d.S, d.G, d.K] },
  topk_probs: { dtype: 'F16', shape: (d) => [d.S, d.G, d.K] },
  confidence: { dtype: 'F16', shape: (d) => [d.S, d.G] },
  entropy: { dtype: 'F16', shape: (d) => [d.S, d.G] },
  block: { dtype: 'I32', shape: (d) => [d.S, 2] },
  step_ms: { dtype: 'F32', shape: (d) => [d.S] },
  saliency: { dtype: 'F16', shape: (d) => [d.S, d.Ly, d.T] },
  cached: { dtype: 'U8', shape: (d) => [d.S, d.Ly, d.T] },
};

/**
 * Real manifests are a few levels deep (strategy parameters, the model card) and hold the vocabulary of the tokens
 * the trace uses: LLaDA's 126k tokens fit in a few MB. Anything far beyond is refused before it is walked.
 */
const MAX_MANIFEST_DEPTH = 32;
const MAX_MANIFEST_CHARS = 48 * 1024 * 1024;

/** Parse and validate a trace. Throws only TraceError, with a message naming what is wrong. */
export function readTrace(bytes: Uint8Array): Trace {
  try {
    return readTraceUnsafe(bytes);
  } catch (e) {
    if (e instanceof TraceError) throw e;
    if (e instanceof FormatError) throw new TraceError(`not a valid .dlens trace: ${e.message}`);
    throw new TraceError(`not a valid .dlens trace: ${(e as Error)?.message ?? String(e)}`);
  }
}

function readTraceUnsafe(bytes: Uint8Array): Trace {
  const { metadata, tensors } = decodeSafetensors(bytes);
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
  const manifest = parsed.data;
  const st = tensors.get('state');
  if (!st || st.shape.length !== 2) throw new TraceError('tensor "state" is missing or not 2-dimensional');
  const sal = tensors.get('saliency');
  const topk = tensors.get('topk_ids');
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
  const dims = { S, T, G, P, K: topk?.shape[2] ?? 0, Ly: sal?.shape[1] ?? 0 };
  for (const [name, spec] of Object.entries(REQUIRED)) {
    const t = tensors.get(name);
    if (!t) throw new TraceError(`required tensor "${name}" is missing`);
    if (t.dtype !== spec.dtype) throw new TraceError(`tensor "${name}" has dtype ${t.dtype}, expected ${spec.dtype}`);
    const want = spec.shape(dims);
    if (t.shape.length !== want.length || t.shape.some((v, i) => v !== want[i]))
      throw new TraceError(`tensor "${name}" has shape [${t.shape}], expected [${want}]`);
  }
  const extras = new Map<string, RawTensor>();
  for (const [name, t] of tensors) if (name.startsWith('extra.')) extras.set(name, t);
  const state = tensors.get('state')!.data as Int32Array;
  const commit = tensors.get('commit_step')!.data as Int32Array;
  for (let i = 0; i < T; i++) {
    const c = commit[i]!;
    if (c < -1 || c > S) throw new TraceError(`commit_step[${i}] = ${c} is outside -1..${S}`);
  }
  const V = Number(manifest.model.card.vocab_size ?? Infinity);
  for (let i = 0; i < state.length; i++)
    if (state[i]! < 0 || state[i]! >= V)
      throw new TraceError(`state holds token id ${state[i]} outside the model's vocabulary`);
  checkManifestAgainstTensors(manifest, dims, tensors, V);
  return {
    manifest,
    dims,
    state,
    commitStep: commit,
    topkIds: tensors.get('topk_ids')!.data as Int32Array,
    topkProbs: halfArrayToFloat(tensors.get('topk_probs')!.data as Uint16Array),
    confidence: halfArrayToFloat(tensors.get('confidence')!.data as Uint16Array),
    entropy: halfArrayToFloat(tensors.get('entropy')!.data as Uint16Array),
    block: tensors.get('block')!.data as Int32Array,
    stepMs: tensors.get('step_ms')!.data as Float32Array,
    saliency: halfArrayToFloat(tensors.get('saliency')!.data as Uint16Array),
    cached: tensors.get('cached')!.data as Uint8Array,
    extras,
  };
}

/** The manifest's own numbers must describe the tensors it came with: another reader may trust either. */
function checkManifestAgainstTensors(m: Manifest, d: Trace['dims'], tensors: Map<string, RawTensor>, V: number) {
  const same = (field: string, said: number | undefined, has: number, what: string) => {
    if (said !== undefined && said !== has) throw new TraceError(`manifest ${field} is ${said} but ${what} ${has}`);
  };
  same('num_layers', m.num_layers, d.Ly, 'tensor "saliency" holds');
  same('top_k', m.top_k, d.K, 'tensor "topk_ids" holds');
  const card = m.model.card;
  if (m.mask_token_id !== undefined && m.mask_token_id >= V)
    throw new TraceError(`manifest mask_token_id ${m.mask_token_id} is outside the model's vocabulary of ${V}`);
  if (m.mask_token_id !== undefined && typeof card.mask_token_id === 'number')
    same('mask_token_id', m.mask_token_id, card.mask_token_id, "the model card's is");
  for (const name of Object.keys(m.extras)) {
    if (!tensors.has(name))
      throw new TraceError(`manifest extras names tensor "${name}", which the file does not hold`);
  }
  const block = tensors.get('block')!.data as Int32Array;
  for (let s = 0; s < d.S; s++) {
    const a = block[2 * s]!,
      b = block[2 * s + 1]!;
    if (!(d.P <= a && a <= b && b <= d.T))
      throw new TraceError(`block of step ${s} is [${a}, ${b}), outside the generated positions ${d.P}..${d.T}`);
  }
  const ids = tensors.get('topk_ids')!.data as Int32Array;
  for (let i = 0; i < ids.length; i++) {
    if (ids[i]! < -1 || ids[i]! >= V)
      throw new TraceError(`topk_ids holds token id ${ids[i]} outside the model's vocabulary (-1 marks no candidate)`);
  }
}

export interface TraceInput {
  manifest: Manifest;
  dims: Trace['dims'];
  state: Int32Array;
  commitStep: Int32Array;
  topkIds: Int32Array;
  topkProbs: ArrayLike<number>;
  confidence: ArrayLike<number>;
  entropy: ArrayLike<number>;
  block: Int32Array;
  stepMs: Float32Array;
  saliency: ArrayLike<number>;
  cached: Uint8Array;
  extras?: Map<string, RawTensor>;
}

export function writeTrace(t: TraceInput): Uint8Array {
  const { S, T, G, K, Ly } = t.dims;
  const m = new Map<string, RawTensor>([
    ['state', { dtype: 'I32', shape: [S + 1, T], data: t.state }],
    ['commit_step', { dtype: 'I32', shape: [T], data: t.commitStep }],
    ['topk_ids', { dtype: 'I32', shape: [S, G, K], data: t.topkIds }],
    ['topk_probs', { dtype: 'F16', shape: [S, G, K], data: floatArrayToHalf(t.topkProbs) }],
    ['confidence', { dtype: 'F16', shape: [S, G], data: floatArrayToHalf(t.confidence) }],
    ['entropy', { dtype: 'F16', shape: [S, G], data: floatArrayToHalf(t.entropy) }],
    ['block', { dtype: 'I32', shape: [S, 2], data: t.block }],
    ['step_ms', { dtype: 'F32', shape: [S], data: t.stepMs }],
    ['saliency', { dtype: 'F16', shape: [S, Ly, T], data: floatArrayToHalf(t.saliency) }],
    ['cached', { dtype: 'U8', shape: [S, Ly, T], data: t.cached }],
  ]);
  for (const [k, v] of t.extras ?? []) {
    if (!k.startsWith('extra.')) throw new Error(`extra tensor name "${k}" must start with "extra."`);
    m.set(k, v);
  }
  return encodeSafetensors(m, { dlens: JSON.stringify(t.manifest) });
}

/** Positions that left the cache at each step, per layer: derived from `cached` (1 at step s-1, 0 at step s). */
export function evictions(trace: Trace): { step: number; layer: number; positions: number[] }[] {
  const { S, Ly, T } = trace.dims;
  const out: { step: number; layer: number; positions: number[] }[] = [];
  for (let s = 1; s < S; s++)
    for (let l = 0; l < Ly; l++) {
      const ps: number[] = [];
      for (let p = 0; p < T; p++)
        if (trace.cached[((s - 1) * Ly + l) * T + p] && !trace.cached[(s * Ly + l) * T + p]) ps.push(p);
      if (ps.length) out.push({ step: s, layer: l, positions: ps });
    }
  return out;
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
