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
import { DETECTORS, type DetectorId } from '../metrics/detectors/index.js';
import {
  diagnoseInstance,
  detectorShares,
  definedMean,
  signShares,
  DETECTOR_SIGNS,
  type InstanceDiagnosis,
} from './diagnose.js';
import { existsSync, mkdirSync, statSync } from 'node:fs';
import { aupTable } from '../metrics/aup.js';
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
} {
  const [name, rest] = spec.split('@') as [string, string | undefined];
  const params: Record<string, string> = {};
  let steps: number | undefined, tps: number | undefined, eot: boolean | undefined;
  for (const kv of rest ? rest.split(',') : []) {
    const [k, v] = kv.split('=') as [string, string | undefined];
    if (!k || v === undefined) throw new DlensError(`strategy spec "${spec}": expected NAME@key=value,...`);
    if ((k === 'steps' || k === 'tps') && !(Number.isInteger(Number(v)) && Number(v) >= 1))
      throw new DlensError(`strategy spec "${spec}": ${k} must be a whole number >= 1`);
    if (k === 'steps') steps = Number(v);
    else if (k === 'tps') tps = Number(v);
    else if (k === 'eot') eot = v === 'true' || v === '1';
    else params[k] = v;
  }
  if (steps !== undefined && tps !== undefined)
    throw new DlensError(`strategy spec "${spec}": give steps or tps, not both`);
  return { name, params, steps, tps, eot };
}

