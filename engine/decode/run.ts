import { Rng } from '../util/rng.js';
import { DlensError } from '../errors.js';
import type { LoadedModel } from '../model/load.js';
import type { Strategy } from '../strategies/types.js';
import type { CacheMode } from '../cache/types.js';
import { makeCache } from '../cache/index.js';
import { numTransferTokens } from './schedule.js';
import type { PositionPrediction } from './predict.js';
import { predictRows } from './row-stats.js';
import { Recorder } from './recorder.js';

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

/** Copies per-layer selections of positions out of a [Ly, H, N, Dh] source into a dense [Ly, H, C, Dh] cache. */
function gather(src: Float32Array, Ly: number, H: number, N: number, Dh: number, idx: number[][]): Float32Array {
  const C = idx[0]?.length ?? 0;
  const out = new Float32Array(Ly * H * C * Dh);
  for (let l = 0; l < Ly; l++) for (let h = 0; h < H; h++) {
    const sBase = (l * H + h) * N, dBase = (l * H + h) * C;
    idx[l]!.forEach((n, c) => out.set(src.subarray((sBase + n) * Dh, (sBase + n + 1) * Dh), (dBase + c) * Dh));
  }
  return out;
}

/**
 * LLaDA's semi-autoregressive block decoding (generate.py). Each step runs one forward pass, full or against the
 * cache policy's cached keys/values; the strategy decides which masked positions of the active block to commit.
 */
