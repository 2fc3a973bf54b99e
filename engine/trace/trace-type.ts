/** What a `.dlens` trace is once read (engine/trace/trace.ts reads it; docs/trace-format.md says what each holds). */
import type { RawTensor } from './safetensors.js';
import type { StepTensor } from './step-tensor.js';
import type { Manifest } from './manifest.js';

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
  /** Tensors the file holds (v2: all but `state` are optional); views that need an absent one say so. */
  holds: ReadonlySet<string>;
  state: Int32Array; // [S+1, T]
  /** 1 where a position is still noise: the `masked` tensor, or state = mask id for models with a mask token. */
  masked: Uint8Array; // [S+1, T]
  commitStep: Int32Array; // [T] (derived from the states when the file has none)
  confidence: Float32Array; // [S, G]  NaN where not computed or not recorded
  entropy: Float32Array; // [S, G]
  block: Int32Array; // [S, 2] (the whole generated span when the file has none)
  stepMs: Float32Array; // [S]  NaN when not recorded
  /** Committed tokens that changed later: rows [step, position, from, to] (derived from the states if absent). */
  edits: Int32Array; // [E, 4]
  /**
   * v3: per state and position, where that token sits in the final state (−1: nowhere); null when tokens never move
   * (v1, v2, and v3 traces without insertions or deletions). engine/trace/align.ts.
   */
  align: Int32Array | null; // [S+1, T]
  /** Per step and position, the block-causal attention block (a position sees blocks ≤ its own). */
  attnBlock: StepTensor<Int32Array>; // [S, T]
  topkIds: StepTensor<Int32Array>; // [S, G, K]
  topkProbs: StepTensor<Float32Array>; // [S, G, K]  (F16 in v1 files, decoded)
  saliency: StepTensor<Float32Array>; // [S, Ly, T]
  cached: StepTensor<Uint8Array>; // [S, Ly, T]
  /** The logit lens: per step, layer and generated position, that layer's top-1 (−1: not computed) and probability. */
  lensIds: StepTensor<Int32Array>; // [S, Ly, G]
  lensProbs: StepTensor<Float32Array>; // [S, Ly, G]  (F16, decoded)
  extras: Map<string, RawTensor>;
}
