import { resolve } from 'node:path';
import { writeFileAtomic } from './util/atomic-write.js';
import { decodeOutput } from './decode/output.js';
import { loadModel, type LoadedModel } from './model/load.js';
import { getStrategy, resolveParams } from './strategies/index.js';
import { decode, type DecodeResult } from './decode/run.js';
import { concat, type Recorder } from './decode/recorder.js';
import { type Manifest } from './trace/trace.js';
import { writeTrace } from './trace/write.js';
import type { TaskInstance } from './tasks/types.js';
import { getSuite } from './tasks/suites.js';
import type { CacheMode } from './cache/types.js';
import { DlensError } from './errors.js';
import { APP, APP_VERSION } from './version.js';
import { DEFAULTS } from './api/defaults.js';
import type { Device } from './model/devices.js';

export interface RecordRequest {
  model?: string;
  prompt?: string;
  task?: TaskInstance;
  strategy?: string;
  params?: Record<string, unknown>;
  cache?: CacheMode;
  cacheParams?: Record<string, number>;
  genLength?: number;
  blockLength?: number;
  steps?: number;
  seed?: number;
  temperature?: number;
  topK?: number;
  out?: string;
  record?: boolean;
  /** Learn2PD's End-of-Text Prediction, for any strategy. */
  eot?: boolean;
  /** Record the logit lens when the model has one (default true). */
  lens?: boolean;
  /** Where the model runs (onnxruntime execution provider); cpu by default. */
  device?: Device;
  /** Counterfactual branch: start from this state of another trace. */
  initialState?: Int32Array;
  branch?: { from: string; at: number; strategy: string };
}

export interface RecordSummary {
  output: string;
  steps: number;
  nfe: number;
  wall_ms: number;
  tokens_per_s: number;
  trace: string | null;
  strategy: { name: string; params: Record<string, unknown> };
  cache: { mode: CacheMode; params: Record<string, unknown> };
  complete: boolean;
  peak_cache_bytes: number;
  task?: { suite: string; id: string; score: number | null };
}

/** Labels of the per-step values the loops record (the stall detector reads `forced`: docs/diagnostics.md). */
const STEP_VALUE_LABELS: Record<string, string> = {
  cache_bytes: 'KV cache bytes held after the step',
  forced: "nothing passed the strategy's threshold: it committed its fallback (1)",
  accepted_steps: 'FreeDave: drafted steps the verification accepted',
  drafted_steps: 'FreeDave: steps drafted',
};