/** suites x strategies x caches on one model; every cell decodes the same eval instances. */
export async function runBench(
  req: BenchRequest,
  onProgress?: (done: number, total: number, label: string) => void,
): Promise<BenchCell[]> {
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
            blockLength: Math.min(req.blockLength, genLength),
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
                blockLength: Math.min(req.blockLength, genLength),
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
            diagnosed.push(
              diagnoseInstance(readTrace(bytes), {
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
  return cells;
}

/** An instance trace's file name: what the strategy spec and cache say, made safe for any file system. */
export const traceName = (suite: string, strategy: string, cache: string, index: number) =>
  `${[suite, strategy, cache, String(index)].join('-').replace(/[^\w.=@-]+/g, '_')}.dlens`;

/**
 * TPF two ways (docs/metrics.md): over all generated positions (gen length / NFE: Fast-dLLM's and ParallelBench's
 * tokens per forward, where EOS padding counts) and over the answer's tokens only (d3LLM's leaderboard: TPF excluding
 * EOS). AUP is computed on the first, as before.
 */
const HEAD = [
  'suite',
  'strategy',
  'cache',
  'n',
  'accuracy %',
  'steps',
  'NFE',
  'TPF (all)',
  'TPF (answer, excl. EOS)',
  'wall ms',
  'tokens/s',
  'speedup',
];
const rowOf = (c: BenchCell) => [
  c.suite,
  c.strategy,
  c.cache,
  String(c.n),
  (c.accuracy * 100).toFixed(1),
  c.steps.toFixed(1),
  c.nfe.toFixed(1),
  c.tpf.toFixed(2),
  c.tpf_answer.toFixed(2),
  c.wall_ms.toFixed(0),
  c.tokens_per_s.toFixed(1),
  `${c.speedup.toFixed(2)}x`,
];
const aupRow = (r: ReturnType<typeof aupTable>[number]) => [
  r.strategy,
  r.cache,
  (r.accuracy * 100).toFixed(1),
  r.tpf.toFixed(2),
  r.tpf_answer.toFixed(2),
  r.steps.toFixed(1),
  r.aup.toFixed(3),
];
const AUP_HEAD = [
  'strategy',
  'cache',
  'mean accuracy %',
  'mean TPF (all)',
  'mean TPF (answer, excl. EOS)',
  'mean steps',
  'AUP (alpha 3, on TPF all)',
];

/**
 * Failure detectors and decoding order per strategy and cache over all suites (instances pooled): the share of
 * instances each detector flags (docs/diagnostics.md; "n/a" where it cannot judge the strategy's decodes) and the
 * mean decoding-order Kendall tau. Empty when the bench ran without diagnostics.
 */
export function diagnosticsTable(cells: BenchCell[]) {
  const keys = [...new Set(cells.filter((c) => c.instances).map((c) => `${c.strategy}|${c.cache}`))];
  return keys.map((k) => {
    const cs = cells.filter((c) => `${c.strategy}|${c.cache}` === k);
    const xs = cs.flatMap((c) => c.instances ?? []);
    return {
      strategy: cs[0]!.strategy,
      cache: cs[0]!.cache,
      n: xs.length,
      detectors: detectorShares(xs),
      signs: signShares(xs),
      kendall: definedMean(xs.map((x) => x.kendall)),
      kendall_block: definedMean(xs.map((x) => x.kendall_block)),
    };
  });
}
const pct = (x: number | null) => (x === null ? 'n/a' : (x * 100).toFixed(1));
const tau = (m: { mean: number | null; n: number }) => (m.mean === null ? 'n/a' : `${m.mean.toFixed(2)} (${m.n})`);
const DIAG_HEAD = [
  'strategy',
  'cache',
  'instances',
  ...DETECTORS.map((d) => `${d.label} %`),
  ...DETECTOR_SIGNS.map((s) => `${s.label} %`),
  'Kendall tau (answer; n defined)',
  'Kendall tau per block',
];
const diagRow = (r: ReturnType<typeof diagnosticsTable>[number]) => [
  r.strategy,
  r.cache,
  String(r.n),
  ...DETECTORS.map((d) => pct(r.detectors[d.id])),
  ...DETECTOR_SIGNS.map((s) => pct(r.signs[s.key] ?? null)),
  tau(r.kendall),
  tau(r.kendall_block),
];

export function benchCsv(cells: BenchCell[]): string {
  const q = (s: string) => (/[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s);
  return (
    [HEAD, ...cells.map(rowOf)].map((r) => r.map(q).join(',')).join('\n') +
    '\n\n' +
    [AUP_HEAD, ...aupTable(cells).map(aupRow)].map((r) => r.map(q).join(',')).join('\n') +
    '\n' +
    (cells.some((c) => c.instances)
      ? '\n' + [DIAG_HEAD, ...diagnosticsTable(cells).map(diagRow)].map((r) => r.map(q).join(',')).join('\n') + '\n'
      : '')
  );
}

export function benchLatex(
  cells: BenchCell[],
  caption = 'Decoding strategies on dlens task suites (dlens bench).',
): string {
  const esc = (s: string) => s.replace(/([&%$#_{}])/g, '\\$1');
  const table = (head: string[], rows: string[][], cap: string) =>
    [
      '\\begin{table}[t]',
      '\\centering',
      '\\small',
      `\\begin{tabular}{${'l'.repeat(head.length > 6 ? 3 : 2)}${'r'.repeat(head.length - (head.length > 6 ? 3 : 2))}}`,
      '\\toprule',
      head.map(esc).join(' & ') + ' \\\\',
      '\\midrule',
      ...rows.map((r) => r.map(esc).join(' & ') + ' \\\\'),
      '\\bottomrule',
      '\\end{tabular}',
      `\\caption{${esc(cap)}}`,
      '\\end{table}',
    ].join('\n');
  return (
    table(HEAD, cells.map(rowOf), caption) +
    '\n\n' +
    table(AUP_HEAD, aupTable(cells).map(aupRow), 'Accuracy under parallelism (AUP, alpha = 3) per strategy.') +
    '\n' +
    (cells.some((c) => c.instances)
      ? '\n' +
        table(
          DIAG_HEAD,
          diagnosticsTable(cells).map(diagRow),
          'Share of instances each failure detector flags, and the decoding order (Kendall tau; 1 = left to right).',
        ) +
        '\n'
      : '')
  );
}

export function benchMarkdown(cells: BenchCell[]): string {
  const t = aupTable(cells);
  return [
    `| ${HEAD.join(' | ')} |`,
    `|${HEAD.map(() => '---').join('|')}|`,
    ...cells.map((c) => `| ${rowOf(c).join(' | ')} |`),
    '',
    `| ${AUP_HEAD.join(' | ')} |`,
    `|${AUP_HEAD.map(() => '---').join('|')}|`,
    ...t.map((r) => `| ${aupRow(r).join(' | ')} |`),
    ...(cells.some((c) => c.instances)
      ? [
          '',
          `| ${DIAG_HEAD.join(' | ')} |`,
          `|${DIAG_HEAD.map(() => '---').join('|')}|`,
          ...diagnosticsTable(cells).map((r) => `| ${diagRow(r).join(' | ')} |`),
        ]
      : []),
  ].join('\n');
}
