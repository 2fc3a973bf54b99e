/**
 * Failure detectors and decoding order per strategy (issue 16): every strategy of bench:strategies on dlens-tiny over
 * the deterministic, multi-answer and dependent-token suites; each decode is recorded and diagnosed
 * (docs/diagnostics.md).
 *   npm run bench:diagnostics [-- --limit=N]      (about 15 minutes on 2 cores at the default 12 per suite)
 * Writes bench/results/diagnostics.{md,json}; the instance traces go to bench/tmp/diagnostics (the app's Bench view
 * opens them from the JSON). Learn2PD uses the filter bench:strategies trained (bench/results/learn2pd-filter.json).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from '../engine/model/load.js';
import { runBench, aupTable } from '../engine/evaluate/run.js';
import { benchMarkdown, diagnosticsTable } from '../engine/evaluate/tables.js';
import { DEFAULTS } from '../engine/api/defaults.js';
import { strategySet } from './strategy-set.js';
import { CHECKED_SUITES } from '../engine/tasks/suites.js';

const limit = Number(process.argv.find((a) => a.startsWith('--limit='))?.slice(8) ?? 12);
const suites = CHECKED_SUITES;
const out = join(REPO_ROOT, 'bench', 'results');
const filter = join(out, 'learn2pd-filter.json');
const strategies = strategySet(filter, { eot: false });
let done = 0;
const cells = await runBench(
  {
    suites,
    strategies,
    caches: ['none'],
    limit,
    blockLength: 32,
    tracesDir: join(REPO_ROOT, 'bench', 'tmp', 'diagnostics'),
  },
  (d, t, label) => {
    if (d - done >= 40 || d === t) {
      done = d;
      process.stderr.write(`${d}/${t} ${label}\n`);
    }
  },
);
for (const c of cells) c.strategy = c.strategy.replace(`filter=${filter}`, 'filter=learned');
const header = `Failure detectors and decoding order, dlens-tiny, ${limit} eval instances per suite (seed ${DEFAULTS.taskSeed}) of ${suites.join(', ')}; each suite at its own gen length (32; sort and arith 64), block 32, greedy, cache none; every decode recorded (wall times include recording); ${new Date().toISOString()}`;
const md = [
  header,
  '',
  'Per strategy over all suites: the share of instances each detector flags (docs/diagnostics.md; n/a: the detector cannot judge that strategy) and the mean decoding-order Kendall tau over the answer (ParallelBench; 1 = left to right; n: instances where it is defined, i.e. not decided in one step).',
  '',
  benchMarkdown(cells),
].join('\n');
mkdirSync(out, { recursive: true });
writeFileSync(join(out, 'diagnostics.md'), md + '\n');
const clean = cells.map(({ outputs: _o, ...c }) => c);
writeFileSync(
  join(out, 'diagnostics.json'),
  JSON.stringify({ header, cells: clean, aup: aupTable(cells), diagnostics: diagnosticsTable(cells) }),
);
console.log(md);
