/**
 * Cache benchmark (issue 4): the same prompts at gen lengths 256, 512, 1024 under none/prefix/dual/sparse, measured
 * side by side in one run on this machine: tokens/s, speedup over none, peak and mean KV-cache bytes, the cost of
 * recording (same run with recording off), and suite accuracy. Writes bench/results/caches.{json,md}.
 *   npm run bench                   full table (about 45 minutes on 2 cores)
 *   npm run bench -- --quick        gen length 256 only, fewer accuracy instances
 *   npm run bench -- --quick --accuracy-n 20   gen length 256 only, 20 accuracy instances per suite
 */
import { writeFileSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadModel } from '../engine/model/load.js';
import { decode } from '../engine/decode/run.js';
import { lowConfidence } from '../engine/strategies/low-confidence.js';
import { taskAt } from '../engine/tasks/generate.js';
import { getSuite } from '../engine/tasks/suites.js';
import { fileCorpus } from '../engine/tasks/corpus.js';
import { buildTraceBytes } from '../engine/record.js';
import { decodeOutput } from '../engine/decode/output.js';
import type { CacheMode } from '../engine/cache/types.js';
import { REPO_ROOT } from '../engine/model/load.js';
import { DEFAULTS } from '../engine/api/defaults.js';
import { CACHE_MODES } from '../engine/cache/modes.js';

const quick = process.argv.includes('--quick');
// --accuracy-only: re-measure the accuracy table with the current weights and keep the speed rows of the last full run
// (throughput depends on the graph's shapes, not on its weight values, which is all a retrained model changes).
const accuracyOnly = process.argv.includes('--accuracy-only');
const MODES = CACHE_MODES;
const GENS = quick ? [256] : [256, 512, 1024];
const ACC_SUITES = ['copy', 'reverse', 'sort', 'add', 'count', 'lookup'];
const accN = process.argv.indexOf('--accuracy-n');
const ACC_N = accN > 0 ? Number(process.argv[accN + 1]) : quick ? 3 : 20;
const SEED = DEFAULTS.taskSeed;
const ctx = { split: 'eval' as const, corpus: fileCorpus() };

const model = await loadModel();
const enc = (p: string) => model.encode(model.card.prompt_template.replace('{prompt}', p));
// A long-context prompt (lookup, ~550 tokens) and a short English one.
const prompts = [taskAt('lookup', 0, SEED, ctx).prompt, 'Define: lantern'];

type Row = {
  gen: number;
  mode: CacheMode;
  tokens_per_s: number;
  wall_ms: number;
  nfe: number;
  peak_cache_bytes: number;
  mean_cache_bytes: number;
  wall_ms_no_record: number;
  record_cost_ms: number;
  trace_bytes: number;
};
const rows: Row[] = [];
const log = (s: string) => process.stderr.write(s + '\n');
const previous = accuracyOnly
  ? JSON.parse(readFileSync(join(REPO_ROOT, 'bench', 'results', 'caches.json'), 'utf8'))
  : null;
if (previous) rows.push(...previous.rows);
for (const gen of accuracyOnly ? [] : GENS) {
  for (const mode of MODES) {
    let wall = 0,
      wallOff = 0,
      nfe = 0,
      peak = 0,
      meanSum = 0,
      meanN = 0,
      cost = 0,
      traceBytes = 0;
    for (const p of prompts) {
      const opts = { genLength: gen, blockLength: 32, steps: gen / 2, temperature: 0, seed: 0, topK: 5, cache: mode };
      const ids = enc(p);
      const on = await decode(model, ids, lowConfidence, {}, { ...opts, record: true });
      const tb = performance.now();
      const bytes = buildTraceBytes(
        model,
        {
          strategy: 'low-confidence',
          cache: mode,
          genLength: gen,
          blockLength: 32,
          seed: 0,
          topK: 5,
          prompt: p,
          params: {},
        },
        ids,
        on,
        decodeOutput(model, on.state, ids.length),
      );
      const buildMs = performance.now() - tb;
      const off = await decode(model, ids, lowConfidence, {}, { ...opts, record: false });
      wall += on.wallMs + buildMs;
      wallOff += off.wallMs;
      nfe += on.nfe;
      peak = Math.max(peak, on.peakCacheBytes);
      traceBytes += bytes.byteLength;
      // Recording never changes what the model computes (same inputs, same graph), so its cost is the extra time
      // outside the forward passes plus building the trace; the forward passes themselves vary ±10 % run to run here.
      cost += on.wallMs - on.forwardMs + buildMs - (off.wallMs - off.forwardMs);
      const cb = on.recorder.stepValues.get('cache_bytes') ?? [];
      for (const v of cb) {
        meanSum += v;
        meanN++;
      }
    }
    const row = {
      gen,
      mode,
      tokens_per_s: (gen * prompts.length) / (wallOff / 1000),
      wall_ms: wall,
      nfe,
      peak_cache_bytes: peak,
      mean_cache_bytes: meanN ? meanSum / meanN : 0,
      wall_ms_no_record: wallOff,
      record_cost_ms: cost,
      trace_bytes: traceBytes,
    };
    rows.push(row);
    log(
      `gen ${gen} ${mode.padEnd(6)} ${row.tokens_per_s.toFixed(1)} tok/s  recording cost ${((cost / wallOff) * 100).toFixed(1)}% (wall ratio ${((wall / wallOff - 1) * 100).toFixed(1)}%)  peak cache ${(peak / 1e6).toFixed(2)} MB`,
    );
  }
}

