import type { ForwardOutputs } from '../model/load.js';
import type { PositionPrediction } from './predict.js';
import type { LensStep } from './recorder.js';
import { predictFromPass } from './row-stats.js';
import type { KvCache } from './kv-cache.js';
import type { Pass } from './pass.js';
import { isUndecided, type Run } from './run-state.js';

/**
 * A block-causal model's attention blocks (Run.attnBlocks) for a pass computing positions [q0, q0 + Q) against
 * `cached` positions, repeated for B sequences; nothing for other models, so their passes build no arrays.
 */
export function passBlocks(run: Run, cached: readonly number[], q0: number, Q: number, B = 1) {
  const b = run.attnBlocks;
  if (!b) return {};
  const q = b.subarray(q0, q0 + Q);
  const k = BigInt64Array.from([...cached.map((p) => b[p]!), ...q]);
  const repeat = (x: BigInt64Array) => BigInt64Array.from({ length: B * x.length }, (_, i) => x[i % x.length]!);
  return { queryBlocks: repeat(q), keyBlocks: repeat(k) };
}

/**
 * Runs the model on the current sequence: all of it when `cache` is null, else positions [bs, end) against the cache
 * (`end` is the block's end, or the sequence's when the policy recomputes the suffix). A shifted model (Dream)
 * predicts position bs from the row of bs − 1, so its cached pass also computes bs − 1 (which the cache then leaves
 * out, kv-cache.ts). Only the block's queries are weighted for saliency.
 */
export async function forwardPass(
  run: Run,
  bs: number,
  be: number,
  cache: KvCache | null,
  end: number = be,
  logits = false,
): Promise<Pass> {
  const full = cache === null;
  const q0 = full ? 0 : Math.max(0, bs - run.shift),
    Q = full ? run.T : end - q0,
    C = full ? 0 : (cache.positions[0]?.length ?? 0);
  const ids = new BigInt64Array(Q),
    pos = new BigInt64Array(Q),
    qw = new Float32Array(Q);
  for (let i = 0; i < Q; i++) {
    ids[i] = BigInt(run.state[q0 + i]!);
    pos[i] = BigInt(q0 + i);
    qw[i] = q0 + i >= bs && q0 + i < be ? 1 : 0;
  }
  const t = performance.now();
  const out = await run.model.forward({
    inputIds: ids,
    positionIds: pos,
    B: 1,
    Q,
    pastKeys: cache?.keys ?? new Float32Array(0),
    pastValues: cache?.values ?? new Float32Array(0),
    C,
    queryWeights: qw,
    // Attention blocks are per position; the cache's layers all hold the same positions when a model is block-causal
    // (only prefix caching applies to it).
    ...passBlocks(run, cache?.positions[0] ?? [], q0, Q),
    needLogits: logits || run.o.temperature > 0,
    ...(wantsLens(run) ? { lensRows: lensRowsOf(run.P, q0, Q) } : {}),
  });
  run.forwardMs += performance.now() - t;
  run.nfe++;
  return { out, full, q0, Q, C };
}

/**
 * Predictions per generated position (index = position - P; null where not computed): the block's, or with `wide`
 * every position the pass computed (recording them all shows delayed decoding). Only the block's masked positions
 * are sampled at temperature > 0, so recording does not change the random stream.
 */
export async function predictPositions(
  run: Run,
  pass: Pass,
  bs: number,
  be: number,
  wide: boolean,
): Promise<(PositionPrediction | null)[]> {
  const { P, G, MASK, o, state } = run,
    { q0, Q } = pass;
  const predictions: (PositionPrediction | null)[] = new Array(G).fill(null);
  // (A shifted model's row for q0 is not a prediction in a block pass: it would need the row before it.)
  const p0 = wide ? Math.max(P, pass.full ? q0 : bs) : bs,
    p1 = wide ? q0 + Q : be;
  const sampled = (r: number) => {
    const p = r + q0;
    return p >= bs && p < be && state[p] === MASK;
  };
  const rows = await predictFromPass(
    pass.out,
    p0 - q0,
    p1 - q0,
    run.model.card.vocab_size,
    o.topK,
    o.temperature,
    run.rng,
    MASK,
    sampled,
  );
  rows.forEach((r, i) => {
    predictions[p0 + i - P] = r;
  });
  return predictions;
}

