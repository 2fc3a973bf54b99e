import type { PositionPrediction } from '../decode/predict.js';
import type { ParamSpec, Params } from '../params.js';

export type { ParamSpec, Params };

/** What a strategy sees at one step: predictions for the masked positions of the active block. */
export interface StepView {
  step: number;
  /** Step index within the active block (0 at the block's first step). */
  blockStep: number;
  blockStart: number;
  blockEnd: number;
  /** Masked generated positions of the active block (absolute positions). */
  masked: number[];
  /** Prediction per generated position (index = position - promptLength); null where not computed. */
  predictions: (PositionPrediction | null)[];
  promptLength: number;
  /** LLaDA's schedule: how many tokens the fixed-steps rule commits this step. */
  scheduled: number;
  /** The steps each block is given (the run's steps over its blocks): schedules of their own (Dream's) use it. */
  stepsInBlock: number;
  /** A uniform [0,1) value per masked position, drawn from the seeded RNG (random remasking uses it). */
  random: number[];
  /** Text of a token id (for rules that look at what a token is: AdaBlock's delimiters). */
  tokenText(id: number): string;
  eosId: number;
  /** The run's nominal block length (adaptive strategies start from it). */
  blockLength: number;
  genLength: number;
  /** The run's steps (--steps): schedules that depend on progress (Prophet's phases) divide by it. */
  totalSteps: number;
  maskId: number;
  vocabSize: number;
  /**
   * The sequence as it stands before this step's decision (read only): revisiting strategies compare a committed
   * position's token with its prediction.
   */
  tokens: Int32Array;
  /**
   * Revisiting strategies only: the probability the pass gives the token each generated position now holds (index =
   * position - promptLength; NaN where masked or not computed), what ReMDM ranks committed tokens by.
   */
  held: Float32Array | null;
  /** Uniform-noise decodes: 1 where a position is undecided (its token is noise); null for masked diffusion. */
  noise: Uint8Array | null;
  /**
   * Uniform-noise strategies only: the pass's logits row of a generated position (null where not computed), for
   * rules that need the whole distribution (a tempered softmax, its entropy, a sample from it).
   */
  logits: ((position: number) => Float32Array | null) | null;
}

export interface Decision<S = unknown> {
  /** Absolute positions to commit now, each with the token to write. */
  commit: { position: number; token: number }[];
  /** Strategy-specific numbers to record this step, per generated position (NaN where none). */
  series?: Record<string, Float32Array>;
  /** What the strategy carries to its next step (credits, histories); the loop hands it back unchanged. */
  state?: S;
  /**
   * Rules that commit what passes a criterion (a threshold) and fall back to the most confident position when
   * nothing does: whether this step fell back. Recorded as extra.forced; the stall detector reads it.
   */
  forced?: boolean;
  /** Uniform noise: block positions that get a fresh noise token and become undecided (DiffusionGemma's renoising). */
  renoise?: { position: number; token: number }[];
  /** Committed generated positions of the block to mask again (ReMDM's remasking, WINO's failed verification). */
  remask?: number[];
  /** Committed generated positions of the block whose token becomes another (LLaDA 2.1's token-to-token edits). */
  edit?: { position: number; token: number }[];
  /**
   * Revisiting strategies: the block is finished. Their block goes on after its last masked position is committed
   * (edits may follow) until they say so.
   */
  done?: boolean;
}

/**
 * A decoding strategy: data (name, parameters, recorded series) plus a pure decision function. `P` is the type of
 * its resolved parameters, `S` the state it carries from step to step (undefined for memoryless rules).
 */
export interface Strategy<P extends Params = Params, S = unknown> {
  name: string;
  description: string;
  paper: string;
  params: Record<string, ParamSpec>;
  /** Extra series this strategy writes, named without the "extra." prefix. */
  series?: Record<string, { label: string; kind: string }>;
  /**
   * Which loop runs it: 'step' (default), one forward pass per step as LLaDA's generate.py; 'draft-verify'
   * (FreeDave), drafting several steps of `decide` and verifying them in one batched pass.
   */
  loop?: 'step' | 'draft-verify';
  /**
   * Strategies that change committed tokens (remask, edit): the loop fetches the logits to give them `held`, and a
   * block ends when they say `done` (or, with no masked position left, when a step changes nothing).
   */
  revisits?: boolean;
  /**
   * Strategies that look beyond the active block (Prophet's answer region, its fill of every masked position): the
   * loop predicts every generated position the pass computes and accepts commits anywhere there.
   */
  wide?: boolean;
  /**
   * 'uniform': the strategy decodes uniform-noise diffusion (DiffusionGemma): the generation starts as tokens drawn
   * uniformly from the vocabulary, undecided positions hold noise instead of a mask, the loop gives the strategy the
   * logits and two uniform draws per block position (`random`: [sample, noise] for each position in order), and the
   * block goes on until the strategy says `done`.
   */
  noise?: 'uniform';
  /** Initial carried state of a run (from the params; may read files named there, e.g. a learned filter). */
  initState?(params: P): S;
  /**
   * Adaptive block size: called after the first forward pass of a block with that pass's predictions (every still
   * masked position after the block start); returns the block's end. The loop then decodes until the block is done.
   */
  blockEnd?(view: StepView, params: P): number;
  /** Pure decision: the same view, params and carried state always give the same commits. */
  decide(view: StepView, params: P, state: S): Decision<S>;
}
