import { DlensError } from '../errors.js';
import { loadModel } from '../model/load.js';
import { decode } from '../decode/run.js';
import { getStrategy, resolveParams } from '../strategies/index.js';
import { taskAt } from '../tasks/generate.js';
import { getSuite } from '../tasks/suites.js';
import { fileCorpus } from '../tasks/corpus.js';
import { decodeOutput } from '../decode/output.js';
import { makeCache } from '../cache/index.js';
import type { CacheMode } from '../cache/types.js';
import { DEFAULTS } from '../api/defaults.js';
import type { Device } from '../model/devices.js';
import { answerTokens } from '../metrics/regions.js';
import { buildTraceBytes } from '../record.js';
import { readTrace } from '../trace/trace.js';
import { writeFileAtomic } from '../util/atomic-write.js';
import { openSetWriter } from '../traceset/set.js';
import type { DetectorId } from '../metrics/detectors/index.js';
import { diagnoseInstance, detectorShares, definedMean, signShares, type InstanceDiagnosis } from './diagnose.js';
import { existsSync, mkdirSync, statSync } from 'node:fs';
export { aup, aupTable } from '../metrics/aup.js';
import { join } from 'node:path';

export interface BenchRequest {
  model?: string;
  /** Where the model runs (onnxruntime execution provider); cpu by default. */
  device?: Device;
  suites: string[];
  strategies: string[];
  caches: CacheMode[];
  limit: number;
  seed?: number;
  /** Left out: each suite's own generation length (Suite.genLength), so no answer is cut off by the budget. */
  genLength?: number;
  blockLength: number;
  /** Total steps; left out: one token per step (the generation length). */
  steps?: number;
  /**
   * Record every decode and run the failure detectors and decoding-order measures on it (default). Recording adds
   * its cost to the wall time; --no-diagnose measures speed alone.
   */
  diagnose?: boolean;
  /** Keep each instance's trace here (SUITE-STRATEGY-CACHE-INDEX.dlens); the app's bench view opens them. */
  tracesDir?: string;
  /** Write every decode into this trace set instead (docs/trace-set.md): one shard, rows keyed by suite and index. */
  setDir?: string;
}
export interface BenchCell {
  suite: string;
  strategy: string;
  cache: CacheMode;
  n: number;
  accuracy: number;
  steps: number;
  nfe: number;
  /** Generated positions per forward pass (EOS padding included). */
  tpf: number;
  /** Answer tokens per forward pass (d3LLM's leaderboard: TPF excluding EOS). */
  tpf_answer: number;
  wall_ms: number;
  tokens_per_s: number;
  speedup: number;
  /** Decoded outputs in instance order (not printed; lets a bench compare strategies answer by answer). */
  outputs?: string[];
  /** Per detector, the share of instances it flagged (null: it cannot judge this strategy's decodes). */
  detectors?: Record<DetectorId, number | null>;
  /** The same per sign of a detector with several (DETECTOR_SIGNS: premature commit's two), keyed "detector:sign". */
  detector_signs?: Record<string, number | null>;
  /** Mean decoding-order Kendall tau over the answer's tokens, and per block (instances where it is defined). */
  kendall?: number | null;
  kendall_block?: number | null;
  /** Per instance: score, TPF, flags, decoding order, trace file. */
  instances?: InstanceDiagnosis[];
}

/**
 * A strategy in a bench: NAME or NAME@key=value,key=value — parameters of the strategy, plus `steps` (total steps,
 * e.g. low-confidence@steps=8 commits 4 tokens per step at gen length 32), `tps` (tokens per step, the same for
 * every suite's gen length: low-confidence@tps=4) and `eot` (End-of-Text Prediction).
 */
export function parseSpec(spec: string): {
  name: string;
  params: Record<string, string>;
  steps?: number;
  tps?: number;
  eot?: boolean;
  /** 'gen': the generation as one block (Dream's samplers, ReMDM), whatever the bench's --block-length. */
  block?: 'gen';
} {
  const [name, rest] = spec.split('@') as [string, string | undefined];
  const params: Record<string, string> = {};
  let steps: number | undefined, tps: number | undefined, eot: boolean | undefined, block: 'gen' | undefined;
  for (const kv of rest ? rest.split(',') : []) {
    const [k, v] = kv.split('=') as [string, string | undefined];
    if (!k || v === undefined) throw new DlensError(`strategy spec "${spec}": expected NAME@key=value,...`);
    if ((k === 'steps' || k === 'tps') && !(Number.isInteger(Number(v)) && Number(v) >= 1))
      throw new DlensError(`strategy spec "${spec}": ${k} must be a whole number >= 1`);
    if (k === 'steps') steps = Number(v);
    else if (k === 'tps') tps = Number(v);
    else if (k === 'eot') eot = v === 'true' || v === '1';
    else if (k === 'block') {
      if (v !== 'gen')
        throw new DlensError(`strategy spec "${spec}": block takes one value, gen (the whole generation)`);
      block = v;
    } else params[k] = v;
  }
  if (steps !== undefined && tps !== undefined)
    throw new DlensError(`strategy spec "${spec}": give steps or tps, not both`);
  return { name, params, steps, tps, eot, block };
}