/**
 * The probability the pass gives the token each committed generated position of the block holds (index = position
 * − P; NaN elsewhere): what revisiting strategies rank committed tokens by. Needs the pass's logits.
 */
export function heldProbabilities(run: Run, pass: Pass, bs: number, be: number): Float32Array {
  const { P, G, state } = run,
    V = run.model.card.vocab_size,
    logits = pass.out.logits;
  const out = new Float32Array(G).fill(NaN);
  for (let p = Math.max(bs, P, pass.q0); p < Math.min(be, pass.q0 + pass.Q); p++) {
    if (isUndecided(run, p)) continue;
    const row = (p - pass.q0) * V;
    let max = -Infinity,
      sum = 0;
    for (let v = 0; v < V; v++) max = Math.max(max, logits[row + v]!);
    for (let v = 0; v < V; v++) sum += Math.exp(logits[row + v]! - max);
    out[p - P] = Math.exp(logits[row + state[p]!]! - max) / sum;
  }
  return out;
}

/** Head-averaged attention that key j of the pass (cached keys first, then the computed ones) received in layer l. */
export function attentionReceived(pass: Pass, H: number) {
  const { saliency } = pass.out,
    N = pass.C + pass.Q;
  return (l: number, j: number) => {
    let m = 0;
    for (let h = 0; h < H; h++) m += saliency[(l * H + h) * N + j]!;
    return m / H;
  };
}

/**
 * The recorded saliency: attention received at absolute positions, per layer; NaN where neither cached nor computed.
 */
export function recordedSaliency(run: Run, pass: Pass, cache: KvCache | null): Float32Array {
  const { T } = run,
    { num_layers: Ly, num_heads: H } = run.model.card;
  const received = attentionReceived(pass, H);
  const sal = new Float32Array(Ly * T).fill(NaN);
  for (let l = 0; l < Ly; l++)
    for (let j = 0; j < pass.C + pass.Q; j++)
      sal[l * T + (j < pass.C ? cache!.positions[l]![j]! : pass.q0 + j - pass.C)] = received(l, j);
  return sal;
}

/** Whether this run fetches the logit lens: when it records, the model has it and the caller did not turn it off. */
export const wantsLens = (run: Run) => run.o.record && run.o.lens !== false && run.model.hasLens;

/** Of a pass whose rows are positions [q0, q0 + Q), the generated ones: rows [first, first + n) of each sequence. */
const generatedRows = (P: number, q0: number, Q: number) => {
  const first = Math.max(0, P - q0);
  return { first, n: Math.max(0, Q - first) };
};

/**
 * The rows a pass reads the logit lens out of: every generated position it computes, sequence after sequence, as
 * flat indices into the B·Q rows.
 */
export function lensRowsOf(P: number, q0: number, Q: number, B = 1): BigInt64Array {
  const { first, n } = generatedRows(P, q0, Q);
  const rows = new BigInt64Array(B * n);
  for (let b = 0; b < B; b++) for (let i = 0; i < n; i++) rows[b * n + i] = BigInt(b * Q + first + i);
  return rows;
}

/**
 * The recorded logit lens of sequence b of a pass whose rows are positions [q0, q0 + Q) and whose lens was read at
 * lensRowsOf(P, q0, Q, B): at the generated positions that have a prediction (the same positions as the top-k), per
 * layer. Null when the pass has no lens.
 */
export function recordedLens(
  run: Run,
  out: ForwardOutputs,
  predictions: readonly (PositionPrediction | null)[],
  q0: number,
  Q: number,
  b = 0,
  B = 1,
): LensStep | null {
  if (!out.lens) return null;
  const { P, G } = run,
    Ly = run.model.card.num_layers;
  const { first, n } = generatedRows(P, q0, Q),
    R = B * n;
  const ids = new Int32Array(Ly * G).fill(-1),
    probs = new Float32Array(Ly * G).fill(NaN);
  for (let g = 0; g < G; g++) {
    const q = P + g - q0;
    if (!predictions[g] || q < first || q >= Q) continue;
    for (let l = 0; l < Ly; l++) {
      const i = l * R + b * n + q - first;
      ids[l * G + g] = Number(out.lens.ids[i]!);
      probs[l * G + g] = out.lens.probs[i]!;
    }
  }
  return { ids, probs };
}

export type { Pass };