export async function decode(model: LoadedModel, promptIds: number[], strategy: Strategy, params: Record<string, number | boolean | string>, o: DecodeOptions): Promise<DecodeResult> {
  if ((strategy as { draftVerify?: boolean }).draftVerify) {
    validateSchedule(o, model.card.max_positions, promptIds.length);
    const { draftVerifyDecode } = await import('./draft-verify.js');
    return draftVerifyDecode(model, promptIds, strategy, params, o);
  }
  const { card } = model;
  const P = promptIds.length, G = o.genLength, T = P + G, V = card.vocab_size, Ly = card.num_layers, H = card.num_heads, Dh = card.head_dim;
  const MASK = card.mask_token_id;
  validateSchedule(o, card.max_positions, P);
  const policy = makeCache(o.cache, o.cacheParams ?? {}, card.attention);
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
  let step = 0, nfe = 0, peakCacheBytes = 0, forwardMs = 0;
  const t0 = performance.now();
  let reason: string | undefined;
  // The cache of the current block: per-layer cached positions and their keys/values [Ly, 1, H, C, Dh].
  let cachedPos: number[][] = [];
  let pastK: Float32Array = new Float32Array(0), pastV: Float32Array = new Float32Array(0);
  let stratState = strategy.initState?.(params as never);
  const tokenText = (id: number) => model.tokenText(id);
  // Blocks: fixed (LLaDA) or, for adaptive strategies, ended where the strategy says after the block's first pass.
  outer: for (let bs = P; bs < T;) {
    let be = Math.min(T, bs + o.blockLength);
    let maskedInBlock = 0;
    for (let i = bs; i < be; i++) if (state[i] === MASK) maskedInBlock++;
    const schedule = numTransferTokens(maskedInBlock, stepsPerBlock);
    let haveCache = false;
    for (let k = 0; ; k++) {
      if (o.signal?.aborted) { reason = 'cancelled'; break outer; }
      let masked: number[] = [];
      for (let i = bs; i < be; i++) if (state[i] === MASK) masked.push(i);
      if (!masked.length) break;
      const ts = performance.now();
      const refresh = !haveCache || policy.refresh(k);
      // Positions computed by this call and where each one's logits row starts.
      const q0 = refresh ? 0 : bs, Q = refresh ? T : be - bs;
      const C = refresh ? 0 : cachedPos[0]?.length ?? 0;
      const ids = new BigInt64Array(Q), pos = new BigInt64Array(Q), qw = new Float32Array(Q);
      for (let i = 0; i < Q; i++) { ids[i] = BigInt(state[q0 + i]!); pos[i] = BigInt(q0 + i); qw[i] = q0 + i >= bs && q0 + i < be ? 1 : 0; }
      const tf = performance.now();
      const out = await model.forward({ inputIds: ids, positionIds: pos, B: 1, Q, pastKeys: refresh ? new Float32Array(0) : pastK, pastValues: refresh ? new Float32Array(0) : pastV, C, queryWeights: qw });
      nfe++;
      forwardMs += performance.now() - tf;
      const predictions: (PositionPrediction | null)[] = new Array(G).fill(null);
      // In a full pass every generated position is computed; recording them all shows delayed decoding.
      const wide = o.record || (k === 0 && !!strategy.blockEnd);
      const p0 = wide ? Math.max(P, q0) : bs, p1 = wide ? q0 + Q : be;
      const rows = await predictRows(out.logits, p0 - q0, p1 - q0, V, o.topK, o.temperature, rng, MASK, (r) => { const p = r + q0; return p >= bs && p < be && state[p] === MASK; });
      rows.forEach((r, i) => { predictions[p0 + i - P] = r; });
      const view = (blockStep: number, draw = true) => ({
        step, blockStep, blockStart: bs, blockEnd: be, masked, predictions, promptLength: P,
        scheduled: schedule[blockStep] ?? masked.length, random: draw ? masked.map(() => rng.next()) : [],
        tokenText, eosId: card.eos_token_id, blockLength: o.blockLength, genLength: G,
      });
      if (k === 0 && strategy.blockEnd) {
        const all: number[] = [];
        for (let i = bs; i < T; i++) if (state[i] === MASK) all.push(i);
        be = Math.max(bs + 1, Math.min(T, strategy.blockEnd({ ...view(0, false), masked: all }, params as never)));
        masked = masked.filter((p) => p < be);
        for (let i = bs + o.blockLength; i < be; i++) if (state[i] === MASK) masked.push(i);
      }
      // Head-averaged attention received by key j (cached keys first, then this call's) in layer l.
      const received = (l: number, j: number) => {
        let m = 0;
        for (let h = 0; h < H; h++) m += out.saliency[(l * H + h) * (C + Q) + j]!;
        return m / H;
      };
      // Recorded: attention received at absolute positions, NaN where neither cached nor computed.
      let sal: Float32Array | null = null;
      if (o.record) {
        sal = new Float32Array(Ly * T).fill(NaN);
        for (let l = 0; l < Ly; l++) for (let j = 0; j < C + Q; j++) sal[l * T + (j < C ? cachedPos[l]![j]! : q0 + j - C)] = received(l, j);
      }
      // Positions whose keys/values the cache held during this step: read by a cached pass, or written by a full pass
      // (before any eviction; evictions show as positions that leave between consecutive steps).
      let cachedMask: Uint8Array | null = null;
      if (refresh) {
        const candidates = policy.initial(T, bs, be);
        const score = (l: number) => Float32Array.from(candidates, (p) => received(l, p));
        const kept = policy.keep ? policy.keep(k, candidates, score, Ly) : Array.from({ length: Ly }, () => candidates);
        cachedPos = kept;
        pastK = gather(out.keys, Ly, H, T, Dh, cachedPos);
        pastV = gather(out.values, Ly, H, T, Dh, cachedPos);
        haveCache = kept.some((ps) => ps.length > 0);
        if (haveCache) {
          cachedMask = new Uint8Array(Ly * T);
          for (let l = 0; l < Ly; l++) for (const p of candidates) cachedMask[l * T + p] = 1;
        }
      } else {
        cachedMask = new Uint8Array(Ly * T);
        for (let l = 0; l < Ly; l++) for (const p of cachedPos[l]!) cachedMask[l * T + p] = 1;
      }
      const cacheBytes = o.cache === 'none' ? 0 : (pastK.byteLength + pastV.byteLength);
      peakCacheBytes = Math.max(peakCacheBytes, cacheBytes);
      const decision = strategy.decide(view(k), params, stratState);
      stratState = decision.state ?? stratState;
      for (const { position, token } of decision.commit) {
        if (position < bs || position >= be || state[position] !== MASK) throw new Error(`strategy ${strategy.name} committed position ${position}, which is not a masked position of block [${bs}, ${be})`);
        state[position] = token;
        commitStep[position] = step + 1;
      }
      if (o.eot) {
        // End-of-Text Prediction: text ends at the first committed EOS, so everything after it is EOS now.
        let eos = -1;
        for (let i = P; i < T; i++) if (state[i] === card.eos_token_id && commitStep[i]! > 0) { eos = i; break; }
        if (eos >= 0) for (let i = eos + 1; i < T; i++) if (state[i] === MASK) { state[i] = card.eos_token_id; commitStep[i] = step + 1; }
      }
      const ms = performance.now() - ts;
      rec.step({ state, block: [bs, be], ms, predictions, saliency: sal, cached: cachedMask, series: decision.series, values: o.cache === 'none' ? undefined : { cache_bytes: cacheBytes }, refresh: refresh && haveCache });
      step++;
      if (step > 4 * T) throw new Error(`strategy ${strategy.name} made no progress: ${step} steps for ${G} positions`);
      o.onStep?.({ step, totalSteps: o.steps, committed: T - P - countMasked(state, P, MASK), genLength: G, elapsedMs: performance.now() - t0 });
    }
    bs = be;
  }
  const wallMs = performance.now() - t0;
  const done = countMasked(state, P, MASK) === 0;
  return { state, steps: step, nfe, wallMs, forwardMs, complete: done && !reason, incompleteReason: reason ?? (done ? undefined : 'not all positions committed'), recorder: rec, commitStep, peakCacheBytes };
}

export function countMasked(state: Int32Array, P: number, MASK: number) {
  let n = 0;
  for (let i = P; i < state.length; i++) if (state[i] === MASK) n++;
  return n;
}
