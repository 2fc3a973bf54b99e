import type { LoadedModel } from '../model/load.js';
import type { Params, Strategy } from '../strategies/types.js';
import { makeCache } from '../cache/index.js';
import type { CachePolicy } from '../cache/types.js';
import { DlensError } from '../errors.js';
import { numTransferTokens } from './schedule.js';
import { forwardPass, heldProbabilities, predictPositions, recordedLens, recordedSaliency } from './forward-pass.js';
import { cacheBytes, cacheForStep, type KvCache } from './kv-cache.js';
import {
  applyDecision,
  endStep,
  fillAfterEos,
  finishRun,
  startRun,
  undecidedIn,
  stepView,
  type DecodeOptions,
  type DecodeResult,
  type Run,
  type StepFacts,
} from './run-state.js';
import { draftVerifyLoop } from './draft-verify.js';
import type { Pass } from './pass.js';

export { validateSchedule, countMasked } from './run-state.js';
export type { DecodeOptions, DecodeResult } from './run-state.js';

/** Decodes the prompt's continuation with a strategy; the strategy says which loop runs it. */
export async function decode(
  model: LoadedModel,
  promptIds: number[],
  strategy: Strategy,
  params: Params,
  o: DecodeOptions,
): Promise<DecodeResult> {
  const run = startRun(model, promptIds, o, strategy.noise === 'uniform');
  return strategy.loop === 'draft-verify' ? draftVerifyLoop(run, strategy, params) : stepLoop(run, strategy, params);
}

/**
 * LLaDA's semi-autoregressive block decoding (generate.py): per block, one forward pass per step, full or against
 * the cache policy's cached keys and values; the strategy decides which masked positions of the block to commit.
 * Adaptive strategies (AdaBlock) end the block where they say after its first pass.
 */
async function stepLoop(run: Run, strategy: Strategy, params: Params): Promise<DecodeResult> {
  const { o, P, T, state, rec } = run;
  const policy = cachePolicyFor(run);
  let carried = strategy.initState?.(params);
  for (let bs = P; bs < T;) {
    let be = Math.min(T, bs + o.blockLength);
    const schedule = numTransferTokens(undecidedIn(run, bs, be).length, run.stepsPerBlock);
    let cache: KvCache | null = null;
    for (let k = 0; ; k++) {
      if (o.signal?.aborted) return finishRun(run, 'cancelled');
      const masked = undecidedIn(run, bs, be);
      if (!masked.length && !strategy.revisits && !strategy.noise) break;
      const t0 = performance.now();
      const against = cache && !policy.refresh(k) ? cache : null;
      const pass = await forwardPass(run, bs, be, against, passEnd(run, policy, be), wantsLogits(strategy));
      const predictions = await predictPositions(run, pass, bs, be, wantsWide(run, strategy, k));
      let at = { blockStep: k, bs, be, masked, predictions, scheduled: schedule[k] ?? masked.length };
      if (k === 0 && strategy.blockEnd) {
        be = adaptiveBlockEnd(run, strategy, params, at);
        at = { ...at, be, masked: undecidedIn(run, bs, be) };
        at.scheduled = schedule[k] ?? at.masked.length;
      }
      const saliency = o.record && run.model.graph === 'full' ? recordedSaliency(run, pass, cache) : null;
      const held = cacheForStep(run, policy, k, pass, bs, be, cache);
      cache = held.cache;
      const { decision, changes } = decideAndApply(run, strategy, params, carried, at, pass);
      carried = decision.state ?? carried;
      if (o.eot) fillAfterEos(run);
      rec.step({
        state,
        noise: run.noise,
        block: [bs, be],
        ms: performance.now() - t0,
        predictions,
        saliency,
        cached: held.mask,
        lens: recordedLens(run, pass.out, predictions, pass.q0, pass.Q),
        series: decision.series,
        values: stepValues(run, cache, decision.forced),
        refresh: pass.full && cache !== null,
      });
      endStep(run, o.steps);
      if (blockEnds(run, strategy, decision.done, masked.length, changes)) break;
    }
    bs = be;
  }
  return finishRun(run, undefined);
}

/**
 * Whether a revisiting strategy's block ends here: when it says so, or when nothing is masked and a step changed
 * nothing (uniform noise: only when it says so). A run that takes 4 steps per position made no progress.
 */
