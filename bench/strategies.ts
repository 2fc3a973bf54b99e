/**
 * Strategy benchmark (issue 5): every strategy on dlens-tiny over the deterministic suites, the multi-answer ones and
 * the suites whose tokens depend on each other (issue 19: arith, carry, choose), side by side in one run: accuracy,
 * steps, NFE, TPF, wall time, tokens/s, speedup, AUP (also per dependent-token suite); plus the claims the issues ask
 * about, computed from the same table. Learn2PD's filter is first trained on traces of other instances.
 *   npm run bench:strategies            (about 8 minutes on 2 cores)
 * Writes bench/results/strategies.{md,csv,tex,json} and bench/results/learn2pd-filter.json.
 */
import { mkdirSync, writeFileSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from '../engine/model/load.js';
import { record } from '../engine/record.js';
import { readTrace } from '../engine/trace/trace.js';
import { taskAt } from '../engine/tasks/generate.js';
import { getSuite } from '../engine/tasks/suites.js';
import { fileCorpus } from '../engine/tasks/corpus.js';
import { traceExamples, trainFilter } from '../engine/learn/filter.js';
import { runBench, aupTable, type BenchCell } from '../engine/evaluate/run.js';
import { benchMarkdown, benchCsv, benchLatex } from '../engine/evaluate/tables.js';
import { DEFAULTS } from '../engine/api/defaults.js';
import { strategySet } from './strategy-set.js';

const limit = Number(process.argv.find((a) => a.startsWith('--limit='))?.slice(8) ?? 12);
const DET = ['copy', 'reverse', 'sort', 'add', 'count', 'lookup'],
  MULTI = ['shuffle', 'pick'],
  DEP = ['arith', 'carry', 'choose'];
const ALL = [...DET, ...MULTI, ...DEP];
const out = join(REPO_ROOT, 'bench', 'results');
mkdirSync(out, { recursive: true });
const log = (s: string) => process.stderr.write(s + '\n');

// Learn2PD's filter, from baseline traces of training-seed instances (never the eval instances benchmarked below).
const tdir = join(REPO_ROOT, 'bench', 'tmp', 'learn2pd-traces');
mkdirSync(tdir, { recursive: true });
const X: number[][] = [],
  Y: number[] = [];
for (const suite of ALL)
  for (let i = 0; i < 3; i++) {
    const task = taskAt(suite, i, 1234, { split: 'train', corpus: fileCorpus() });
    const f = join(tdir, `${suite}-${i}.dlens`);
    const g = getSuite(suite).genLength;
    await record({ task, genLength: g, blockLength: 32, steps: g, out: f });
    const ex = traceExamples(readTrace(new Uint8Array(readFileSync(f))));
    X.push(...ex.x);
    Y.push(...ex.y);
  }
const filter = trainFilter(X, Y, 3 * ALL.length);
const filterPath = join(out, 'learn2pd-filter.json');
writeFileSync(filterPath, JSON.stringify(filter, null, 1));
log(`learn2pd filter: ${filter.examples} examples, train accuracy ${(filter.train_accuracy * 100).toFixed(1)}%`);

const strategies = strategySet(filterPath, { eot: true });
let done = 0;
const cells: BenchCell[] = await runBench(
  // speed alone: recording for the diagnostics would add its per-step cost (npm run bench:diagnostics has them)
  { suites: ALL, strategies, caches: ['none'], limit, blockLength: 32, diagnose: false },
  (d, t, label) => {
    if (d - done >= 20 || d === t) {
      done = d;
      log(`${d}/${t} ${label}`);
    }
  },
);
const short = (s: string) => s.replace(`filter=${filterPath}`, 'filter=learned');
for (const c of cells) c.strategy = short(c.strategy);

const cell = (suite: string, strat: string) => cells.find((c) => c.suite === suite && c.strategy === strat)!;
const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
const detAcc = (s: string) => mean(DET.map((x) => cell(x, s).accuracy));
const detSteps = (s: string) => mean(DET.map((x) => cell(x, s).steps));
const names = [...new Set(cells.map((c) => c.strategy))];
const base = 'low-confidence';
const claims: string[] = [];
const fast = names
  .filter((s) => s !== base && detSteps(s) <= 0.25 * detSteps(base) && detAcc(s) >= detAcc(base) - 0.01)
  .sort((a, b) => detSteps(a) - detSteps(b));
claims.push(
  fast.length
    ? `Best strategy at <= 25 % of the baseline's steps with <= 1 point loss on the deterministic suites: ${fast[0]} (${detSteps(fast[0]!).toFixed(1)} vs ${detSteps(base).toFixed(1)} steps, ${(detAcc(fast[0]!) * 100).toFixed(1)} vs ${(detAcc(base) * 100).toFixed(1)} %); all that qualify: ${fast.join(', ')}.`
    : `No strategy reached <= 25 % of the baseline's steps within 1 point on the deterministic suites.`,
);
let same = 0,
  total = 0;
for (const s of ALL)
  cell(s, 'freedave').outputs!.forEach((o, i) => {
    total++;
    if (o === cell(s, base).outputs![i]) same++;
  });
claims.push(
  `FreeDave's outputs equal low-confidence's on ${same} of ${total} instances; NFE ${mean(ALL.map((x) => cell(x, 'freedave').nfe)).toFixed(1)} vs ${mean(ALL.map((x) => cell(x, base).nfe)).toFixed(1)}.`,
);
for (const agg of ['low-confidence@tps=4', 'fast-dllm-threshold@threshold=0.5']) {
  const d = [...MULTI, ...DEP]
    .map((m) => `${m} ${(cell(m, base).accuracy * 100).toFixed(0)} -> ${(cell(m, agg).accuracy * 100).toFixed(0)} %`)
    .join(', ');
  const dd = mean(DET.map((x) => cell(x, agg).accuracy)) - detAcc(base);
  claims.push(
    `Aggressive parallel commits (${agg}): multi-answer and dependent-token suites ${d}; deterministic suites ${dd >= 0 ? '+' : ''}${(dd * 100).toFixed(1)} points.`,
  );
}
const header = `Strategy benchmark, dlens-tiny, ${limit} eval instances per suite (seed ${DEFAULTS.taskSeed}), each suite at its own gen length (32; sort and arith 64), block 32, baseline 1 token/step, cache none; ${new Date().toISOString()}`;
// Per dependent-token suite: accuracy, steps, TPF and the AUP of that suite alone (its own baseline and best accuracy).
const depAup = new Map(DEP.map((d) => [d, aupTable(cells.filter((c) => c.suite === d))]));
const depTable = [
  `Dependent-token suites (accuracy %, steps, TPF, AUP of the suite alone):`,
  '',
  `| strategy | ${DEP.map((d) => `${d} % | steps | TPF | AUP`).join(' | ')} |`,
  `|---|${DEP.map(() => '---|---|---|---').join('|')}|`,
  ...names.map(
    (n) =>
      `| ${n} | ${DEP.map((d) => {
        const c = cell(d, n);
        const a = depAup.get(d)!.find((r) => r.strategy === n)!.aup;
        return `${(c.accuracy * 100).toFixed(1)} | ${c.steps.toFixed(1)} | ${c.tpf.toFixed(2)} | ${a.toFixed(2)}`;
      }).join(' | ')} |`,
  ),
];
const md = [header, '', ...claims.map((c) => `- ${c}`), '', ...depTable, '', benchMarkdown(cells)].join('\n');
const clean = cells.map(({ outputs: _o, ...c }) => c);
writeFileSync(join(out, 'strategies.md'), md + '\n');
writeFileSync(join(out, 'strategies.csv'), benchCsv(cells));
writeFileSync(join(out, 'strategies.tex'), benchLatex(cells));
writeFileSync(
  join(out, 'strategies.json'),
  JSON.stringify(
    {
      header,
      claims,
      cells: clean,
      aup: aupTable(cells),
      aup_per_dependent_suite: Object.fromEntries(depAup),
      filter: { examples: filter.examples, train_accuracy: filter.train_accuracy },
    },
    null,
    1,
  ),
);
console.log(md);
