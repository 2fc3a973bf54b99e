/**
 * `npm run bench:convert` (issue 14): a LLaDA-architecture checkpoint of about 1B parameters with random weights
 * (speed does not depend on the values; said so in the results), written as two bf16 safetensors shards, then
 *   - `dlens convert` to fp32 and fp16 weights, each in its own process: wall time and peak memory (resident set);
 *   - the time per step of a 32-token block against 1,024 cached positions, dlens engine (onnxruntime) at fp32 and
 *     fp16 weights, and PyTorch on the same checkpoint and the same forward with the same thread count,
 * side by side in one run. Writes bench/results/convert.md. Needs about 9 GB of disk under bench/tmp/.
 *   npm run bench:convert [-- --layers=18 --threads=2]
 */
import { copyFileSync, mkdirSync, rmSync, statSync, writeFileSync, openSync, writeSync, closeSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { REPO_ROOT, loadModel } from '../engine/model/load.js';

const arg = (k: string, d: number) => Number(process.argv.find((a) => a.startsWith(`--${k}=`))?.split('=')[1] ?? d);
const L = arg('layers', 18),
  threads = arg('threads', Math.min(2, cpus().length));
const D = 2048,
  H = 16,
  F = 5632,
  V = 32000,
  Q = 32,
  C = 1024,
  REPS = 5;
const tmp = join(REPO_ROOT, 'bench', 'tmp', 'convert');
rmSync(tmp, { recursive: true, force: true });
const hf = join(tmp, 'llada-1b');
mkdirSync(hf, { recursive: true });
const log = (s: string) => process.stderr.write(`${s}\n`);

// 1. The checkpoint: LLaDA names and config, bf16 values ~ U(-0.02, 0.02) (norm weights 1), two shards.
let seed = 12345;
const f32 = new Float32Array(1),
  u32 = new Uint32Array(f32.buffer);
const fill = (n: number, norm: boolean) => {
  const u = new Uint16Array(n);
  if (norm) return u.fill(0x3f80); // bf16 1.0
  for (let i = 0; i < n; i++) {
    seed ^= seed << 13;
    seed ^= seed >>> 17;
    seed ^= seed << 5;
    f32[0] = ((seed >>> 0) / 4294967296 - 0.5) * 0.04;
    u[i] = u32[0]! >>> 16;
  }
  return u;
};
const names: [string, number[], boolean][] = [['model.transformer.wte.weight', [V, D], false]];
for (let l = 0; l < L; l++) {
  const b = (s: string) => `model.transformer.blocks.${l}.${s}`;
  names.push(
    [b('attn_norm.weight'), [D], true],
    [b('ff_norm.weight'), [D], true],
    [b('q_proj.weight'), [D, D], false],
    [b('k_proj.weight'), [D, D], false],
    [b('v_proj.weight'), [D, D], false],
    [b('attn_out.weight'), [D, D], false],
    [b('ff_proj.weight'), [F, D], false],
    [b('up_proj.weight'), [F, D], false],
    [b('ff_out.weight'), [D, F], false],
  );
}
names.push(['model.transformer.ln_f.weight', [D], true]);
const params = names.reduce((a, [, s]) => a + s.reduce((x, y) => x * y, 1), 0);
const t0 = performance.now();
const half = Math.ceil(names.length / 2);
for (const [si, part] of [names.slice(0, half), names.slice(half)].entries()) {
  const header: Record<string, unknown> = {};
  let off = 0;
  for (const [n, s] of part) {
    const len = s.reduce((x, y) => x * y, 1) * 2;
    header[n] = { dtype: 'BF16', shape: s, data_offsets: [off, off + len] };
    off += len;
  }
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - (json.length % 8)) % 8);
  const fd = openSync(join(hf, `model-0000${si + 1}-of-00002.safetensors`), 'w');
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(json.length));
  writeSync(fd, len);
  writeSync(fd, Buffer.from(json));
  for (const [, s, norm] of part)
    writeSync(
      fd,
      fill(
        s.reduce((x, y) => x * y, 1),
        norm,
      ),
    );
  closeSync(fd);
}
writeFileSync(
  join(hf, 'config.json'),
  JSON.stringify({
    architectures: ['LLaDAModelLM'],
    model_type: 'llada',
    block_type: 'llama',
    d_model: D,
    n_heads: H,
    n_kv_heads: H,
    n_layers: L,
    mlp_hidden_size: F,
    vocab_size: V,
    embedding_size: V,
    max_sequence_length: 4096,
    rope_theta: 500000,
    rms_norm_eps: 1e-5,
    weight_tying: true,
    include_bias: false,
    mask_token_id: 1,
    eos_token_id: 0,
    pad_token_id: 0,
  }),
);
// A tokenizer of the right size: the fixture's, whose ids the 32k vocabulary covers.
copyFileSync(join(REPO_ROOT, 'test', 'fixtures', 'tiny-random', 'tokenizer.json'), join(hf, 'tokenizer.json'));
const shardBytes = statSync(join(hf, 'model-00001-of-00002.safetensors')).size;
log(`checkpoint: ${(params / 1e9).toFixed(2)}B parameters in ${((performance.now() - t0) / 1000).toFixed(0)} s`);

