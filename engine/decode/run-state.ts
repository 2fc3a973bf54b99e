/**
 * One decode's run and its transitions: the state a decoding loop carries (the sequence, the step, the recorder, the
 * random stream) and the moves every loop makes on it — start, view a step, commit, fill after EOS, end a step,
 * finish. The loops (run.ts, draft-verify.ts) are written in these moves, as LLaDA's generate.py is in tensors.
 */
import { DlensError } from '../errors.js';
import type { LoadedModel } from '../model/load.js';
import type { CacheMode } from '../cache/types.js';
import type { PositionPrediction } from './predict.js';
import type { StepView } from '../strategies/types.js';
import { Recorder } from './recorder.js';
import { Rng } from '../util/rng.js';

export interface DecodeOptions {
  genLength: number;
  blockLength: number;
  steps: number;
  temperature: number;
  seed: number;
  topK: number;
  cache: CacheMode;
  cacheParams?: Record<string, number>;
  record: boolean;
  signal?: AbortSignal;
  onStep?: (p: { step: number; totalSteps: number; committed: number; genLength: number; elapsedMs: number }) => void;
  /** Start from this sequence (counterfactual branching); masked positions are decoded. */
  initialState?: Int32Array;
  /** Learn2PD's End-of-Text Prediction: once EOS is committed, every later position becomes EOS at that step. */
  eot?: boolean;
  /** Record the logit lens when the model has it (default); false skips its cost (docs/diagnostics.md). */
  lens?: boolean;
}

export interface DecodeResult {
  state: Int32Array;
  steps: number;
  nfe: number;
  wallMs: number;
  /** Of wallMs, the time inside the model's forward passes; the rest is the decoding loop and recording. */
  forwardMs: number;
  complete: boolean;
  incompleteReason?: string;
  recorder: Recorder;
  commitStep: Int32Array;
  peakCacheBytes: number;
  /** Committed tokens that changed, rows [step, position, from, to] (`to` the mask id when remasked). */
  edits: Int32Array;
}

/** One decode in progress: the sequence, what was committed when, the recorder and the counters both loops keep. */
export interface Run {
  model: LoadedModel;
  o: DecodeOptions;
  /** Prompt length, generated length, all positions, the mask token id. */
  P: number;
  G: number;
  T: number;
  MASK: number;
  state: Int32Array;
  commitStep: Int32Array;
  /** Rows [step, position, from, to] of every change to a committed token, in order (trace-format.md `edits`). */
  edits: number[];
  rec: Recorder;
  rng: Rng;
  stepsPerBlock: number;
  step: number;
  nfe: number;
  forwardMs: number;
  peakCacheBytes: number;
  t0: number;
  /** 1 for a model whose row i − 1 predicts position i (Dream; the graph shifts full passes), else 0. */
  shift: 0 | 1;
  /**
   * Uniform-noise decodes (strategies with `noise: 'uniform'`, DiffusionGemma's renoising): 1 where a position is
   * still undecided, its token a sample of noise; null for masked diffusion, where undecided means the mask token.
   */
  noise: Uint8Array | null;
  /** Block-causal models: each position's attention block, the prompt padded on the left to whole blocks as dllm's
   * BD3LM sampler pads it (so generation starts a block). Null for bidirectional models. */
  attnBlocks: BigInt64Array | null;
}

/** The attention blocks of a block-causal model (see Run.attnBlocks) and the checks its decode needs. */
function attentionBlocks(model: LoadedModel, P: number, T: number, o: DecodeOptions): BigInt64Array | null {
  const { card } = model;
  if (card.attention !== 'block-causal' || card.block_size === undefined) return null;
  const b = card.block_size;
  if (o.blockLength !== b)
    throw new DlensError(
      `${card.name} attends in blocks of ${b} positions (block-causal) and decodes block by block: use --block-length ${b}`,
    );
  const pad = (b - (P % b)) % b;
  return BigInt64Array.from({ length: T }, (_, p) => BigInt(Math.floor((p + pad) / b)));
}

