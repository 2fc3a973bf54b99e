import { Rng } from '../util/rng.js';
import { DlensError } from '../errors.js';
import type { LoadedModel } from '../model/load.js';
import type { Strategy } from '../strategies/types.js';
import type { CacheMode } from '../cache/types.js';
import { numTransferTokens } from './schedule.js';
import { predictRow, type PositionPrediction } from './predict.js';
import { Recorder } from './recorder.js';

export interface DecodeOptions {
  genLength: number;
  blockLength: number;
  steps: number;
  temperature: number;
  seed: number;
  topK: number;
  cache: CacheMode;
  record: boolean;
  signal?: AbortSignal;
  onStep?: (p: { step: number; totalSteps: number; committed: number; genLength: number; elapsedMs: number }) => void;
  /** Start from this sequence (counterfactual branching); masked positions are decoded. */
  initialState?: Int32Array;
}

export interface DecodeResult {
  state: Int32Array;
  steps: number;
  nfe: number;
  wallMs: number;
  complete: boolean;
  incompleteReason?: string;
  recorder: Recorder;
  commitStep: Int32Array;
}

/** Checks LLaDA's constraints on gen length, block length and steps; the messages say what to change. */
export function validateSchedule(o: { genLength: number; blockLength: number; steps: number }, maxPositions: number, promptLength: number) {
  const { genLength: g, blockLength: b, steps: s } = o;
  if (!Number.isInteger(g) || g < 1) throw new DlensError(`--gen-length must be a positive integer, got ${g}`);
  if (!Number.isInteger(b) || b < 1) throw new DlensError(`--block-length must be a positive integer, got ${b}`);
  if (!Number.isInteger(s) || s < 1) throw new DlensError(`--steps must be a positive integer, got ${s}`);
  if (g % b !== 0) throw new DlensError(`--gen-length ${g} is not a multiple of --block-length ${b}: LLaDA decodes whole blocks; use for example --gen-length ${Math.ceil(g / b) * b}`);
  const blocks = g / b;
  if (s % blocks !== 0) throw new DlensError(`--steps ${s} cannot be split evenly over ${blocks} blocks (gen length ${g} / block length ${b}): use a multiple of ${blocks}, for example --steps ${Math.max(blocks, Math.round(s / blocks) * blocks)}`);
  if (s > g) throw new DlensError(`--steps ${s} exceeds --gen-length ${g}: at least one token must be committed per step; use --steps ${g} or fewer`);
  if (promptLength + g > maxPositions) throw new DlensError(`prompt (${promptLength} tokens) plus gen length ${g} exceeds the model's ${maxPositions} positions; shorten the prompt or lower --gen-length`);
}

/**
 * LLaDA's semi-autoregressive block decoding (generate.py), one forward pass per step in cache mode none.
 * The strategy decides which masked positions of the active block to commit from this step's predictions.
 */
export async function decode(model: LoadedModel, promptIds: number[], strategy: Strategy, params: Record<string, number | boolean | string>, o: DecodeOptions): Promise<DecodeResult> {
  const { card } = model;
  const P = promptIds.length, G = o.genLength, T = P + G, V = card.vocab_size, Ly = card.num_layers, H = card.num_heads;
  const MASK = card.mask_token_id;
  validateSchedule(o, card.max_positions, P);
  if (o.cache !== 'none') throw new DlensError(`cache mode "${o.cache}" is not available yet; use --cache none`);
  const state = new Int32Array(T).fill(MASK);
  state.set(promptIds, 0);
  if (o.initialState) {
    if (o.initialState.length !== T) throw new DlensError(`branch state has ${o.initialState.length} positions, this run has ${T}`);
    state.set(o.initialState);
  }
  const commitStep = new Int32Array(T).fill(-1);
  for (let i = P; i < T; i++) if (state[i] !== MASK) commitStep[i] = 0;
  const rec = new Recorder(T, P, o.topK, Ly, o.record);
  rec.initial(state);
  const rng = new Rng(o.seed);
  const numBlocks = G / o.blockLength, stepsPerBlock = o.steps / numBlocks;
  const posIds = new BigInt64Array(T); for (let i = 0; i < T; i++) posIds[i] = BigInt(i);
  const empty = new Float32Array(0);
  let step = 0, nfe = 0;
  const t0 = performance.now();
  let reason: string | undefined;
  outer: for (let b = 0; b < numBlocks; b++) {
    const bs = P + b * o.blockLength, be = bs + o.blockLength;
    let maskedInBlock = 0;
    for (let i = bs; i < be; i++) if (state[i] === MASK) maskedInBlock++;
    const schedule = numTransferTokens(maskedInBlock, stepsPerBlock);
    for (let k = 0; k < stepsPerBlock; k++) {
      if (o.signal?.aborted) { reason = 'cancelled'; break outer; }
      const masked: number[] = [];
      for (let i = bs; i < be; i++) if (state[i] === MASK) masked.push(i);
      if (!masked.length) continue;
      const ts = performance.now();
      const ids = new BigInt64Array(T); for (let i = 0; i < T; i++) ids[i] = BigInt(state[i]!);
      const qw = new Float32Array(T); for (let i = bs; i < be; i++) qw[i] = 1;
      const out = await model.forward({ inputIds: ids, positionIds: posIds, B: 1, Q: T, pastKeys: empty, pastValues: empty, C: 0, queryWeights: qw });
      nfe++;
      const predictions: (PositionPrediction | null)[] = new Array(G).fill(null);
      for (let g = 0; g < G; g++) {
        // Every generated position is computed in a full pass; recording them all shows delayed decoding.
        if (!o.record && (P + g < bs || P + g >= be || state[P + g] !== MASK)) continue;
        predictions[g] = predictRow(out.logits, (P + g) * V, V, o.topK, o.temperature, rng, MASK);
      }
      const random = masked.map(() => rng.next());
      const decision = strategy.decide({
        step, blockStep: k, blockStart: bs, blockEnd: be, masked, predictions, promptLength: P,
        scheduled: schedule[k]!, random,
      }, params);
      for (const { position, token } of decision.commit) {
        if (position < bs || position >= be || state[position] !== MASK) throw new Error(`strategy ${strategy.name} committed position ${position}, which is not a masked position of block [${bs}, ${be})`);
        state[position] = token;
        commitStep[position] = step + 1;
      }
      let sal: Float32Array | null = null;
      if (o.record) {
        // saliency [Ly, 1, H, T] -> head mean [Ly, T]
        sal = new Float32Array(Ly * T);
        for (let l = 0; l < Ly; l++) for (let h = 0; h < H; h++) for (let t = 0; t < T; t++) sal[l * T + t]! += out.saliency[(l * H + h) * T + t]! / H;
      }
      const ms = performance.now() - ts;
      rec.step({ state, block: [bs, be], ms, predictions, saliency: sal, cached: null, series: decision.series });
      step++;
      o.onStep?.({ step, totalSteps: o.steps, committed: T - P - countMasked(state, P, MASK), genLength: G, elapsedMs: performance.now() - t0 });
    }
  }
  const wallMs = performance.now() - t0;
  const done = countMasked(state, P, MASK) === 0;
  return { state, steps: step, nfe, wallMs, complete: done && !reason, incompleteReason: reason ?? (done ? undefined : 'not all positions committed'), recorder: rec, commitStep };
}

function countMasked(state: Int32Array, P: number, MASK: number) {
  let n = 0;
  for (let i = P; i < state.length; i++) if (state[i] === MASK) n++;
  return n;
}
