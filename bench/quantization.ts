/**
 * Accuracy cost of quantized weights (issue 14): dlens-tiny's own weights as a LLaDA checkpoint
 * (assets/checkpoints/dlens-tiny), converted at fp32, int8 and int4 (MatMulNBits, block 32), each decoded on the
 * deterministic suites with the baseline (low-confidence, one token per step) on the same held-out instances.
 *   npm run bench:quantization [-- --limit=20]
 * Writes bench/results/quantization.md.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { tinyCheckpoint } from '../test/support/tiny-checkpoint.js';
import { convertCheckpoint } from '../engine/convert/convert.js';
import { runBench } from '../engine/evaluate/run.js';
import { REPO_ROOT } from '../engine/model/load.js';
import { DEFAULTS } from '../engine/api/defaults.js';

const limit = Number(process.argv.find((a) => a.startsWith('--limit='))?.split('=')[1] ?? 20);
const SUITES = ['copy', 'reverse', 'sort', 'add', 'count', 'lookup'];
const dir = mkdtempSync(join(tmpdir(), 'dlens-quant-'));
tinyCheckpoint(join(dir, 'hf'));
const rows: string[] = [];
const acc: Record<string, number> = {};
for (const col of ['fp32', 'int8', 'int4', 'int4/128'] as const) {
  const [dtype, block] = col.split('/') as ['fp32' | 'int8' | 'int4', string | undefined];
  const out = join(dir, col.replace('/', '-b'));
  const c = await convertCheckpoint(join(dir, 'hf'), out, { dtype, quantBlock: block ? 128 : undefined });
  const cells = await runBench({
    model: out,
    suites: SUITES,
    strategies: ['low-confidence'],
    caches: ['none'],
    limit,
    blockLength: DEFAULTS.blockLength,
  });
  const per = SUITES.map((s) => cells.find((x) => x.suite === s)!.accuracy * 100);
  acc[col] = per.reduce((a, b) => a + b, 0) / per.length;
  rows.push(
    `| ${col} | ${(c.weightBytes / 2 ** 20).toFixed(1)} MB | ${per.map((p) => p.toFixed(0)).join(' | ')} | ${acc[col]!.toFixed(1)} | ${(acc[col]! - acc.fp32!).toFixed(1)} |`,
  );
  process.stderr.write(`${col}: mean ${acc[col]!.toFixed(1)}\n`);
}
const md = [
  `Accuracy of quantized weights (npm run bench:quantization): dlens-tiny's LLaDA-format checkpoint converted (int4/128: MatMulNBits block 128, else 32); low-confidence, one token per step, block ${DEFAULTS.blockLength}, each suite at its own gen length, ${limit} held-out instances per suite (seed ${DEFAULTS.taskSeed}); ${new Date().toISOString()}`,
  '',
  `| weights | size | ${SUITES.join(' | ')} | mean % | vs fp32 (points) |`,
  `|---|---|${SUITES.map(() => '---').join('|')}|---|---|`,
  ...rows,
].join('\n');
writeFileSync(join(REPO_ROOT, 'bench', 'results', 'quantization.md'), md + '\n');
console.log(md);
rmSync(dir, { recursive: true, force: true });
