/**
 * Issue 19's targets for a dlens-tiny v2 candidate, measured through the engine (CPU, onnxruntime) on held-out
 * instances of the suites whose tokens depend on each other:
 * - the baseline (low-confidence, one token per step, block 32) at 60-90 % on arith and carry together;
 * - the threshold-style strategies' AUP over arith, carry and choose: no two within 1 % of each other;
 * - on the baseline's arith traces, the mean confidence of the still-masked positions rising over the steps instead of
 *   sitting at 1.0;
 * - a volatility band (docs/metrics.md) on at least half of the baseline's arith traces.
 * It also reports where the baseline's arith answers go wrong, step by step (the model card's known weakness).
 *   npm run bench:v2 -- [--model=DIR] [--limit=40] [--label=TEXT]
 * Writes bench/results/v2-targets.md (a model other than the bundled one: bench/results/v2-targets-LABEL.md).
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPO_ROOT } from '../engine/model/load.js';
import { readTrace, type Trace } from '../engine/trace/trace.js';
import { runBench, type BenchCell } from '../engine/evaluate/run.js';
import { aupTable } from '../engine/metrics/aup.js';
import { traceMetrics } from '../engine/metrics/index.js';

const arg = (k: string) => process.argv.find((a) => a.startsWith(`--${k}=`))?.split('=')[1];
const model = arg('model'),
  limit = Number(arg('limit') ?? 40),
  label = arg('label') ?? (model ? 'candidate' : 'bundled');
const SUITES = ['arith', 'carry', 'choose'];
const THRESHOLDS = ['fast-dllm-threshold', 'fast-dllm-factor', 'localleap', 'adablock', 'credit'];
const dir = mkdtempSync(join(tmpdir(), 'dlens-v2-'));
const cells: BenchCell[] = await runBench(
  {
    model,
    suites: SUITES,
    strategies: ['low-confidence', ...THRESHOLDS],
    caches: ['none'],
    limit,
    blockLength: 32,
    tracesDir: dir,
  },
  (d, t) => d % 60 === 0 && process.stderr.write(`${d}/${t}\n`),
);
const cell = (suite: string, strategy: string) => cells.find((c) => c.suite === suite && c.strategy === strategy)!;
const pct = (x: number) => `${(x * 100).toFixed(1)} %`;

// 1. The baseline on arith and carry.
const [arith, carry] = ['arith', 'carry'].map((s) => cell(s, 'low-confidence').accuracy);
const together = (arith! + carry!) / 2;

// 2. AUP of the threshold-style strategies over the three suites, and the closest two.
const aups = aupTable(cells).filter((r) => THRESHOLDS.includes(r.strategy));
let closest = { gap: Infinity, a: '', b: '' };
for (const [i, x] of aups.entries())
  for (const y of aups.slice(i + 1)) {
    const top = Math.max(x.aup, y.aup);
    const gap = top > 0 ? Math.abs(x.aup - y.aup) / top : 0; // two zero areas are equal
    if (gap < closest.gap) closest = { gap, a: x.strategy, b: y.strategy };
  }

// 3 and 4. The baseline's arith traces: masked confidence over the steps, and the volatility band.
const traces: Trace[] = cell('arith', 'low-confidence').instances!.map((x) =>
  readTrace(new Uint8Array(readFileSync(x.trace!))),
);
/** Per step, the mean confidence of the positions still masked at that step (NaN when none was computed). */
const maskedMean = (t: Trace) =>
  Array.from({ length: t.dims.S }, (_, s) => {
    let n = 0,
      sum = 0;
    for (let g = 0; g < t.dims.G; g++) {
      const c = t.confidence[s * t.dims.G + g]!;
      if (t.masked[s * t.dims.T + t.dims.P + g] && !Number.isNaN(c)) {
        n++;
        sum += c;
      }
    }
    return n ? sum / n : NaN;
  });
const mean = (xs: number[]) => {
  const ok = xs.filter((x) => !Number.isNaN(x));
  return ok.length ? ok.reduce((a, b) => a + b, 0) / ok.length : NaN;
};
const series = traces.map(maskedMean);
const quarter = (xs: number[], q: number) =>
  mean(xs.slice(Math.floor((q * xs.length) / 4), Math.floor(((q + 1) * xs.length) / 4)));
const first = mean(series.map((x) => quarter(x, 0))),
  last = mean(series.map((x) => quarter(x, 3)));
const rising = series.filter((x) => quarter(x, 3) > quarter(x, 0)).length / series.length;
const atOne = mean(series.map((x) => x.filter((v) => v >= 0.999).length / x.length));
const banded = traces.filter((t) => traceMetrics(t).regions.answer.volatility.steps_with_band > 0).length;

// Where the baseline's arith answers go wrong: each written step ("48 + 48 = 96") against the reference's, by operator.
const steps = { first: [0, 0], '+': [0, 0], '*': [0, 0] } as Record<string, [number, number]>;
for (const { manifest } of traces) {
  const ref = manifest.task!.reference.split('; ');
  const got = manifest.output.split(';').map((x) => x.trim());
  for (const k of [0, 1]) {
    const key = k === 0 ? 'first' : ref[k]!.includes('*') ? '*' : '+';
    steps[key]![1]++;
    if (got[k] === ref[k]) steps[key]![0]++;
  }
}
const of = (key: string) => `${steps[key]![0]} of ${steps[key]![1]}`;

const ok = (b: boolean) => (b ? 'met' : '**not met**');
const md = [
  `Issue 19's targets (npm run bench:v2): model ${model ?? 'dlens-tiny (bundled)'}; ${limit} held-out instances per suite (seed 424242), each suite at its own gen length, block 32, cache none, greedy; ${new Date().toISOString()}`,
  '',
  '| target | measured | |',
  '|---|---|---|',
  `| baseline (low-confidence, 1 token/step) on arith and carry together: 60-90 % | ${pct(together)} (arith ${pct(arith!)}, carry ${pct(carry!)}) | ${ok(together >= 0.6 && together <= 0.9)} |`,
  `| threshold-style strategies' AUP on arith, carry, choose: no two within 1 % | closest: ${closest.a} and ${closest.b}, ${(closest.gap * 100).toFixed(2)} % apart | ${ok(closest.gap >= 0.01)} |`,
  `| mean confidence of still-masked positions rises over the steps (baseline, arith) | first quarter of the steps ${first.toFixed(3)}, last quarter ${last.toFixed(3)}; rises in ${pct(rising)} of the traces; steps at ≥ 0.999: ${pct(atOne)} | ${ok(last > first && atOne < 0.5)} |`,
  `| volatility band on at least half of the arith traces (baseline) | ${banded} of ${traces.length} | ${ok(banded * 2 >= traces.length)} |`,
  '',
  '| strategy | arith % | carry % | choose % | mean TPF | AUP |',
  '|---|---|---|---|---|---|',
  ...aupTable(cells).map(
    (r) =>
      `| ${r.strategy} | ${SUITES.map((s) => (cell(s, r.strategy).accuracy * 100).toFixed(1)).join(' | ')} | ${r.tpf.toFixed(2)} | ${r.aup.toFixed(2)} |`,
  ),
  '',
  `The baseline's arith answers step by step, each written step against the reference's: first steps right ${of('first')}; second steps right: sums ${of('+')}, products ${of('*')}.`,
].join('\n');
const file = join(REPO_ROOT, 'bench', 'results', label === 'bundled' ? 'v2-targets.md' : `v2-targets-${label}.md`);
writeFileSync(file, md + '\n');
console.log(md);
rmSync(dir, { recursive: true, force: true });
