import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import type { Rng } from '../util/rng.js';
import type { ForwardOutputs } from '../model/load.js';
import { REPO_ROOT } from '../model/load.js';
import type { PositionPrediction } from './predict.js';
import { gumbelArgmax } from './sample.js';

/**
 * Softmax statistics of many logits rows at once (top K, entropy, log-partition), computed by a tiny ONNX graph
 * (assets/graphs/row-stats.onnx) so onnxruntime's vectorised kernels do the O(V) work: recording every position at
 * every step then costs a few percent of a run instead of a quarter. `predictRow` (test/support/predict-row.ts) is the
 * scalar
 * reference these results are tested against.
 */
let session: Promise<ort.InferenceSession> | null = null;
const GRAPH = join(REPO_ROOT, 'assets', 'graphs', 'row-stats.onnx');
// Not -Infinity: keeps the mask token out of the top K without NaN anywhere.
const EXCLUDED = -1e30;

/** The graph's `bias` input: 0, and EXCLUDED at the mask token (never a candidate, still in the softmax). */
let bias: { V: number; maskId: number; t: ort.Tensor } | null = null;
function candidateBias(V: number, maskId: number): ort.Tensor {
  if (bias?.V !== V || bias.maskId !== maskId) {
    const b = new Float32Array(V);
    if (maskId >= 0 && maskId < V) b[maskId] = EXCLUDED;
    bias = { V, maskId, t: new ort.Tensor('float32', b, [V]) };
  }
  return bias.t;
}

function rowStatsSession() {
  session ??= ort.InferenceSession.create(GRAPH, { graphOptimizationLevel: 'all', executionMode: 'sequential' });
  return session;
}

/**
 * Predictions for rows [r0, r1) of a [*, V] logits buffer. The mask token never wins (committing it would leave the
 * position masked forever), but its probability stays in the softmax, as in the papers' decoders. With temperature
 * > 0 the token of each row `sample` accepts is the argmax of Gumbel-perturbed logits (LLaDA's add_gumbel_noise)
 * and its confidence is its unperturbed probability; other rows (recorded only, never committed) keep the top-1, so
 * recording does not change the random stream.
 */
export async function predictRows(
  logits: Float32Array,
  r0: number,
  r1: number,
  V: number,
  K: number,
  temperature: number,
  rng: Rng | null,
  maskId = -1,
  sample: (row: number) => boolean = () => true,
): Promise<PositionPrediction[]> {
  const N = r1 - r0;
  if (N <= 0) return [];
  const rows = logits.subarray(r0 * V, r1 * V);
  const k = Math.min(K, V);
  const s = await rowStatsSession();
  const out = await s.run({
    logits: new ort.Tensor('float32', rows, [N, V]),
    k: new ort.Tensor('int64', BigInt64Array.from([BigInt(k)]), [1]),
    bias: candidateBias(V, maskId),
  });
  const ids = out.top_ids!.data as BigInt64Array,
    probs = out.top_probs!.data as Float32Array;
  const ent = out.entropy!.data as Float32Array,
    logZ = out.log_z!.data as Float32Array;
  const res: PositionPrediction[] = new Array(N);
  for (let i = 0; i < N; i++) {
    const { topIds, topProbs } = topCandidates(ids, probs, i * k, k, K);
    let token = topIds[0]!,
      confidence = topProbs[0]!;
    if (temperature > 0 && rng && sample(r0 + i)) {
      token = gumbelArgmax(rows, i * V, V, temperature, rng, maskId);
      confidence = Math.exp(rows[i * V + token]! - logZ[i]!);
    }
    res[i] = { token, confidence, entropy: ent[i]!, topIds, topProbs };
  }
  return res;
}

/** A row's first k candidates from `ids`/`probs` at `at`, as K-long arrays (-1 and NaN past k). */
function topCandidates(ids: BigInt64Array, probs: Float32Array, at: number, k: number, K: number) {
  const topIds = new Int32Array(K).fill(-1),
    topProbs = new Float32Array(K).fill(NaN);
  for (let j = 0; j < k; j++) {
    topIds[j] = Number(ids[at + j]!);
    topProbs[j] = probs[at + j]!;
  }
  return { topIds, topProbs };
}

/**
 * Predictions for rows [r0, r1) of a forward pass: from a v2 graph's own statistics when its logits were not fetched
 * (greedy decoding), else from the logits as above.
 */
export async function predictFromPass(
  out: ForwardOutputs,
  r0: number,
  r1: number,
  V: number,
  K: number,
  temperature: number,
  rng: Rng | null,
  maskId = -1,
  sample: (row: number) => boolean = () => true,
): Promise<PositionPrediction[]> {
  const st = out.stats;
  if (out.logits.length > 0 || !st) return predictRows(out.logits, r0, r1, V, K, temperature, rng, maskId, sample);
  const k = Math.min(K, st.K);
  return Array.from({ length: Math.max(0, r1 - r0) }, (_, i) => {
    const r = r0 + i;
    const { topIds, topProbs } = topCandidates(st.topIds, st.topProbs, r * st.K, k, K);
    return { token: topIds[0]!, confidence: topProbs[0]!, entropy: st.entropy[r]!, topIds, topProbs };
  });
}
