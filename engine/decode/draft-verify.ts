import { DlensError } from '../errors.js';
import type { Params, Strategy } from '../strategies/types.js';
import { numTransferTokens } from './schedule.js';
import { predictFromPass } from './row-stats.js';
import { lensRowsOf, passBlocks, recordedLens, wantsLens } from './forward-pass.js';
import type { LensStep } from './recorder.js';
import type { PositionPrediction } from './predict.js';
import { applyCommits, endStep, finishRun, maskedIn, stepView, type DecodeResult, type Run } from './run-state.js';

type Commit = { position: number; token: number };
const same = (a: Commit[], b: Commit[]) =>
  a.length === b.length && a.every((x, i) => x.position === b[i]!.position && x.token === b[i]!.token);

/** One state's predictions of every generated position, and its logit lens when the run records one. */
interface Verified {
  preds: PositionPrediction[];
  lens: LensStep | null;
}

/** One batched full pass over B states; per state, the predictions of every generated position. */
async function verifyPass(run: Run, states: Int32Array[]): Promise<Verified[]> {
  const { T, P, o } = run,
    B = states.length;
  const ids = new BigInt64Array(B * T),
    pos = new BigInt64Array(B * T);
  states.forEach((s, b) => {
    for (let i = 0; i < T; i++) {
      ids[b * T + i] = BigInt(s[i]!);
      pos[b * T + i] = BigInt(i);
    }
  });
  const t = performance.now();
  const out = await run.model.forward({
    inputIds: ids,
    positionIds: pos,
    B,
    Q: T,
    pastKeys: new Float32Array(0),
    pastValues: new Float32Array(0),
    C: 0,
    queryWeights: new Float32Array(B * T),
    ...passBlocks(run, [], 0, T, B),
    ...(wantsLens(run) ? { lensRows: lensRowsOf(P, 0, T, B) } : {}),
  });
  run.forwardMs += performance.now() - t;
  run.nfe++;
  const res: Verified[] = [];
  for (let b = 0; b < B; b++) {
    const preds = await predictFromPass(
      out,
      b * T + P,
      b * T + T,
      run.model.card.vocab_size,
      o.topK,
      0,
      null,
      run.MASK,
    );
    res.push({ preds, lens: recordedLens(run, out, preds, 0, T, b, B) });
  }
  return res;
}

/**
 * FreeDave's loop: each iteration is ONE batched forward pass over the drafted states. Draft step 0 is exact (made
 * from real predictions of the current state); draft step j is kept only if the baseline rule, applied to the real
 * predictions of drafted state j, makes exactly the drafted commits — so the accepted path is the baseline's path.
 */
export async function draftVerifyLoop(run: Run, strategy: Strategy, params: Params): Promise<DecodeResult> {
  const { o, P, T, MASK, state } = run;
  if (o.cache !== 'none')
    throw new DlensError(`strategy ${strategy.name} verifies whole states with full passes; use --cache none`);
  if (o.temperature > 0)
    throw new DlensError(`strategy ${strategy.name} is lossless for greedy decoding only; use --temperature 0`);
  const D = Number(params.draft ?? 4);
  const baseline: Baseline = { run, strategy, params };
  let current = (await verifyPass(run, [state]))[0]!;
  for (let bs = P; bs < T; bs += o.blockLength) {
    const be = Math.min(T, bs + o.blockLength);
    const sched = numTransferTokens(maskedIn(state, bs, be, MASK).length, run.stepsPerBlock);
    for (let k = 0; k < sched.length && maskedIn(state, bs, be, MASK).length;) {
      if (o.signal?.aborted) return finishRun(run, 'cancelled');
      const t0 = performance.now();
      // Draft up to D baseline steps from the current predictions, then verify them all in one pass.
      const at = { bs, be, k, sched };
      const drafts = draftSteps(baseline, current.preds, at, D);
      const verified = await verifyPass(
        run,
        drafts.map((d) => d.state),
      );
      const m = acceptedSteps(baseline, drafts, verified, at);
      for (const d of drafts.slice(0, m)) applyCommits(run, d.commits, bs, be, strategy.name);
      const before = current;
      current = verified[m - 1]!;
      k += m;
      run.rec.step({
        state,
        block: [bs, be],
        ms: performance.now() - t0,
        predictions: before.preds,
        saliency: null,
        cached: null,
        lens: before.lens,
        values: { accepted_steps: m, drafted_steps: drafts.length },
      });
      endStep(run, Math.ceil(o.steps / D));
    }
  }
  return finishRun(run, undefined);
}

interface Baseline {
  run: Run;
  strategy: Strategy;
  params: Params;
}
/** Where in the block the loop stands: the block [bs, be), its step k and its schedule of commits per step. */
interface BlockAt {
  bs: number;
  be: number;
  k: number;
  sched: number[];
}
type Draft = { commits: Commit[]; state: Int32Array };

/** The baseline's decision on state `s` with predictions `preds` at block step k (FreeDave never samples). */
function baselineDecision(b: Baseline, s: Int32Array, preds: PositionPrediction[], at: BlockAt, k: number) {
  const masked = maskedIn(s, at.bs, at.be, b.run.MASK);
  const view = stepView(b.run, {
    blockStep: k,
    bs: at.bs,
    be: at.be,
    masked,
    predictions: preds,
    scheduled: at.sched[k]!,
    random: masked.map(() => 0),
  });
  return { masked, commits: b.strategy.decide(view, b.params, undefined).commit };
}

/** Up to D baseline steps past the run's state, each from the predictions of the state before (step 0's are real). */
function draftSteps(b: Baseline, preds: PositionPrediction[], at: BlockAt, D: number): Draft[] {
  const drafts: Draft[] = [];
  for (let j = 0, s = b.run.state; j < D && at.k + j < at.sched.length; j++) {
    const { masked, commits } = baselineDecision(b, s, preds, at, at.k + j);
    if (!masked.length) break;
    s = s.slice();
    for (const c of commits) s[c.position] = c.token;
    drafts.push({ commits, state: s });
  }
  return drafts;
}

/** How many drafts hold: draft m is kept while the baseline, on draft m − 1's real predictions, commits exactly it. */
function acceptedSteps(b: Baseline, drafts: Draft[], verified: { preds: PositionPrediction[] }[], at: BlockAt) {
  let m = 1;
  while (
    m < drafts.length &&
    same(baselineDecision(b, drafts[m - 1]!.state, verified[m - 1]!.preds, at, at.k + m).commits, drafts[m]!.commits)
  )
    m++;
  return m;
}
