/**
 * The cost of the logit lens (issue 16): dlens-tiny's checkpoint converted twice as the build converts it (fp16
 * storage), without and with `--lens`, and the same decodes recorded three ways, interleaved so the machine's drift
 * falls on all alike: the graph without the lens; the lens graph with the lens left out (`dlens record --no-lens`,
 * and `dlens bench`: the graph reads out one row, which is not fetched); the lens graph recording it (every
 * generated position the pass computes). Per step: wall time of the
 * decode (forward pass, decision, recording), median over instances and repeats; and the trace's size.
 *   npm run bench:lens [-- --limit=8 --repeats=3]
 * Writes bench/results/lens.md.
 */
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { tinyCheckpoint } from '../test/support/tiny-checkpoint.js';
import { convertCheckpoint } from '../engine/convert/convert.js';
import { loadModel, REPO_ROOT } from '../engine/model/load.js';
import { record } from '../engine/record.js';
import { taskAt } from '../engine/tasks/generate.js';
import { DEFAULTS } from '../engine/api/defaults.js';

const arg = (k: string, d: number) => Number(process.argv.find((a) => a.startsWith(`--${k}=`))?.split('=')[1] ?? d);
const limit = arg('limit', 8),
  repeats = arg('repeats', 3);
const SUITES = ['sort', 'add', 'pick', 'lookup'];
const dir = mkdtempSync(join(tmpdir(), 'dlens-lens-'));
tinyCheckpoint(join(dir, 'hf'));
await convertCheckpoint(join(dir, 'hf'), join(dir, 'plain'), { dtype: 'fp16' });
await convertCheckpoint(join(dir, 'hf'), join(dir, 'lens'), { dtype: 'fp16', lens: true });
const plain = await loadModel(join(dir, 'plain')),
  lensModel = await loadModel(join(dir, 'lens'));
const CONFIGS = [
  { label: 'graph without the lens', model: plain, lens: true },
  { label: 'lens graph, lens not fetched (--no-lens)', model: lensModel, lens: false },
  { label: 'lens graph, lens recorded', model: lensModel, lens: true },
] as const;
const perStep: number[][] = CONFIGS.map(() => []);
const bytes: number[][] = CONFIGS.map(() => []);
for (let r = 0; r < repeats; r++)
  for (const suite of SUITES)
    for (let i = 0; i < limit; i++) {
      const task = taskAt(suite, i, DEFAULTS.taskSeed, { split: 'eval' });
      for (const [c, cfg] of CONFIGS.entries()) {
        const out = join(dir, `${c}.dlens`);
        const s = await record({ task, out, lens: cfg.lens }, { model: cfg.model });
        perStep[c]!.push(s.wall_ms / s.steps);
        if (r === 0) bytes[c]!.push(statSync(out).size);
      }
    }
const median = (a: number[]) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)]!;
const mean = (a: number[]) => a.reduce((x, y) => x + y, 0) / a.length;
const base = median(perStep[0]!);
const rows = CONFIGS.map(
  (cfg, c) =>
    `| ${cfg.label} | ${median(perStep[c]!).toFixed(2)} | ${(median(perStep[c]!) / base).toFixed(2)}x | ${(mean(bytes[c]!) / 1024).toFixed(0)} KB |`,
);
const { num_layers: Ly, vocab_size: V } = plain.card;
const md = [
  `Cost of the logit lens (npm run bench:lens): dlens-tiny (${Ly} layers, vocabulary ${V}) converted with fp16 storage, without and with --lens; low-confidence, each suite at its own gen length, block ${DEFAULTS.blockLength}, cache none; ${limit} held-out instances of ${SUITES.join(', ')}, ${repeats} repeats, the three ways interleaved; ${new Date().toISOString()}`,
  '',
  '| decode | ms per step (median) | vs without | trace size (mean) |',
  '|---|---|---|---|',
  ...rows,
  '',
  `Recorded, the lens adds one output head per layer but the last (whose lens is the logits already computed) for each generated position the pass computes: ${Ly - 1} heads of ${V} x d_model per row here. For LLaDA-8B (32 layers, vocabulary 126,464, d_model 4096) 31 more heads per generated row are about twice the multiply-adds of its forward pass over that row, which is why the lens is an option of dlens convert and of dlens record (--no-lens).`,
].join('\n');
writeFileSync(join(REPO_ROOT, 'bench', 'results', 'lens.md'), md + '\n');
console.log(md);
await plain.release();
await lensModel.release();
rmSync(dir, { recursive: true, force: true });