export function buildTraceBytes(
  model: LoadedModel,
  req: Required<Pick<RecordRequest, 'strategy' | 'cache' | 'genLength' | 'blockLength' | 'seed' | 'topK'>> & {
    cacheParams?: Record<string, number>;
    score?: number | null;
    prompt: string;
    params: Record<string, unknown>;
    task?: TaskInstance;
  },
  promptIds: number[],
  r: DecodeResult,
  output: string,
  extra: Partial<Manifest> = {},
): Uint8Array {
  const rec = r.recorder;
  const P = promptIds.length,
    T = rec.T,
    G = rec.G,
    K = rec.K,
    Ly = rec.Ly,
    S = rec.stepMs.length;
  const vocab: Record<string, string> = {};
  for (const id of rec.tokenIds) if (id >= 0) vocab[String(id)] = model.tokenText(id);
  const extras: Record<string, { label: string; kind: string }> = {};
  const extraTensors = new Map<string, { dtype: 'F32'; shape: number[]; data: Float32Array }>();
  const strat = getStrategy(req.strategy);
  for (const [k, vals] of rec.stepValues) {
    extraTensors.set(`extra.${k}`, { dtype: 'F32', shape: [S], data: Float32Array.from(vals) });
    extras[`extra.${k}`] = { label: STEP_VALUE_LABELS[k] ?? k, kind: 'series' };
  }
  for (const [k, parts] of rec.series) {
    extraTensors.set(`extra.${k}`, { dtype: 'F32', shape: [S, G], data: concat(parts, G, Float32Array) });
    extras[`extra.${k}`] = strat.series?.[k] ?? { label: k, kind: 'heatmap' };
  }
  const manifest: Manifest = {
    format: 'dlens-trace/2',
    source: { kind: 'engine', tool: 'dlens', tool_version: APP_VERSION },
    created: new Date().toISOString(),
    app: APP,
    model: { name: model.card.name, card: { ...model.card } },
    prompt: req.prompt,
    prompt_length: P,
    gen_length: G,
    strategy: { name: req.strategy, params: req.params },
    cache: { mode: req.cache, params: req.cacheParams ?? {} },
    refresh_steps: rec.refreshSteps,
    peak_cache_bytes: r.peakCacheBytes,
    seed: req.seed,
    output,
    steps: S,
    nfe: r.nfe,
    wall_ms: r.wallMs,
    task: req.task
      ? { suite: req.task.suite, id: req.task.id, reference: req.task.reference, score: req.score ?? null }
      : null,
    vocab,
    extras,
    complete: r.complete,
    ...(r.complete ? {} : { incomplete_reason: r.incompleteReason ?? 'incomplete' }),
    top_k: K,
    block_length: req.blockLength,
    mask_token_id: model.card.mask_token_id,
    eos_token_id: model.card.eos_token_id,
    num_layers: Ly,
    ...(model.graph === 'logits-only'
      ? { no_saliency_reason: 'the model maps tokens to logits only: its graph gives no keys, values or attention' }
      : {}),
    ...noiseFacts(model, rec),
    ...extra,
  };
  const blocks = new Int32Array(S * 2);
  rec.blocks.forEach(([a, b], i) => {
    blocks[2 * i] = a;
    blocks[2 * i + 1] = b;
  });
  const commitStep = r.commitStep.slice();
  for (let i = 0; i < P; i++) commitStep[i] = -1;
  // Block-causal models (BD3LM): each position's attention block, the prompt padded to whole blocks on the left as
  // the decode lays it out (engine/decode/run-state.ts); the same at every step.
  const b = model.card.attention === 'block-causal' ? model.card.block_size : undefined;
  let attnBlock: Int32Array | undefined;
  if (b) {
    const pad = (b - (P % b)) % b;
    attnBlock = new Int32Array(S * T);
    for (let s = 0; s < S; s++) for (let p = 0; p < T; p++) attnBlock[s * T + p] = Math.floor((p + pad) / b);
    manifest.attention = 'block-causal';
  }
  return writeTrace({
    manifest,
    dims: { S, T, G, K, Ly, P },
    state: concat(rec.states, T, Int32Array),
    ...(rec.masked.length ? { masked: concat(rec.masked, T, Uint8Array) } : {}),
    commitStep,
    edits: r.edits,
    topkIds: concat(rec.topkIds, G * K, Int32Array),
    topkProbs: concat(rec.topkProbs, G * K, Float32Array),
    confidence: concat(rec.confidence, G, Float32Array),
    entropy: concat(rec.entropy, G, Float32Array),
    block: blocks,
    stepMs: Float32Array.from(rec.stepMs),
    saliency: concat(rec.saliency, Ly * T, Float32Array),
    cached: concat(rec.cached, Ly * T, Uint8Array),
    ...(rec.lensIds.length
      ? { lensIds: concat(rec.lensIds, Ly * G, Int32Array), lensProbs: concat(rec.lensProbs, Ly * G, Float32Array) }
      : {}),
    attnBlock,
    extras: extraTensors,
  });
}

/**
 * A uniform-noise decode says so in the manifest (`noise`), and says when the model was trained for another noise
 * (`noise_mismatch`): a masked model (dlens-tiny) decoded from uniform noise is not what either was made for.
 */
