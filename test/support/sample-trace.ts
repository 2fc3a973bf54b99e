import { writeTrace, type TraceInput } from '../../engine/trace/write.js';

/** The manifest of a hand-made trace: P prompt and G generated positions over S steps, mask id 1, vocabulary 10. */
export function handMadeManifest(
  P: number,
  G: number,
  S: number,
  o: Partial<TraceInput['manifest']> = {},
): TraceInput['manifest'] {
  return {
    format: 'dlens-trace/1',
    created: 'x',
    app: 't',
    model: { name: 'm', card: { vocab_size: 10 } },
    prompt: '',
    prompt_length: P,
    gen_length: G,
    strategy: { name: 's', params: {} },
    cache: { mode: 'none', params: {} },
    seed: 0,
    output: '',
    steps: S,
    nfe: S,
    wall_ms: 1,
    vocab: {},
    extras: {},
    complete: true,
    mask_token_id: 1,
    ...o,
  };
}

/** A small valid trace (3 steps, 2 prompt + 4 generated positions, top-2, one layer) for codec and fuzz tests. */
export function sampleTrace(overrides: Partial<TraceInput['manifest']> = {}): Uint8Array {
  return writeTrace(sampleTraceInput(overrides));
}

/** sampleTrace's tensors and manifest, before writing. */
export function sampleTraceInput(overrides: Partial<TraceInput['manifest']> = {}): TraceInput {
  const S = 3,
    P = 2,
    G = 4,
    T = P + G,
    K = 2,
    Ly = 1;
  const state = new Int32Array((S + 1) * T).fill(1);
  for (let s = 0; s <= S; s++) {
    state[s * T] = 5;
    state[s * T + 1] = 6;
  }
  // commit position 2 at step 1, 3 at step 2, 4 and 5 at step 3
  const commits: [number, number][] = [
    [2, 1],
    [3, 2],
    [4, 3],
    [5, 3],
  ];
  for (const [p, c] of commits) for (let s = c; s <= S; s++) state[s * T + p] = 7;
  const commitStep = new Int32Array([-1, -1, 1, 2, 3, 3]);
  const cached = new Uint8Array(S * Ly * T);
  cached.set([1, 1, 1, 1, 1, 1], 0);
  cached.set([1, 1, 0, 1, 1, 1], T);
  cached.set([1, 0, 0, 1, 1, 1], 2 * T);
  return {
    manifest: {
      format: 'dlens-trace/1',
      created: '2026-01-01T00:00:00Z',
      app: 'dlens test',
      model: { name: 'm', card: { vocab_size: 10 } },
      prompt: 'hi',
      prompt_length: P,
      gen_length: G,
      strategy: { name: 'low-confidence', params: {} },
      cache: { mode: 'none', params: {} },
      seed: 0,
      output: 'x',
      steps: S,
      nfe: S,
      wall_ms: 1,
      vocab: { '7': 'x' },
      extras: {},
      complete: true,
      mask_token_id: 1,
      ...overrides,
    },
    dims: { S, T, G, K, Ly, P },
    state,
    commitStep,
    topkIds: new Int32Array(S * G * K).fill(7),
    topkProbs: new Float32Array(S * G * K).fill(0.5),
    confidence: new Float32Array(S * G).fill(0.5),
    entropy: new Float32Array(S * G).fill(1),
    block: new Int32Array([2, 6, 2, 6, 2, 6]),
    stepMs: new Float32Array([1, 2, 3]),
    saliency: new Float32Array(S * Ly * T).fill(0.1),
    cached,
  };
}
