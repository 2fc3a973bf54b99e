import { readTrace, type Trace } from '../../engine/trace/trace.js';
import { writeTrace } from '../../engine/trace/write.js';
import { handMadeManifest } from './sample-trace.js';

/** The vocabulary of hand-made decodes: 0 EOS, 1 mask, then text and structure. */
export const V = { eos: 0, mask: 1, a: 2, b: 3, comma: 4, c: 5, space: 6, prompt: 7 } as const;
const VOCAB: Record<string, string> = { '0': '<eos>', '2': 'a', '3': 'b', '4': ',', '5': 'c', '6': ' ', '7': 'Q' };

export interface HandDecode {
  /** Final generated tokens. */
  tokens: number[];
  /** Per generated position, the step that commits it. */
  commits: number[];
  P?: number;
  /** Steps (default: the last commit + 1). */
  S?: number;
  /** Top-1 prediction at step s for generated position g (default: its final token while masked; -1 after). */
  top1?: (s: number, g: number) => number;
  confidence?: (s: number, g: number) => number;
  /** Per step, the block [start, end) in absolute positions (default: every generated position). */
  block?: (s: number) => [number, number];
  forced?: number[];
  /** Leave the top-k predictions out (a trace imported from a tool that records none). */
  noTopk?: boolean;
  strategy?: string;
  /** The task's reference answer, as a benchmark's trace records it. */
  reference?: string;
  /** A logit lens of this many layers: layer l's top-1 at step s for generated position g (−1: not computed). */
  lens?: { layers: number; top1: (s: number, l: number, g: number) => number };
}

/** A decode written as a .dlens trace and read back: what a detector or the divergence sees. */
export function handTrace(d: HandDecode): Trace {
  const P = d.P ?? 1,
    G = d.tokens.length,
    T = P + G;
  const S = d.S ?? Math.max(...d.commits) + 1;
  const state = new Int32Array((S + 1) * T).fill(V.mask);
  for (let s = 0; s <= S; s++) {
    for (let p = 0; p < P; p++) state[s * T + p] = V.prompt;
    d.tokens.forEach((t, g) => {
      if (s > d.commits[g]!) state[s * T + P + g] = t;
    });
  }
  const top1 = d.top1 ?? ((s, g) => (s <= d.commits[g]! ? d.tokens[g]! : -1));
  const topkIds = new Int32Array(S * G).map((_, i) => top1(Math.floor(i / G), i % G));
  const confidence = new Float32Array(S * G).map((_, i) =>
    topkIds[i]! < 0 ? NaN : (d.confidence?.(Math.floor(i / G), i % G) ?? 0.9),
  );
  const block = new Int32Array(2 * S);
  for (let s = 0; s < S; s++) block.set(d.block?.(s) ?? [P, T], 2 * s);
  const extras = new Map();
  const m = handMadeManifest(P, G, S, {
    format: 'dlens-trace/2',
    vocab: VOCAB,
    eos_token_id: V.eos,
    strategy: { name: d.strategy ?? 'low-confidence', params: {} },
  });
  if (d.reference !== undefined) m.task = { suite: 'hand', id: 'hand-0', reference: d.reference, score: null };
  if (d.forced) {
    extras.set('extra.forced', { dtype: 'F32', shape: [S], data: Float32Array.from(d.forced) });
    m.extras = { 'extra.forced': { label: 'forced', kind: 'series' } };
  }
  const Ly = d.lens?.layers ?? 1;
  const lensIds = d.lens
    ? Int32Array.from({ length: S * Ly * G }, (_, i) =>
        d.lens!.top1(Math.floor(i / (Ly * G)), Math.floor(i / G) % Ly, i % G),
      )
    : undefined;
  return readTrace(
    writeTrace({
      manifest: m,
      dims: { S, T, G, K: 1, Ly, P },
      lensIds,
      lensProbs: lensIds && Float32Array.from(lensIds, (id) => (id < 0 ? NaN : 0.5)),
      state,
      commitStep: Int32Array.from({ length: T }, (_, p) => (p < P ? -1 : d.commits[p - P]! + 1)),
      topkIds: d.noTopk ? undefined : topkIds,
      topkProbs: d.noTopk ? undefined : confidence,
      confidence: d.noTopk ? undefined : confidence,
      block,
      extras,
    }),
  );
}