function noiseFacts(model: LoadedModel, rec: Recorder) {
  const trained = model.card.noise ?? 'mask';
  if (!rec.masked.length)
    return trained === 'uniform'
      ? {
          noise_mismatch: `${model.card.name} was trained to denoise uniform noise, and this decode fills masks: its predictions at masked positions are not what it was made for; decode it with --strategy renoise`,
        }
      : {};
  return {
    noise: 'uniform',
    ...(trained !== 'uniform'
      ? {
          noise_mismatch: `${model.card.name} was trained to fill masks (masked diffusion), and this decode starts from uniform noise: its predictions at noisy positions are not what the strategy expects; use a uniform-noise model (dlens-tiny-uniform)`,
        }
      : {}),
  };
}

/** One recording: load (or reuse) the model, decode, write the trace atomically — also when cancelled. */
export async function record(
  req: RecordRequest,
  opts: { model?: LoadedModel; signal?: AbortSignal; onStep?: Parameters<typeof decode>[4]['onStep'] } = {},
): Promise<RecordSummary> {
  const model = opts.model ?? (await loadModel(req.model, { device: req.device }));
  const strategyName = req.strategy ?? DEFAULTS.strategy;
  const strat = getStrategy(strategyName);
  const params = resolveParams(strat, req.params ?? {});
  const cache = req.cache ?? DEFAULTS.cache;
  const prompt = req.task?.prompt ?? req.prompt;
  if (prompt === undefined || prompt === '')
    throw new DlensError(
      'nothing to decode: give a prompt (--prompt TEXT, --prompt-file FILE) or a task (--task SUITE:INDEX)',
    );
  const promptIds = model.encode(model.card.prompt_template.replace('{prompt}', prompt));
  const genLength = req.genLength ?? DEFAULTS.genLength,
    blockLength = req.blockLength ?? DEFAULTS.blockLength;
  const steps = req.steps ?? genLength,
    seed = req.seed ?? DEFAULTS.seed,
    topK = req.topK ?? DEFAULTS.topK;
  if (!Number.isInteger(topK) || topK < 1 || topK > 64)
    throw new DlensError(`top-k must be an integer in 1..64, got ${topK}`);
  const r = await decode(model, promptIds, strat, params, {
    genLength,
    blockLength,
    steps,
    temperature: req.temperature ?? DEFAULTS.temperature,
    seed,
    topK,
    cache,
    cacheParams: req.cacheParams,
    record: req.record ?? true,
    signal: opts.signal,
    onStep: opts.onStep,
    eot: req.eot,
    lens: req.lens,
    initialState: req.initialState,
  });
  const output = decodeOutput(model, r.state, promptIds.length);
  const score = req.task && r.complete ? getSuite(req.task.suite).score(output, req.task) : null;
  let trace: string | null = null;
  if (req.out) {
    const bytes = buildTraceBytes(
      model,
      {
        strategy: strategyName,
        cache,
        cacheParams: req.cacheParams,
        genLength,
        blockLength,
        seed,
        topK,
        prompt,
        params: { ...params, ...(req.eot ? { eot: true } : {}) },
        task: req.task,
        score,
      },
      promptIds,
      r,
      output,
      req.branch ? { branch: req.branch } : {},
    );
    writeFileAtomic(req.out, bytes);
    trace = resolve(req.out);
  }
  return {
    output,
    steps: r.steps,
    nfe: r.nfe,
    wall_ms: Math.round(r.wallMs * 100) / 100,
    tokens_per_s: r.wallMs ? Math.round((genLength / r.wallMs) * 1000 * 100) / 100 : 0,
    trace,
    strategy: { name: strategyName, params },
    cache: { mode: cache, params: req.cacheParams ?? {} },
    complete: r.complete,
    peak_cache_bytes: r.peakCacheBytes,
    ...(req.task ? { task: { suite: req.task.suite, id: req.task.id, score } } : {}),
  };
}