/** Checks LLaDA's constraints on gen length, block length and steps; the messages say what to change. */
export function validateSchedule(
  o: { genLength: number; blockLength: number; steps: number },
  maxPositions: number,
  promptLength: number,
) {
  const { genLength: g, blockLength: b, steps: s } = o;
  if (!Number.isInteger(g) || g < 1) throw new DlensError(`--gen-length must be a positive integer, got ${g}`);
  if (!Number.isInteger(b) || b < 1) throw new DlensError(`--block-length must be a positive integer, got ${b}`);
  if (!Number.isInteger(s) || s < 1) throw new DlensError(`--steps must be a positive integer, got ${s}`);
  if (g % b !== 0)
    throw new DlensError(
      `--gen-length ${g} is not a multiple of --block-length ${b}: LLaDA decodes whole blocks; use for example --gen-length ${Math.ceil(g / b) * b}`,
    );
  const blocks = g / b;
  if (s % blocks !== 0)
    throw new DlensError(
      `--steps ${s} cannot be split evenly over ${blocks} blocks (gen length ${g} / block length ${b}): use a multiple of ${blocks}, for example --steps ${Math.max(blocks, Math.round(s / blocks) * blocks)}`,
    );
  if (s > g)
    throw new DlensError(
      `--steps ${s} exceeds --gen-length ${g}: at least one token must be committed per step; use --steps ${g} or fewer`,
    );
  if (promptLength + g > maxPositions)
    throw new DlensError(
      `prompt (${promptLength} tokens) plus gen length ${g} exceeds the model's ${maxPositions} positions; shorten the prompt or lower --gen-length`,
    );
}

/**
 * The prompt followed by masks (or a branch's state), checked against the model; what both loops start from. A
 * uniform-noise decode starts from tokens drawn uniformly from the vocabulary instead, all undecided.
 */
export function startRun(model: LoadedModel, promptIds: number[], o: DecodeOptions, uniform = false): Run {
  const { card } = model;
  const P = promptIds.length,
    G = o.genLength,
    T = P + G,
    MASK = card.mask_token_id;
  validateSchedule(o, card.max_positions, P);
  if (card.top_k !== undefined && o.topK > card.top_k)
    throw new DlensError(
      `--top-k ${o.topK}: ${card.name}'s graph reports its top ${card.top_k} candidates per position; use --top-k ${card.top_k} or fewer (or convert it again with a larger --top-k)`,
    );
  const state = new Int32Array(T).fill(MASK);
  state.set(promptIds, 0);
  if (o.initialState) {
    if (o.initialState.length !== T)
      throw new DlensError(`branch state has ${o.initialState.length} positions, this run has ${T}`);
    state.set(o.initialState);
  }
  const rng = new Rng(o.seed);
  const noise = uniform ? uniformCanvas(state, P, card.vocab_size, rng, !!o.initialState) : null;
  const commitStep = new Int32Array(T).fill(-1);
  for (let i = P; i < T; i++) if (!noise && state[i] !== MASK) commitStep[i] = 0;
  const rec = new Recorder(T, P, o.topK, card.num_layers, o.record);
  rec.initial(state, noise);
  return {
    model,
    o,
    P,
    G,
    T,
    MASK,
    state,
    commitStep,
    edits: [],
    rec,
    rng,
    noise,
    shift: card.shifted_logits ? 1 : 0,
    attnBlocks: attentionBlocks(model, P, T, o),
    stepsPerBlock: o.steps / (G / o.blockLength),
    step: 0,
    nfe: 0,
    forwardMs: 0,
    peakCacheBytes: 0,
    t0: performance.now(),
  };
}

/** Whether position p is undecided: noise in a uniform-noise decode, else the mask token. */
export const isUndecided = (run: Run, p: number) => (run.noise ? run.noise[p] === 1 : run.state[p] === run.MASK);

