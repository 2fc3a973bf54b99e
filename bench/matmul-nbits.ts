/**
 * One linear layer's product, 32 rows x 2048 -> 5632 (the 1B bench model's MLP), as fp32/fp16 Gemm and as
 * MatMulNBits int8/int4 at blocks 32 and 128 and accuracy levels 0 and 4, each in its own onnxruntime session with 2
 * threads: how far quantization alone can speed up a decoding step on this CPU (docs/results.md).
 *   npx tsx bench/matmul-nbits.ts
 */
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { GraphBuilder } from '../engine/convert/onnx-graph.js';

const M = 32,
  K = 2048,
  N = 5632,
  REPS = 30;
const root = join(tmpdir(), `dlens-matmul-${process.pid}`);
const weights = () => Float32Array.from({ length: N * K }, () => (Math.random() - 0.5) * 0.04);

async function time(kind: 'fp32' | 'fp16' | 'int8' | 'int4', block = 32, accuracy = 4) {
  const dir = join(root, `${kind}-${block}-${accuracy}`);
  mkdirSync(dir, { recursive: true });
  const g = new GraphBuilder(join(dir, 'm.onnx.data'), 'm.onnx.data');
  const x = g.input('x', 'float', [M, K]);
  let y: string;
  if (kind === 'fp32' || kind === 'fp16') y = g.op('Gemm', [x, g.weight('w', weights, [N, K], kind)], { transB: 1 });
  else {
    const bits = kind === 'int8' ? 8 : 4;
    const q = g.quantizedWeight('w', weights, N, K, bits, block);
    y = g.msOp('MatMulNBits', [x, q.q, q.scales], { K, N, bits, block_size: block, accuracy_level: accuracy });
  }
  g.output(y, 'y', 'float', [M, N]);
  await g.writeWeights();
  writeFileSync(join(dir, 'm.onnx'), g.finish({}));
  const s = await ort.InferenceSession.create(join(dir, 'm.onnx'), { intraOpNumThreads: 2, interOpNumThreads: 1 });
  const feeds = { x: new ort.Tensor('float32', Float32Array.from({ length: M * K }, Math.random), [M, K]) };
  for (let i = 0; i < 3; i++) await s.run(feeds);
  const t0 = performance.now();
  for (let i = 0; i < REPS; i++) await s.run(feeds);
  await s.release();
  return (performance.now() - t0) / REPS;
}

const fp32 = await time('fp32');
console.log(
  `| weights | block | accuracy_level | ms | vs fp32 |\n|---|---|---|---|---|\n| fp32 | | | ${fp32.toFixed(2)} | 1.00x |`,
);
const row = (k: string, b: string, a: string, ms: number) =>
  console.log(`| ${k} | ${b} | ${a} | ${ms.toFixed(2)} | ${(fp32 / ms).toFixed(2)}x |`);
row('fp16', '', '', await time('fp16'));
for (const accuracy of [0, 4])
  for (const block of [32, 128])
    for (const kind of ['int8', 'int4'] as const)
      row(kind, String(block), String(accuracy), await time(kind, block, accuracy));
rmSync(root, { recursive: true, force: true });