// 2. Conversion, each in a fresh process (peak memory is that process's own).
// A column is a dtype, with `/B` for int8/int4 at MatMulNBits block B (default 32).
const convert = (col: string) => {
  const [dtype, block] = col.split('/') as [string, string | undefined];
  const out = join(tmp, `dlens-${dtype}${block ? `-b${block}` : ''}`);
  const r = spawnSync(
    process.execPath,
    [
      join(REPO_ROOT, 'bin', 'dlens.mjs'),
      'convert',
      hf,
      '--out',
      out,
      '--dtype',
      dtype,
      ...(block ? ['--quant-block', block] : []),
      '--json',
    ],
    { encoding: 'utf8', maxBuffer: 1 << 24 },
  );
  if (r.status !== 0) throw new Error(r.stderr);
  return { out, ...(JSON.parse(r.stdout) as { seconds: number; peak_rss_bytes: number; weight_bytes: number }) };
};
const DTYPES = ['fp32', 'fp16', 'int8', 'int4', 'int4/128'] as const;
const conv = Object.fromEntries(DTYPES.map((d) => [d, convert(d)])) as Record<
  (typeof DTYPES)[number],
  ReturnType<typeof convert>
>;
log(`converted: ${DTYPES.map((d) => `${d} ${conv[d].seconds.toFixed(0)} s`).join(', ')}`);

// 3. Time per step: Q positions against C cached ones.
const stepMs = async (dir: string) => {
  const m = await loadModel(dir, { threads });
  const ids = BigInt64Array.from({ length: Q }, (_, i) => BigInt(2 + i));
  const pos = BigInt64Array.from({ length: Q }, (_, i) => BigInt(C + i));
  const past = new Float32Array(L * H * C * (D / H)).map((_, i) => Math.sin(i) * 0.5);
  const run = () =>
    m.forward({
      inputIds: ids,
      positionIds: pos,
      B: 1,
      Q,
      pastKeys: past,
      pastValues: past,
      C,
      queryWeights: new Float32Array(Q).fill(1),
    });
  await run();
  const ms: number[] = [];
  for (let i = 0; i < REPS; i++) {
    const t = performance.now();
    await run();
    ms.push(performance.now() - t);
  }
  await m.release();
  return ms.sort((a, b) => a - b)[Math.floor(REPS / 2)]!;
};
const engine: Record<string, number> = {};
for (const d of DTYPES) engine[d] = await stepMs(conv[d].out);
const torch = spawnSync(
  '/usr/bin/python3',
  [join(REPO_ROOT, 'bench', 'torch_llada.py'), hf, String(threads), String(Q), String(C), String(REPS)],
  { encoding: 'utf8', maxBuffer: 1 << 24 },
);
if (torch.status !== 0) throw new Error(torch.stderr);
const tms = (JSON.parse(torch.stdout) as { ms: number[] }).ms.sort((a, b) => a - b)[Math.floor(REPS / 2)]!;
log(`step: ${DTYPES.map((d) => `${d} ${engine[d]!.toFixed(0)} ms`).join(', ')}, PyTorch ${tms.toFixed(0)} ms`);

const mb = (b: number) => (b / 2 ** 20).toFixed(0);
const row = (label: string, f: (d: (typeof DTYPES)[number]) => string) => `| ${label} | ${DTYPES.map(f).join(' | ')} |`;
const md = [
  `Conversion and step time (npm run bench:convert), ${new Date().toISOString()}, ${cpus().length} cores (${cpus()[0]?.model ?? '?'}), ${threads} threads for both engines`,
  '',
  `A LLaDA-architecture checkpoint of ${(params / 1e9).toFixed(2)}B parameters (d_model ${D}, ${L} layers, ${H} heads, MLP ${F}, vocabulary ${V}, tied head) with **random bf16 weights** (speed does not depend on the values), in two shards of ${mb(shardBytes)} MB. int8 and int4: the linear layers block-quantized for onnxruntime's MatMulNBits (block 32; int4/128: block 128, \`--quant-block 128\`); the embedding in fp16, gathered before its cast; the tied output head an 8-bit MatMulNBits copy.`,
  '',
  `| | ${DTYPES.join(' | ')} |`,
  `|---|${DTYPES.map(() => '---').join('|')}|`,
  row('dlens convert, wall time', (d) => `${conv[d].seconds.toFixed(1)} s`),
  row('dlens convert, peak memory (resident)', (d) => `${mb(conv[d].peak_rss_bytes)} MB`),
  row('weights written', (d) => `${mb(conv[d].weight_bytes)} MB`),
  row('weights vs fp32', (d) => `${(conv[d].weight_bytes / conv.fp32.weight_bytes).toFixed(2)}x`),
  row(
    `time per step, ${Q}-token block against ${C} cached positions (median of ${REPS})`,
    (d) => `${engine[d]!.toFixed(0)} ms`,
  ),
  row('speed vs fp32', (d) => `${(engine.fp32! / engine[d]!).toFixed(2)}x`),
  row(
    `speed vs PyTorch fp32 on the same forward (${tms.toFixed(0)} ms, ${threads} threads)`,
    (d) => `${(tms / engine[d]!).toFixed(2)}x`,
  ),
  '',
  `Peak memory while converting stays at about ${(conv.fp32.peak_rss_bytes / shardBytes).toFixed(2)} of one shard: tensors are read and written one at a time.`,
  '',
].join('\n');
writeFileSync(join(REPO_ROOT, 'bench', 'results', 'convert.md'), md);
console.log(md);
rmSync(tmp, { recursive: true, force: true });
