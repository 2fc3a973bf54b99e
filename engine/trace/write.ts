import { encodeSafetensors, type DType, type RawTensor, type TensorData } from './safetensors.js';
import { floatArrayToHalf } from './f16.js';
import type { Manifest } from './manifest.js';
import type { Trace } from './trace.js';

/** A trace's tensors as the engine and the importers hold them, before they are written (docs/trace-format.md). */
export interface TraceInput {
  manifest: Manifest;
  dims: Trace['dims'];
  state: Int32Array;
  masked?: Uint8Array;
  commitStep?: Int32Array;
  topkIds?: Int32Array;
  topkProbs?: ArrayLike<number>;
  confidence?: ArrayLike<number>;
  entropy?: ArrayLike<number>;
  block?: Int32Array;
  stepMs?: Float32Array;
  saliency?: ArrayLike<number>;
  cached?: Uint8Array;
  edits?: Int32Array;
  /** v3: where each state's tokens sit in the final state (align.ts); its presence makes the file format v3. */
  align?: Int32Array;
  attnBlock?: Int32Array;
  lensIds?: Int32Array;
  lensProbs?: ArrayLike<number>;
  extras?: Map<string, RawTensor>;
}

/** Writes the tensors given (all but `state` optional): format v2, or v3 when an alignment says tokens moved. */
export function writeTrace(t: TraceInput): Uint8Array {
  const { S, T, G, K, Ly } = t.dims;
  const m = new Map<string, RawTensor>([['state', { dtype: 'I32', shape: [S + 1, T], data: t.state }]]);
  const put = (name: string, dtype: DType, shape: number[], data: TensorData | undefined) => {
    if (data) m.set(name, { dtype, shape, data });
  };
  const half = (x: ArrayLike<number> | undefined) => (x ? floatArrayToHalf(x) : undefined);
  put('masked', 'U8', [S + 1, T], t.masked);
  put('commit_step', 'I32', [T], t.commitStep);
  put('topk_ids', 'I32', [S, G, K], t.topkIds);
  put('topk_probs', 'F32', [S, G, K], t.topkProbs && Float32Array.from(t.topkProbs));
  put('confidence', 'F32', [S, G], t.confidence ? Float32Array.from(t.confidence) : undefined);
  put('entropy', 'F16', [S, G], half(t.entropy));
  put('block', 'I32', [S, 2], t.block);
  put('step_ms', 'F32', [S], t.stepMs);
  put('saliency', 'F16', [S, Ly, T], half(t.saliency));
  put('cached', 'U8', [S, Ly, T], t.cached);
  put('edits', 'I32', [t.edits ? t.edits.length / 4 : 0, 4], t.edits);
  put('align', 'I32', [S + 1, T], t.align);
  put('attn_block', 'I32', [S, T], t.attnBlock);
  put('lens_ids', 'I32', [S, Ly, G], t.lensIds);
  put('lens_probs', 'F16', [S, Ly, G], half(t.lensProbs));
  for (const [k, v] of t.extras ?? []) {
    if (!k.startsWith('extra.')) throw new Error(`extra tensor name "${k}" must start with "extra."`);
    m.set(k, v);
  }
  const manifest = t.align ? { ...t.manifest, format: 'dlens-trace/3' as const } : t.manifest;
  return encodeSafetensors(m, { dlens: JSON.stringify(manifest) });
}