/** suites x strategies x caches on one model; every cell decodes the same eval instances. */
export async function runBench(
  req: BenchRequest,
  onProgress?: (done: number, total: number, label: string) => void,
): Promise<BenchCell[]> {
  if (req.setDir && !(req.diagnose ?? true))
    throw new DlensError('--set keeps the decodes the diagnostics record: leave out --no-diagnose');
  if (req.tracesDir && existsSync(req.tracesDir) && !statSync(req.tracesDir).isDirectory())
    throw new DlensError(`${req.tracesDir} is a file; the instance traces need a folder (--traces DIR)`);
  const model = await loadModel(req.model, { device: req.device });
  for (const s of req.suites) getSuite(s);
  for (const s of req.strategies) getStrategy(parseSpec(s).name);
  for (const c of req.caches) makeCache(c, {}, model.card.attention);
  const ctx = { split: 'eval' as const, corpus: fileCorpus() };
  const { eos_token_id: eos, pad_token_id: pad, mask_token_id: mask } = model.card;
  const endIds = { eos, pad, mask };
  const seed = req.seed ?? DEFAULTS.taskSeed;
  const cells: BenchCell[] = [];
  const total = req.suites.length * req.strategies.length * req.caches.length * req.limit;
  let done = 0;
  const setWriter = req.setDir ? openSetWriter(req.setDir, { prefix: 'bench' }) : undefined;
  try {
    for (const suite of req.suites) {
      const suiteDef = getSuite(suite);
      const genLength = req.genLength ?? suiteDef.genLength;
      // every strategy x cache cell decodes these same instances: generate and tokenise them once per suite
      const instances = Array.from({ length: req.limit }, (_, i) => {
        const task = taskAt(suite, i, seed, ctx);
        return { task, ids: model.encode(model.card.prompt_template.replace('{prompt}', task.prompt)) };
      });
      for (const strategy of req.strategies)
        for (const cache of req.caches) {
          const spec = parseSpec(strategy);
          const strat = getStrategy(spec.name),
            params = resolveParams(strat, spec.params);
          const stepsFor =
            spec.steps ?? (spec.tps ? Math.ceil(genLength / spec.tps) : undefined) ?? req.steps ?? genLength;
          const blockLength = spec.block === 'gen' ? genLength : Math.min(req.blockLength, genLength);
          let score = 0,
            steps = 0,
            nfe = 0,
            wall = 0,
            gen = 0,
            answer = 0;
          const outputs: string[] = [];
          const diagnosed: InstanceDiagnosis[] = [];
          const diagnose = req.diagnose ?? true;
          for (const [index, { task: t, ids }] of instances.entries()) {
            const r = await decode(model, ids, strat, params, {
              genLength,
              blockLength,
              steps: stepsFor,
              temperature: 0,
              seed: 0,
              topK: 5,
              cache,
              record: diagnose,
              eot: spec.eot,
              // The detectors do not read the logit lens; its head per layer would only slow the bench.
              lens: false,
            });
            const out = decodeOutput(model, r.state, ids.length);
            outputs.push(out);
            const instanceScore = suiteDef.score(out, t);
            score += instanceScore;
            if (diagnose) {
              const bytes = buildTraceBytes(
                model,
                {
                  strategy: spec.name,
                  cache,
                  genLength,
                  blockLength,
                  seed: 0,
                  topK: 5,
                  prompt: t.prompt,
                  params: { ...params, ...(spec.eot ? { eot: true } : {}) },
                  task: t,
                  score: instanceScore,
                },
                ids,
                r,
                out,
              );
              let file: string | undefined;
              if (req.tracesDir) {
                mkdirSync(req.tracesDir, { recursive: true });
                file = join(req.tracesDir, traceName(suite, strategy, cache, index));
                writeFileAtomic(file, bytes);
              }
              const trace = readTrace(bytes);
              if (setWriter) setWriter.append(trace, { task: suite, doc_id: index });
              diagnosed.push(
                diagnoseInstance(trace, {
                  index,
                  task_id: t.id,
                  score: instanceScore,
                  steps: r.steps,
                  nfe: r.nfe,
                  tpf: genLength / r.nfe,
                  ...(file ? { trace: file } : {}),
                }),
              );
            }
            steps += r.steps;
            nfe += r.nfe;
            wall += r.wallMs;
            gen += genLength;
            answer += answerTokens(r.state.subarray(ids.length), endIds);
            onProgress?.(++done, total, `${suite}/${strategy}/${cache}`);
          }
          cells.push({
            suite,
            strategy,
            cache,
            n: req.limit,
            accuracy: score / req.limit,
            steps: steps / req.limit,
            nfe: nfe / req.limit,
            tpf: gen / nfe,
            tpf_answer: answer / nfe,
            wall_ms: wall / req.limit,
            tokens_per_s: gen / (wall / 1000),
            speedup: 1,
            outputs,
            ...(diagnose
              ? {
                  detectors: detectorShares(diagnosed),
                  detector_signs: signShares(diagnosed),
                  kendall: definedMean(diagnosed.map((x) => x.kendall)).mean,
                  kendall_block: definedMean(diagnosed.map((x) => x.kendall_block)).mean,
                  instances: diagnosed,
                }
              : {}),
          });
        }
    }
    for (const c of cells) {
      const base = cells.find(
        (b) => b.suite === c.suite && b.strategy === req.strategies[0] && b.cache === req.caches[0],
      )!;
      c.speedup = c.tokens_per_s / base.tokens_per_s;
    }
    await model.release();
  } finally {
    setWriter?.close();
  }
  return cells;
}

/** An instance trace's file name: what the strategy spec and cache say, made safe for any file system. */
export const traceName = (suite: string, strategy: string, cache: string, index: number) =>
  `${[suite, strategy, cache, String(index)].join('-').replace(/[^\w.=@-]+/g, '_')}.dlens`;