function blockEnds(run: Run, strategy: Strategy, done: boolean | undefined, masked: number, changes: number) {
  if (run.step > 4 * run.T)
    throw new Error(`strategy ${strategy.name} made no progress: ${run.step} steps for ${run.G} positions`);
  return !!done || (!!strategy.revisits && !strategy.noise && !masked && !changes);
}

/** Strategies that read more than the top-k: the held tokens' probabilities, or whole distributions. */
const wantsLogits = (strategy: Strategy) => !!strategy.revisits || !!strategy.noise;

/** Whether this step predicts every position its pass computes: to record them, or for the strategy to see them. */
const wantsWide = (run: Run, strategy: Strategy, k: number) =>
  run.o.record || !!strategy.wide || (k === 0 && !!strategy.blockEnd);

/** The strategy's decision on this step's view, written into the sequence; how many positions it changed. */
function decideAndApply(
  run: Run,
  strategy: Strategy,
  params: Params,
  carried: unknown,
  at: Omit<StepFacts, 'random'>,
  pass: Pass,
) {
  // Uniform-noise strategies draw two numbers per block position (a sample, a noise token); others one per masked.
  const draws = strategy.noise ? 2 * (at.be - at.bs) : at.masked.length;
  const random = Array.from({ length: draws }, () => run.rng.next());
  const held = strategy.revisits ? heldProbabilities(run, pass, at.bs, at.be) : null;
  const logits = strategy.noise ? logitsRows(run, pass) : null;
  const decision = strategy.decide(stepView(run, { ...at, random, held, logits }), params, carried);
  const range: [number, number] = strategy.wide ? [run.P, run.T] : [at.bs, at.be];
  return { decision, changes: applyDecision(run, decision, range, strategy.name, [at.bs, at.be]) };
}

/** A position's row of the pass's logits (null where the pass did not compute it). */
function logitsRows(run: Run, pass: Pass) {
  const V = run.model.card.vocab_size,
    { q0, Q } = pass;
  return (p: number) =>
    p >= q0 && p < q0 + Q && pass.out.logits.length ? pass.out.logits.subarray((p - q0) * V, (p - q0 + 1) * V) : null;
}

/** Numbers recorded per step beside the tensors: the cache's bytes, and whether a rule forced its commit. */
const stepValues = (run: Run, cache: KvCache | null, forced: boolean | undefined) => ({
  ...(run.o.cache !== 'none' ? { cache_bytes: cacheBytes(cache) } : {}),
  ...(forced !== undefined ? { forced: forced ? 1 : 0 } : {}),
});

/** The run's cache policy, refused where the model's graph cannot serve it. */
function cachePolicyFor(run: Run): CachePolicy {
  const { o, model } = run;
  if (model.graph === 'logits-only' && o.cache !== 'none')
    throw new DlensError(
      `${model.card.name} maps tokens to logits only (no keys, values or attention): it runs with --cache none`,
    );
  const policy = makeCache(o.cache, o.cacheParams ?? {}, model.card.attention);
  if (policy.keep && !model.hasKeyScores)
    throw new DlensError(
      `cache ${o.cache} ranks cached keys by the block queries' scores, and ${model.card.name}'s graph has no key_scores output (it was exported by an older dlens): convert the checkpoint again with dlens convert, or use --cache dual`,
    );
  return policy;
}

/**
 * Where a pass against the cache ends: the block's end, or the sequence's when the policy recomputes the suffix
 * (Fast-dLLM's prefix cache). A block-causal model's block never sees its suffix, so computing it would change
 * nothing.
 */
function passEnd(run: Run, policy: CachePolicy, be: number): number {
  return policy.computesSuffix && run.model.card.attention !== 'block-causal' ? run.T : be;
}

/**
 * AdaBlock: after the block's first pass the strategy sees every masked position from the block start on and says
 * where the block ends (at least one position long).
 */
function adaptiveBlockEnd(run: Run, strategy: Strategy, params: Params, at: Omit<StepFacts, 'random'>): number {
  const view = stepView(run, { ...at, masked: undecidedIn(run, at.bs, run.T), random: [] });
  return Math.max(at.bs + 1, Math.min(run.T, strategy.blockEnd!(view, params)));
}