/** Undecided positions in [from, to), in order. */
export function undecidedIn(run: Run, from: number, to: number): number[] {
  if (!run.noise) return maskedIn(run.state, from, to, run.MASK);
  const out: number[] = [];
  for (let i = from; i < to; i++) if (run.noise[i]) out.push(i);
  return out;
}

/** Fills the generation with tokens drawn uniformly from the vocabulary, all undecided: a uniform-noise start. */
function uniformCanvas(state: Int32Array, P: number, V: number, rng: Rng, branched: boolean): Uint8Array {
  if (branched)
    throw new DlensError('a uniform-noise decode starts from noise: it cannot continue another trace (--from)');
  const noise = new Uint8Array(state.length);
  for (let i = P; i < state.length; i++) {
    state[i] = Math.floor(rng.next() * V);
    noise[i] = 1;
  }
  return noise;
}

/** Masked positions in [from, to), in order. */
export function maskedIn(state: Int32Array, from: number, to: number, MASK: number): number[] {
  const out: number[] = [];
  for (let i = from; i < to; i++) if (state[i] === MASK) out.push(i);
  return out;
}

export function countMasked(state: Int32Array, P: number, MASK: number) {
  let n = 0;
  for (let i = P; i < state.length; i++) if (state[i] === MASK) n++;
  return n;
}

/** This step's facts, from which stepView builds what the strategy sees. */
export interface StepFacts {
  blockStep: number;
  bs: number;
  be: number;
  masked: number[];
  predictions: (PositionPrediction | null)[];
  scheduled: number;
  random: number[];
  /** Revisiting strategies: the probability of each generated position's held token (StepView.held). */
  held?: Float32Array | null;
  /** Uniform-noise strategies: the pass's logits row of a position (StepView.logits). */
  logits?: ((position: number) => Float32Array | null) | null;
}

/** What a strategy sees at one step (strategies/types.ts StepView), from the run and this step's facts. */
export function stepView(run: Run, s: StepFacts): StepView {
  return {
    step: run.step,
    blockStep: s.blockStep,
    blockStart: s.bs,
    blockEnd: s.be,
    masked: s.masked,
    predictions: s.predictions,
    promptLength: run.P,
    scheduled: s.scheduled,
    stepsInBlock: run.stepsPerBlock,
    random: s.random,
    tokenText: (id) => run.model.tokenText(id),
    eosId: run.model.card.eos_token_id,
    blockLength: run.o.blockLength,
    genLength: run.G,
    totalSteps: run.o.steps,
    maskId: run.MASK,
    vocabSize: run.model.card.vocab_size,
    tokens: run.state,
    held: s.held ?? null,
    noise: run.noise,
    logits: s.logits ?? null,
  };
}

/** Writes a strategy's commits into the sequence; a commit outside the block's masked positions is a strategy bug. */
export function applyCommits(
  run: Run,
  commits: { position: number; token: number }[],
  bs: number,
  be: number,
  strategyName: string,
) {
  applyDecision(run, { commit: commits }, [bs, be], strategyName);
}

/**
 * Writes a decision into the sequence: commits of masked positions in `range` (the block, or every generated
 * position for a wide strategy), then edits and remasks of committed generated positions of the block. Each change
 * to a committed token becomes an `edits` row; `commitStep` keeps each position's final commit (−1 when remasked).
 * A decision outside these rules, or naming a position twice, is a strategy bug.
 */
