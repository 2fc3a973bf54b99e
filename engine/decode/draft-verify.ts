import { DlensError } from '../errors.js';
import type { LoadedModel } from '../model/load.js';
import type { Strategy, StepView } from '../strategies/types.js';
import { numTransferTokens } from './schedule.js';
import { predictRows } from './row-stats.js';
import type { PositionPrediction } from './predict.js';
import { Recorder } from './recorder.js';
import { countMasked, type DecodeOptions, type DecodeResult } from './run.js';

/**
 * FreeDave's loop: each iteration is ONE batched forward pass over the drafted states. Draft step 0 is exact (made
 * from real predictions of the current state); draft step j is kept only if the baseline rule, applied to the real
 * predictions of drafted state j, makes exactly the drafted commits — so the accepted path is the baseline's path.
 */
export async function draftVerifyDecode(model: LoadedModel, promptIds: number[], strategy: Strategy, params: Record<string, number | boolean | string>, o: DecodeOptions): Promise<DecodeResult> {
  const { card } = model;
  if (o.cache !== 'none') throw new DlensError(`strategy ${strategy.name} verifies whole states with full passes; use --cache none`);
  if (o.temperature > 0) throw new DlensError(`strategy ${strategy.name} is lossless for greedy decoding only; use --temperature 0`);
  const P = promptIds.length, G = o.genLength, T = P + G, V = card.vocab_size, MASK = card.mask_token_id;
  const D = Number(params.draft ?? 4);
  const state = new Int32Array(T).fill(MASK);
  state.set(promptIds, 0);
  if (o.initialState) state.set(o.initialState);
  const commitStep = new Int32Array(T).fill(-1);
  for (let i = P; i < T; i++) if (state[i] !== MASK) commitStep[i] = 0;
  const rec = new Recorder(T, P, o.topK, card.num_layers, o.record);
  rec.initial(state);
  const stepsPerBlock = o.steps / (G / o.blockLength);
  const t0 = performance.now();
  let nfe = 0, iter = 0, forwardMs = 0, reason: string | undefined;

  // One batched full pass over B states; returns per state the predictions of every generated position.
  const run = async (states: Int32Array[]): Promise<PositionPrediction[][]> => {
    const B = states.length, ids = new BigInt64Array(B * T), pos = new BigInt64Array(B * T), qw = new Float32Array(B * T);
    states.forEach((s, b) => { for (let i = 0; i < T; i++) { ids[b * T + i] = BigInt(s[i]!); pos[b * T + i] = BigInt(i); } });
    const tf = performance.now();
    const out = await model.forward({ inputIds: ids, positionIds: pos, B, Q: T, pastKeys: new Float32Array(0), pastValues: new Float32Array(0), C: 0, queryWeights: qw });
    forwardMs += performance.now() - tf; nfe++;
    const res: PositionPrediction[][] = [];
    for (let b = 0; b < B; b++) res.push(await predictRows(out.logits, b * T + P, b * T + T, V, o.topK, 0, null, MASK));
    return res;
  };
  const view = (s: Int32Array, preds: PositionPrediction[], bs: number, be: number, k: number, scheduled: number): StepView => {
    const masked: number[] = [];
    for (let i = bs; i < be; i++) if (s[i] === MASK) masked.push(i);
    return { step: iter, blockStep: k, blockStart: bs, blockEnd: be, masked, predictions: preds, promptLength: P, scheduled, random: masked.map(() => 0),
      tokenText: (id) => model.tokenText(id), eosId: card.eos_token_id, blockLength: o.blockLength, genLength: G };
  };
  const same = (a: { position: number; token: number }[], b: { position: number; token: number }[]) =>
    a.length === b.length && a.every((x, i) => x.position === b[i]!.position && x.token === b[i]!.token);

  let preds = (await run([state]))[0]!;
  outer: for (let bs = P; bs < T; bs += o.blockLength) {
    const be = Math.min(T, bs + o.blockLength);
    let masked0 = 0;
    for (let i = bs; i < be; i++) if (state[i] === MASK) masked0++;
    const sched = numTransferTokens(masked0, stepsPerBlock);
    let k = 0;
    while (k < sched.length && view(state, preds, bs, be, k, 0).masked.length) {
      if (o.signal?.aborted) { reason = 'cancelled'; break outer; }
      const ts = performance.now();
      // Draft up to D baseline steps from the current predictions.
      const drafts: { commits: { position: number; token: number }[]; state: Int32Array }[] = [];
      let s = state;
      for (let j = 0; j < D && k + j < sched.length; j++) {
        const v = view(s, preds, bs, be, k + j, sched[k + j]!);
        if (!v.masked.length) break;
        const commits = strategy.decide(v, params).commit;
        const next = s.slice();
        for (const c of commits) next[c.position] = c.token;
        drafts.push({ commits, state: next });
        s = next;
      }
      const verified = await run(drafts.map((d) => d.state));
      let m = 1;
      while (m < drafts.length) {
        const v = view(drafts[m - 1]!.state, verified[m - 1]!, bs, be, k + m, sched[k + m]!);
        if (!same(strategy.decide(v, params).commit, drafts[m]!.commits)) break;
        m++;
      }
      const before = preds;
      for (let j = 0; j < m; j++) for (const c of drafts[j]!.commits) { state[c.position] = c.token; commitStep[c.position] = iter + 1; }
      preds = verified[m - 1]!;
      k += m;
      rec.step({ state, block: [bs, be], ms: performance.now() - ts, predictions: before, saliency: null, cached: null, values: { accepted_steps: m, drafted_steps: drafts.length } });
      iter++;
      o.onStep?.({ step: iter, totalSteps: Math.ceil(o.steps / D), committed: G - countMasked(state, P, MASK), genLength: G, elapsedMs: performance.now() - t0 });
    }
  }
  const wallMs = performance.now() - t0;
  const done = countMasked(state, P, MASK) === 0;
  return { state, steps: iter, nfe, wallMs, forwardMs, complete: done && !reason, incompleteReason: reason ?? (done ? undefined : 'not all positions committed'), recorder: rec, commitStep, peakCacheBytes: 0 };
}

