import type { ParamSpec, StepView } from './types.js';
import type { PositionPrediction } from '../decode/predict.js';

export interface Ranked {
  p: number;
  pred: PositionPrediction;
}

/** The block's masked positions with their predictions, most confident first (ties: leftmost first). */
export function byConfidence(view: StepView): Ranked[] {
  return view.masked
    .map((p) => ({ p, pred: view.predictions[p - view.promptLength]! }))
    .sort((a, b) => b.pred.confidence - a.pred.confidence || a.p - b.p);
}
export const commitOf = (r: Ranked) => ({ position: r.p, token: r.pred.token });
/** A per-generated-position series of NaN, to fill where the strategy has something to say. */
export const series = (view: StepView) => new Float32Array(view.predictions.length).fill(NaN);

/** A probability threshold in (0, 1] (0 would commit everything), 0.9 by default as in Fast-dLLM. */
export const probability = (description: string, dflt = 0.9): ParamSpec => ({
  type: 'number',
  default: dflt,
  min: 0,
  max: 1,
  minExclusive: true,
  description,
});