export function applyDecision(
  run: Run,
  d: {
    commit: { position: number; token: number }[];
    edit?: { position: number; token: number }[];
    remask?: number[];
    renoise?: { position: number; token: number }[];
  },
  [lo, hi]: [number, number],
  strategyName: string,
  block: [number, number] = [lo, hi],
): number {
  const { state, MASK, noise } = run;
  const seen = new Set<number>();
  const bug = (what: string, p: number): never => {
    throw new Error(
      `strategy ${strategyName} ${what} position ${p}, which ${seen.has(p) ? 'it already named this step' : 'is not allowed there'}`,
    );
  };
  const once = (p: number, what: string) => {
    if (seen.has(p)) bug(what, p);
    seen.add(p);
  };
  const inBlock = (p: number) => p >= Math.max(block[0], run.P) && p < block[1];
  const decided = (p: number) => !isUndecided(run, p);
  for (const { position: p, token } of d.commit) {
    if (p < lo || p >= hi || decided(p))
      throw new Error(
        `strategy ${strategyName} committed position ${p}, which is not an undecided position of block [${lo}, ${hi})`,
      );
    once(p, 'committed');
    state[p] = token;
    if (noise) noise[p] = 0;
    run.commitStep[p] = run.step + 1;
  }
  for (const { position: p, token } of d.edit ?? []) {
    // (In a uniform-noise decode the mask token, if the vocabulary has one, is a token like any other.)
    if (!inBlock(p) || !decided(p) || seen.has(p) || (!noise && token === MASK) || token === state[p]) bug('edited', p);
    once(p, 'edited');
    run.edits.push(run.step, p, state[p]!, token);
    state[p] = token;
    run.commitStep[p] = run.step + 1;
  }
  reopen(run, d, inBlock, decided, once, bug, seen);
  return seen.size;
}

/** A decision's remasks (masked diffusion) and re-noised positions (uniform noise): undecided again, each recorded. */
function reopen(
  run: Run,
  d: { remask?: number[]; renoise?: { position: number; token: number }[] },
  inBlock: (p: number) => boolean,
  decided: (p: number) => boolean,
  once: (p: number, what: string) => void,
  bug: (what: string, p: number) => never,
  seen: Set<number>,
) {
  const { state, MASK, noise } = run;
  for (const p of d.remask ?? []) {
    if (noise || !inBlock(p) || !decided(p) || seen.has(p)) bug('remasked', p);
    once(p, 'remasked');
    run.edits.push(run.step, p, state[p]!, MASK);
    state[p] = MASK;
    run.commitStep[p] = -1;
  }
  for (const { position: p, token } of d.renoise ?? []) {
    if (!noise || !inBlock(p) || seen.has(p)) bug('renoised', p);
    once(p, 'renoised');
    if (!noise![p]) run.edits.push(run.step, p, state[p]!, token);
    state[p] = token;
    noise![p] = 1;
    run.commitStep[p] = -1;
  }
}

/** End-of-Text Prediction: the text ends at the first committed EOS, so every masked position after it is EOS now. */
export function fillAfterEos(run: Run) {
  const { state, commitStep, P, T } = run,
    eosId = run.model.card.eos_token_id;
  let eos = -1;
  for (let i = P; i < T; i++)
    if (state[i] === eosId && commitStep[i]! > 0) {
      eos = i;
      break;
    }
  if (eos >= 0)
    for (let i = eos + 1; i < T; i++)
      if (isUndecided(run, i)) {
        state[i] = eosId;
        if (run.noise) run.noise[i] = 0;
        commitStep[i] = run.step + 1;
      }
}

/** Counts the step, reports progress; `totalSteps` is what the progress bar counts towards. */
export function endStep(run: Run, totalSteps: number) {
  run.step++;
  run.o.onStep?.({
    step: run.step,
    totalSteps,
    committed: run.G - undecidedIn(run, run.P, run.T).length,
    genLength: run.G,
    elapsedMs: performance.now() - run.t0,
  });
}

export function finishRun(run: Run, reason: string | undefined): DecodeResult {
  const done = undecidedIn(run, run.P, run.T).length === 0;
  return {
    state: run.state,
    steps: run.step,
    nfe: run.nfe,
    wallMs: performance.now() - run.t0,
    forwardMs: run.forwardMs,
    complete: done && !reason,
    incompleteReason: reason ?? (done ? undefined : 'not all positions committed'),
    recorder: run.rec,
    commitStep: run.commitStep,
    peakCacheBytes: run.peakCacheBytes,
    edits: Int32Array.from(run.edits),
  };
}
