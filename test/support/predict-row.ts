import type { Rng } from '../../engine/util/rng.js';
import { gumbelArgmax } from '../../engine/decode/sample.js';
import type { PositionPrediction } from '../../engine/decode/predict.js';

/**
 * The scalar reference of engine/decode/row-stats.ts (which computes the same statistics for many rows at once in
 * onnxruntime): one logits row's max, log-sum-exp, entropy and top K in a single pass over the vocabulary.
 */
export function predictRow(
  logits: Float32Array,
  offset: number,
  V: number,
  K: number,
  temperature: number,
  rng: Rng | null,
  maskId = -1,
): PositionPrediction {
  // The mask token is never a prediction (committing it would leave the position masked forever), but it stays in the
  // softmax: probabilities are the model's, as the papers' decoders compute confidence.
  let max = -Infinity;
  for (let v = 0; v < V; v++) {
    const l = logits[offset + v]!;
    if (l > max) max = l;
  }
  let sum = 0,
    sumLE = 0;
  const topIds = new Int32Array(K).fill(-1);
  const topVals = new Float32Array(K).fill(-Infinity);
  for (let v = 0; v < V; v++) {
    const l = logits[offset + v]!;
    // Terms below e^-30 change neither the sum nor the entropy at float32 precision; skipping their exp()
    // makes recording every position at every step cheap next to the forward pass.
    const d = l - max;
    if (d > -30) {
      const e = Math.exp(d);
      sum += e;
      sumLE += e * d;
    }
    if (v !== maskId && l > topVals[K - 1]!) {
      let j = K - 1;
      while (j > 0 && topVals[j - 1]! < l) {
        topVals[j] = topVals[j - 1]!;
        topIds[j] = topIds[j - 1]!;
        j--;
      }
      topVals[j] = l;
      topIds[j] = v;
    }
  }
  const logZ = Math.log(sum);
  const topProbs = new Float32Array(K);
  for (let j = 0; j < K; j++) topProbs[j] = topIds[j]! < 0 ? NaN : Math.exp(topVals[j]! - max - logZ);
  const entropy = logZ - sumLE / sum;
  let token = topIds[0]!;
  if (temperature > 0 && rng) {
    token = gumbelArgmax(logits, offset, V, temperature, rng, maskId);
  }
  const confidence = token === topIds[0] ? topProbs[0]! : Math.exp(logits[offset + token]! - max - logZ);
  return { token, confidence, entropy, topIds, topProbs };
}
