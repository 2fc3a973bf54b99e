import { z } from 'zod';
import { DlensError } from '../errors.js';
import type { Trace } from '../trace/trace.js';
import { DEFAULTS } from '../api/defaults.js';

/**
 * Learn2PD's learned filter, as a logistic regression on per-position features: does this position's current
 * prediction already equal the token it will finally get? Features are what a decoder has at the step; the same
 * function computes them from a live step (strategy) and from a recorded trace (training), so they cannot drift.
 */
export const FEATURES = ['confidence', 'margin', 'entropy', 'stable_run', 'block_offset'] as const;
export const MAX_RUN = 8;

export interface FeatureInput {
  confidence: number;
  top2: number;
  entropy: number;
  run: number;
  offset: number;
  blockLength: number;
}
export function features(x: FeatureInput): number[] {
  return [
    x.confidence,
    x.confidence - x.top2,
    x.entropy,
    Math.min(x.run, MAX_RUN) / MAX_RUN,
    Math.min(4, x.offset / Math.max(1, x.blockLength)),
  ];
}

export const FilterSchema = z.object({
  format: z.literal('dlens-filter/1'),
  features: z.array(z.string()),
  mean: z.array(z.number()),
  std: z.array(z.number()),
  weights: z.array(z.number()),
  bias: z.number(),
  examples: z.number().int(),
  positives: z.number().int(),
  train_accuracy: z.number(),
  traces: z.number().int(),
});
export type Filter = z.infer<typeof FilterSchema>;

export function score(f: Filter, x: number[]): number {
  let z = f.bias;
  for (let i = 0; i < x.length; i++) z += f.weights[i]! * ((x[i]! - f.mean[i]!) / f.std[i]!);
  return 1 / (1 + Math.exp(-z));
}

/** Examples from one trace: every masked position of the active block at every step whose prediction was recorded. */
export function traceExamples(t: Trace): { x: number[][]; y: number[] } {
  const { S, T, G, K, P } = t.dims;
  const final = t.state.subarray(S * T);
  const bl = t.manifest.block_length ?? DEFAULTS.blockLength;
  const x: number[][] = [],
    y: number[] = [];
  const ids = t.topkIds.full(),
    probs = t.topkProbs.full();
  if (!ids || !probs)
    throw new DlensError('this trace holds no top-k candidates (topk_ids, topk_probs): a filter learns from them');
  const lastTop = new Int32Array(G).fill(-1),
    run = new Int32Array(G);
  for (let s = 0; s < S; s++) {
    const bs = t.block[2 * s]!,
      be = t.block[2 * s + 1]!;
    for (let g = 0; g < G; g++) {
      const top = ids[(s * G + g) * K]!;
      if (top < 0) {
        lastTop[g] = -1;
        run[g] = 0;
        continue;
      }
      run[g] = top === lastTop[g] ? run[g]! + 1 : 0;
      lastTop[g] = top;
      const p = P + g;
      if (p < bs || p >= be || !t.masked[s * T + p]) continue;
      const conf = t.confidence[s * G + g]!;
      const top2 = K > 1 ? probs[(s * G + g) * K + 1]! : 0;
      x.push(
        features({
          confidence: conf,
          top2: Number.isNaN(top2) ? 0 : top2,
          entropy: t.entropy[s * G + g]!,
          run: run[g]!,
          offset: p - bs,
          blockLength: bl,
        }),
      );
      y.push(top === final[p] ? 1 : 0);
    }
  }
  return { x, y };
}

/** Full-batch gradient descent on standardised features with a little L2; deterministic. */
export function trainFilter(x: number[][], y: number[], traces: number, iters = 400, lr = 0.5, l2 = 1e-4): Filter {
  if (!x.length)
    throw new DlensError('no training examples: the traces hold no masked positions with recorded predictions');
  const d = x[0]!.length,
    n = x.length;
  const mean = Array.from({ length: d }, (_, j) => x.reduce((a, r) => a + r[j]!, 0) / n);
  const std = Array.from(
    { length: d },
    (_, j) => Math.sqrt(x.reduce((a, r) => a + (r[j]! - mean[j]!) ** 2, 0) / n) || 1,
  );
  const xs = x.map((r) => r.map((v, j) => (v - mean[j]!) / std[j]!));
  const w = new Array(d).fill(0);
  let b = 0;
  for (let it = 0; it < iters; it++) {
    const gw = new Array(d).fill(0);
    let gb = 0;
    for (let i = 0; i < n; i++) {
      let z = b;
      for (let j = 0; j < d; j++) z += w[j] * xs[i]![j]!;
      const e = 1 / (1 + Math.exp(-z)) - y[i]!;
      for (let j = 0; j < d; j++) gw[j] += e * xs[i]![j]!;
      gb += e;
    }
    for (let j = 0; j < d; j++) w[j] -= lr * (gw[j] / n + l2 * w[j]);
    b -= (lr * gb) / n;
  }
  const f: Filter = {
    format: 'dlens-filter/1',
    features: [...FEATURES],
    mean,
    std,
    weights: w,
    bias: b,
    examples: n,
    positives: y.reduce((a, v) => a + v, 0),
    train_accuracy: 0,
    traces,
  };
  f.train_accuracy = x.reduce((a, r, i) => a + ((score(f, r) > 0.5 ? 1 : 0) === y[i] ? 1 : 0), 0) / n;
  return f;
}
