import type { LoadedModel } from '../model/load.js';
import type { Params, Strategy } from '../strategies/types.js';
import { makeCache } from '../cache/index.js';
import { numTransferTokens } from './schedule.js';
import { forwardPass, predictPositions, recordedSaliency } from './forward-pass.js';
import { cacheAfterFullPass, cacheBytes, positionMask, type KvCache } from './kv-cache.js';
import {
  applyCommits,
  endStep,
  fillAfterEos,
  finishRun,
  maskedIn,
  startRun,
  stepView,
  type DecodeOptions,
  type DecodeResult,
  type Run,
} from './setup.js';
import { draftVerifyLoop } from './draft-verify.js';

export { validateSchedule, countMasked } from './setup.js';
export type { DecodeOptions, DecodeResult } from './setup.js';

/** Decodes the prompt's continuation with a strategy; the strategy says which loop runs it. */
export async function decode(
  model: LoadedModel,
  promptIds: number[],
  strategy: Strategy,
  params: Params,
  o: DecodeOptions,
): Promise<DecodeResult> {
  const run = startRun(model, promptIds, o);
  return strategy.loop === 'draft-verify' ? draftVerifyLoop(run, strategy, params) : stepLoop(run, strategy, params);
}

/**
 * LLaDA's semi-autoregressive block decoding (generate.py): per block, one forward pass per step, full or against
 * the cache policy's cached keys and values; the strategy decides which masked positions of the block to commit.
 * Adaptive strategies (AdaBlock) end the block where they say after its first pass.
 */
async function stepLoop(run: Run, strategy: Strategy, params: Params): Promise<DecodeResult> {
  const { o, P, T, MASK, state, rec } = run;
  const policy = makeCache(o.cache, o.cacheParams ?? {}, run.model.card.attention);
  let carried = strategy.initState?.(params);
  for (let bs = P; bs < T;) {
    let be = Math.min(T, bs + o.blockLength);
    const schedule = numTransferTokens(maskedIn(state, bs, be, MASK).length, run.stepsPerBlock);
    let cache: KvCache | null = null;
    for (let k = 0; ; k++) {
      if (o.signal?.aborted) return finishRun(run, 'cancelled');
      let masked = maskedIn(state, bs, be, MASK);
      if (!masked.length) break;
      const t0 = performance.now();
      const pass = await forwardPass(run, bs, be, cache && !policy.refresh(k) ? cache : null);
      const predictions = await predictPositions(run, pass, bs, be, o.record || (k === 0 && !!strategy.blockEnd));
      if (k === 0 && strategy.blockEnd) {
        be = adaptiveBlockEnd(run, strategy, params, {
          bs,
          be,
          masked,
          predictions,
          scheduled: schedule[0] ?? masked.length,
        });
        masked = maskedIn(state, bs, be, MASK);
      }
      const saliency = o.record ? recordedSaliency(run, pass, cache) : null;
      let cached: Uint8Array | null;
      if (pass.full) ({ cache, written: cached } = cacheAfterFullPass(run, policy, k, pass, bs, be));
      else cached = positionMask(cache!.positions, T);
      run.peakCacheBytes = Math.max(run.peakCacheBytes, o.cache === 'none' ? 0 : cacheBytes(cache));
      const random = masked.map(() => run.rng.next());
      const view = stepView(run, {
        blockStep: k,
        bs,
        be,
        masked,
        predictions,
        scheduled: schedule[k] ?? masked.length,
        random,
      });
      const decision = strategy.decide(view, params, carried);
      carried = decision.state ?? carried;
      applyCommits(run, decision.commit, bs, be, strategy.name);
      if (o.eot) fillAfterEos(run);
      const values = o.cache === 'none' ? undefined : { cache_bytes: cacheBytes(cache) };
      rec.step({
        state,
        block: [bs, be],
        ms: performance.now() - t0,
        predictions,
        saliency,
        cached,
        series: decision.series,
        values,
        refresh: pass.full && cache !== null,
      });
      endStep(run, o.steps);
      if (run.step > 4 * T)
        throw new Error(`strategy ${strategy.name} made no progress: ${run.step} steps for ${run.G} positions`);
    }
    bs = be;
  }
  return finishRun(run, undefined);
}

/** AdaBlock: after the block's first pass the strategy sees every masked position from the block start on and
 * says where the block ends (at least one position long). */
function adaptiveBlockEnd(
  run: Run,
  strategy: Strategy,
  params: Params,
  s: {
    bs: number;
    be: number;
    masked: number[];
    predictions: Parameters<typeof stepView>[1]['predictions'];
    scheduled: number;
  },
): number {
  const all = maskedIn(run.state, s.bs, run.T, run.MASK);
  const view = stepView(run, {
    blockStep: 0,
    bs: s.bs,
    be: s.be,
    masked: all,
    predictions: s.predictions,
    scheduled: s.scheduled,
    random: [],
  });
  return Math.max(s.bs + 1, Math.min(run.T, strategy.blockEnd!(view, params)));
}
