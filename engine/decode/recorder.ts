import type { PositionPrediction } from './predict.js';

/** What a decoding loop hands the recorder after each step. */
export interface RecordedStep {
  state: Int32Array;
  /** Uniform-noise decodes: 1 where a position is undecided after the step. */
  noise?: Uint8Array | null;
  block: [number, number];
  ms: number;
  predictions: (PositionPrediction | null)[];
  saliency: Float32Array | null;
  cached: Uint8Array | null;
  lens?: LensStep | null;
  series?: Record<string, Float32Array>;
  values?: Record<string, number>;
  refresh?: boolean;
}

/**
 * Accumulates the per-step tensors of a trace (docs/trace-format.md) in growable arrays,
 * so a run cancelled at any step can still be written as a valid trace.
 */
export class Recorder {
  readonly states: Int32Array[] = [];
  readonly topkIds: Int32Array[] = [];
  readonly topkProbs: Float32Array[] = [];
  readonly confidence: Float32Array[] = [];
  readonly entropy: Float32Array[] = [];
  readonly blocks: [number, number][] = [];
  readonly stepMs: number[] = [];
  readonly saliency: Float32Array[] = [];
  readonly cached: Uint8Array[] = [];
  /** The logit lens per step, [Ly, G] each; empty unless a step brought one (a model converted with --lens). */
  readonly lensIds: Int32Array[] = [];
  readonly lensProbs: Float32Array[] = [];
  readonly series = new Map<string, Float32Array[]>();
  /** One number per step (cache bytes held, say), written as extra.NAME of shape [S]. */
  readonly stepValues = new Map<string, number[]>();
  readonly refreshSteps: number[] = [];
  readonly tokenIds = new Set<number>();
  /** Uniform-noise decodes: which positions were undecided in each state ([S+1] rows of [T]); empty otherwise. */
  readonly masked: Uint8Array[] = [];

  constructor(
    readonly T: number,
    readonly P: number,
    readonly K: number,
    readonly Ly: number,
    readonly enabled = true,
  ) {}

  get G() {
    return this.T - this.P;
  }

  initial(state: Int32Array, noise: Uint8Array | null = null) {
    this.states.push(state.slice());
    if (noise) this.masked.push(noise.slice());
    for (const t of state) this.tokenIds.add(t);
  }

  step(args: RecordedStep) {
    if (args.refresh) this.refreshSteps.push(this.stepMs.length);
    for (const [k, v] of Object.entries(args.values ?? {})) {
      if (!this.stepValues.has(k)) this.stepValues.set(k, Array(this.stepMs.length).fill(NaN));
      this.stepValues.get(k)!.push(v);
    }
    // A value a step does not give (a rule that forced nothing because it had nothing masked) is NaN there.
    for (const arr of this.stepValues.values()) if (arr.length <= this.stepMs.length) arr.push(NaN);
    this.states.push(args.state.slice());
    if (args.noise) this.masked.push(args.noise.slice());
    for (const p of args.state) this.tokenIds.add(p);
    this.blocks.push(args.block);
    this.stepMs.push(args.ms);
    if (!this.enabled) return;
    const { G, K } = this;
    const ids = new Int32Array(G * K).fill(-1),
      probs = new Float32Array(G * K).fill(NaN);
    const conf = new Float32Array(G).fill(NaN),
      ent = new Float32Array(G).fill(NaN);
    args.predictions.forEach((pr, g) => {
      if (!pr) return;
      ids.set(pr.topIds.subarray(0, K), g * K);
      probs.set(pr.topProbs.subarray(0, K), g * K);
      conf[g] = pr.confidence;
      ent[g] = pr.entropy;
      for (let k = 0; k < K; k++) if (pr.topIds[k]! >= 0) this.tokenIds.add(pr.topIds[k]!);
    });
    this.topkIds.push(ids);
    this.topkProbs.push(probs);
    this.confidence.push(conf);
    this.entropy.push(ent);
    this.saliency.push(args.saliency ?? new Float32Array(this.Ly * this.T).fill(NaN));
    this.cached.push(args.cached ?? new Uint8Array(this.Ly * this.T));
    if (args.lens) {
      // Steps before the first lens (none in practice: a run fetches it at every step or never) stay empty.
      while (this.lensIds.length < this.stepMs.length - 1) this.pushLens(null);
      this.pushLens(args.lens);
    } else if (this.lensIds.length) this.pushLens(null);
    for (const [k, v] of Object.entries(args.series ?? {})) {
      if (!this.series.has(k))
        this.series.set(
          k,
          Array.from({ length: this.stepMs.length - 1 }, () => new Float32Array(G).fill(NaN)),
        );
      this.series.get(k)!.push(v);
    }
    for (const arr of this.series.values())
      if (arr.length < this.stepMs.length) arr.push(new Float32Array(G).fill(NaN));
  }

  private pushLens(lens: LensStep | null) {
    const n = this.Ly * this.G;
    this.lensIds.push(lens?.ids ?? new Int32Array(n).fill(-1));
    this.lensProbs.push(lens?.probs ?? new Float32Array(n).fill(NaN));
    if (lens) for (const id of lens.ids) if (id >= 0) this.tokenIds.add(id);
  }
}

/** One step's logit lens over the generated positions: per layer, the top-1 id (−1: not computed) and probability. */
export interface LensStep {
  ids: Int32Array; // [Ly, G]
  probs: Float32Array; // [Ly, G]
}

export function concat<T extends Int32Array | Float32Array | Uint8Array>(
  parts: T[],
  each: number,
  ctor: new (n: number) => T,
): T {
  const out = new ctor(parts.length * each);
  parts.forEach((p, i) => out.set(p, i * each));
  return out;
}