// Accuracy: deterministic suites, gen length 64, one token per step (issue 3's baseline),
// lookup's ~550-token contexts included.
const acc: Record<string, Record<string, number>> = {};
for (const mode of MODES) {
  acc[mode] = {};
  for (const suite of ACC_SUITES) {
    let score = 0;
    for (let i = 0; i < ACC_N; i++) {
      const t = taskAt(suite, i, SEED, ctx);
      const ids = enc(t.prompt);
      const r = await decode(
        model,
        ids,
        lowConfidence,
        {},
        { genLength: 64, blockLength: 32, steps: 64, temperature: 0, seed: 0, topK: 5, cache: mode, record: false },
      );
      score += getSuite(suite).score(decodeOutput(model, r.state, ids.length), t);
    }
    acc[mode]![suite] = score / ACC_N;
  }
  const mean = ACC_SUITES.reduce((s, k) => s + acc[mode]![k]!, 0) / ACC_SUITES.length;
  acc[mode]!.mean = mean;
  log(`accuracy ${mode}: ${JSON.stringify(acc[mode])}`);
}

const base = (gen: number) => rows.find((r) => r.gen === gen && r.mode === 'none')!;
const dual = (gen: number) => rows.find((r) => r.gen === gen && r.mode === 'dual')!;
const table = rows.map((r) => ({
  ...r,
  speedup_vs_none: r.tokens_per_s / base(r.gen).tokens_per_s,
  peak_vs_dual: dual(r.gen).peak_cache_bytes ? r.peak_cache_bytes / dual(r.gen).peak_cache_bytes : 0,
  mean_vs_dual: dual(r.gen).mean_cache_bytes ? r.mean_cache_bytes / dual(r.gen).mean_cache_bytes : 0,
  record_overhead: r.record_cost_ms / r.wall_ms_no_record,
  wall_ratio_overhead: r.wall_ms / r.wall_ms_no_record - 1,
}));
const now = new Date().toISOString();
// an --accuracy-only run keeps the speed rows, so the table's date stays the date they were measured
const speedMeasured = previous?.speed_measured ?? now;
const md = [
  (previous
    ? `Speed rows from the full run of ${speedMeasured}; accuracy re-measured ${now} with the current weights (same graph).\n\n`
    : '') +
    `Cache benchmark, dlens-tiny, ${prompts.length} prompts (lookup ~550 tokens, "Define: lantern"), block 32, 2 tokens/step, low-confidence; ${speedMeasured}`,
  '',
  '| gen | cache | tokens/s | speedup vs none | peak cache MB | peak vs dual | mean cache vs dual | recording cost | wall with/without recording | trace MB |',
  '|---|---|---|---|---|---|---|---|---|---|',
  ...table.map(
    (r) =>
      `| ${r.gen} | ${r.mode} | ${r.tokens_per_s.toFixed(1)} | ${r.speedup_vs_none.toFixed(2)}x | ${(r.peak_cache_bytes / 1e6).toFixed(2)} | ${r.peak_vs_dual.toFixed(2)} | ${r.mean_vs_dual.toFixed(2)} | ${(r.record_overhead * 100).toFixed(1)}% | ${r.wall_ratio_overhead * 100 >= 0 ? '+' : ''}${(r.wall_ratio_overhead * 100).toFixed(1)}% | ${(r.trace_bytes / 1e6).toFixed(1)} |`,
  ),
  '',
  'Recording cost: time recording adds outside the forward passes (statistics of every position, saliency, cache masks) plus building the trace file, over the wall time without recording. The wall ratio compares the two runs directly; on this machine forward passes vary by about 10 % between identical runs, which that column carries.',
  '',
  `Accuracy (gen 64, block 32, 1 token/step, ${ACC_N} eval instances per suite, seed ${SEED}):`,
  '',
  `| cache | ${ACC_SUITES.join(' | ')} | mean |`,
  `|---|${ACC_SUITES.map(() => '---').join('|')}|---|`,
  ...MODES.map(
    (m) =>
      `| ${m} | ${ACC_SUITES.map((s) => (acc[m]![s]! * 100).toFixed(0)).join(' | ')} | ${(acc[m]!.mean! * 100).toFixed(1)} |`,
  ),
].join('\n');
const dir = join(REPO_ROOT, 'bench', 'results');
mkdirSync(dir, { recursive: true });
writeFileSync(
  join(dir, quick ? 'caches-quick.json' : 'caches.json'),
  JSON.stringify({ rows: table, accuracy: acc, prompts, quick, speed_measured: speedMeasured }, null, 1),
);
writeFileSync(join(dir, quick ? 'caches-quick.md' : 'caches.md'), md + '\n');
console.log(md);
