import { DlensError } from '../errors.js';
import type { Params, Strategy } from '../strategies/types.js';
import { numTransferTokens } from './schedule.js';
import { predictFromPass } from './row-stats.js';
import { lensRowsOf, passBlocks, recordedLens, wantsLens } from './forward-pass.js';
import type { LensStep } from './recorder.js';
import type { PositionPrediction } from './predict.js';
import { endStep, finishRun, maskedIn, stepView, type DecodeResult, type Run } from './setup.js';

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
  const { o, P, T, MASK, state, commitStep } = run;
  if (o.cache !== 'none')
    throw new DlensError(`strategy ${strategy.name} verifies whole states with full passes; use --cache none`);
  if (o.temperature > 0)
    throw new DlensError(`strategy ${strategy.name} is lossless for greedy decoding only; use --temperature 0`);
  const D = Number(params.draft ?? 4);
  // The baseline's decision on state s with predictions `preds` at block step k.
  const decideAt = (
    s: Int32Array,
    preds: PositionPrediction[],
    bs: number,
    be: number,
    k: number,
    scheduled: number,
  ) => {
    const masked = maskedIn(s, bs, be, MASK);
    return {
      masked,
      commits: strategy.decide(
        stepView(run, { blockStep: k, bs, be, masked, predictions: preds, scheduled, random: masked.map(() => 0) }),
        params,
        undefined,
      ).commit,
    };
  };
  let current = (await verifyPass(run, [state]))[0]!;
  for (let bs = P; bs < T; bs += o.blockLength) {
    const be = Math.min(T, bs + o.blockLength);
    const sched = numTransferTokens(maskedIn(state, bs, be, MASK).length, run.stepsPerBlock);
    for (let k = 0; k < sched.length && maskedIn(state, bs, be, MASK).length;) {
      if (o.signal?.aborted) return finishRun(run, 'cancelled');
      const t0 = performance.now();
      // Draft up to D baseline steps from the current predictions, then verify them all in one pass.
      const drafts: { commits: Commit[]; state: Int32Array }[] = [];
      for (let j = 0, s = state; j < D && k + j < sched.length; j++) {
        const { masked, commits } = decideAt(s, current.preds, bs, be, k + j, sched[k + j]!);
        if (!masked.length) break;
        s = s.slice();
        for (const c of commits) s[c.position] = c.token;
        drafts.push({ commits, state: s });
      }
      const verified = await verifyPass(
        run,
        drafts.map((d) => d.state),
      );
      let m = 1;
      while (
        m < drafts.length &&
        same(
          decideAt(drafts[m - 1]!.state, verified[m - 1]!.preds, bs, be, k + m, sched[k + m]!).commits,
          drafts[m]!.commits,
        )
      )
        m++;
      const before = current;
      for (let j = 0; j < m; j++)
        for (const c of drafts[j]!.commits) {
          state[c.position] = c.token;
          commitStep[c.position] = run.step + 1;
        }
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
