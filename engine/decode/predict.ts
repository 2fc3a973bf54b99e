/** What one forward pass says about one position, the input every strategy decides from. */
export interface PositionPrediction {
  /** Token chosen for the position (argmax, or argmax of Gumbel-perturbed logits when temperature > 0). */
  token: number;
  /** Softmax probability of `token` under the unperturbed logits (LLaDA's x0_p). */
  confidence: number;
  entropy: number;
  topIds: Int32Array;
  topProbs: Float32Array;
}
