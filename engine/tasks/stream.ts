/**
 * Training-data stream for the recipe: `node stream.mjs SEED N_PER_SUITE [suites]` writes JSONL, interleaving suites.
 * Bundled with esbuild and run on the GPU machine so training sees fresh instances without carrying gigabytes.
 */
import { taskAt } from './generate.js';
import { fileCorpus } from './corpus.js';
import { SUITES } from './suites.js';

const [seedArg = '1', nArg = '1000', suitesArg] = process.argv.slice(2);
const seed = Number(seedArg),
  n = Number(nArg);
const names = suitesArg ? suitesArg.split(',') : SUITES.map((s) => s.name);
const ctx = { split: 'train' as const, corpus: fileCorpus() };
let buf = '';
for (let i = 0; i < n; i++) {
  for (const name of names) {
    const t = taskAt(name, i, seed, ctx);
    buf += JSON.stringify({ suite: t.suite, prompt: t.prompt, reference: t.reference }) + '\n';
  }
  if (buf.length > 1 << 20) {
    process.stdout.write(buf);
    buf = '';
  }
}
process.stdout.write(buf);
