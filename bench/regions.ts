/**
 * Answer tokens against EOS padding (issue 17): four traces of dlens-tiny with the defaults (low-confidence, one
 * token per step, gen 64, block 32) — the README's first command (its `--task`), `--task sort:2`, "Define:
 * lantern" and `--task shuffle:3` — and their mean delay, oracle steps and TPF over all positions, the answer and
 * the padding.
 *   npm run bench:regions      (seconds)
 * Writes bench/results/regions.md.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { record } from '../engine/record.js';
import { readTrace } from '../engine/trace/trace.js';
import { taskAt } from '../engine/tasks/generate.js';
import { traceMetrics } from '../engine/metrics/index.js';
import { REPO_ROOT } from '../engine/model/load.js';
import { DEFAULTS } from '../engine/api/defaults.js';
import { README_DEMO, readmeDemoTask } from '../scripts/readme-demo.js';

const dir = mkdtempSync(join(tmpdir(), 'dlens-regions-'));
const task = (suite: string, i: number) => taskAt(suite, i, DEFAULTS.taskSeed, { split: 'eval' });
const runs = [
  { label: `\`--task ${README_DEMO.ref}\` (README)`, req: { task: readmeDemoTask() } },
  { label: '`--task sort:2`', req: { task: task('sort', 2) } },
  { label: '"Define: lantern"', req: { prompt: 'Define: lantern' } },
  { label: '`--task shuffle:3`', req: { task: task('shuffle', 3) } },
];
const rows: string[] = [];
for (const [i, r] of runs.entries()) {
  const out = join(dir, `${i}.dlens`);
  await record({ ...r.req, out });
  const m = traceMetrics(readTrace(new Uint8Array(readFileSync(out)))).regions;
  const f = (x: number) => x.toFixed(1);
  rows.push(
    `| ${r.label} | ${f(m.all.delay.meanDelay)} | ${f(m.answer.delay.meanDelay)} | ${f(m.padding.delay.meanDelay)} | ${m.answer.positions} | ${m.padding.positions} | ${m.all.delay.oracleSteps} / ${m.answer.delay.oracleSteps} | ${m.all.tpf.toFixed(2)} / ${m.answer.tpf.toFixed(2)} |`,
  );
}
const md = [
  `Answer tokens against EOS padding (npm run bench:regions): dlens-tiny, low-confidence, gen ${DEFAULTS.genLength}, block ${DEFAULTS.blockLength}, one token per step; ${new Date().toISOString()}`,
  '',
  '| trace | mean delay, all positions | mean delay, answer | mean delay, padding | answer tokens | padding | oracle steps all / answer | TPF all / answer |',
  '|---|---|---|---|---|---|---|---|',
  ...rows,
].join('\n');
writeFileSync(join(REPO_ROOT, 'bench', 'results', 'regions.md'), md + '\n');
console.log(md);
