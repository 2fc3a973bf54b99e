/**
 * Fidelity to the papers' code (issue 15; docs/fidelity.md): dlens-tiny decoded by dlens for every configuration and
 * prompt of test/fixtures/reference-goldens.json (what LLaDA's generate.py, Fast-dLLM's llada/generate.py and
 * Sparse-dLLM's llada_generate.py decoded, run unchanged by test/reference/make_goldens.py), compared.
 *   npm run bench:fidelity [-- --goldens FILE [--out NAME]]     (about a minute on 2 cores)
 * Writes bench/results/fidelity.md (or NAME.md); test/integration/reference-goldens.test.ts asserts the same
 * comparison against the committed goldens.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadModel, REPO_ROOT } from '../engine/model/load.js';
import { compareRun, readGoldens, summaryTable, type RunComparison } from '../test/reference/compare.js';

const arg = (name: string) => {
  const i = process.argv.indexOf(name);
  return i > 0 ? process.argv[i + 1] : undefined;
};
const goldens = arg('--goldens'),
  out = arg('--out') ?? 'fidelity';
const flags = process.argv.slice(2).join(' '); // as given, for the header's command
const model = await loadModel('dlens-tiny');
const g = readGoldens(goldens);
const rows: { config: string; runs: RunComparison[] }[] = [];
const notes: string[] = [];
for (const c of g.configs) {
  const runs: RunComparison[] = [];
  for (const [i, run] of c.runs.entries()) runs.push(await compareRun(model, g, c, run, g.prompts[i]!.ids));
  rows.push({ config: c.name, runs });
  for (const r of runs)
    if (!r.outputEqual || r.orderMismatches > r.excused)
      notes.push(`- ${c.name} ${r.task}: output ${r.outputEqual ? 'equal' : 'differs'}; ${r.firstMismatch ?? ''}`);
  process.stderr.write(`${c.name}: done\n`);
}
const md = [
  "# dlens against the papers' decoding code",
  '',
  `dlens-tiny, ${g.prompts.length} prompts (${[...new Set(g.prompts.map((p) => p.task.split(':')[0]))].join(', ')}), greedy, gen ${g.gen_length}, block ${g.block_length}, steps ${g.steps}. Reference run on ${g.device}: ${goldens ?? 'test/fixtures/reference-goldens.json'} (test/reference/make_goldens.py). Command: \`npm run bench:fidelity${flags ? ` -- ${flags}` : ''}\`.`,
  '',
  summaryTable(rows),
  '',
  ...(notes.length ? ['Differences:', '', ...notes] : ["No differences beyond the reference's own ties."]),
  '',
].join('\n');
writeFileSync(join(REPO_ROOT, 'bench', 'results', `${out}.md`), md);
process.stdout.write(md);
await model.release();
