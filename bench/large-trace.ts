/**
 * Writes a large synthetic trace, streamed to disk a step at a time: by default 32 layers × 4,096 positions × 2,048
 * steps with saliency, cache residency and top-5 (about 1.2 GB, format v2: float32 confidence and top-k
 * probabilities), the size issue 18 asks the app to open in under 2 s. Values are plausible, not a model's: two
 * positions decided per step, random candidates, attention and a sliding cache (bench/large_trace_v1.py writes the
 * same shape in format v1 with numpy). The file is a valid trace (dlens info, test/check_trace.py).
 *
 *     npx tsx bench/large-trace.ts OUT.dlens [--layers 32] [--positions 4096] [--steps 2048]
 */
import { openSync, writeSync, closeSync, renameSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { toHalf } from '../engine/trace/f16.js';
import { APP } from '../engine/version.js';
import { writeTarget } from '../engine/util/atomic-write.js';

export function writeLargeTrace(out: string, Ly = 32, T = 4096, S = 2048, K = 5) {
  const P = 96,
    G = T - P,
    V = 126464,
    MASK = 126336;
  // Decide two positions per step in a shuffled order, so the heatmaps have structure.
  let seed = 12345;
  const rnd = () => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32;
  const order = Array.from({ length: G }, (_, g) => g).sort((a, b) => (a >> 5) - (b >> 5) || rnd() - 0.5);
  const commitAt = new Int32Array(G);
  order.forEach((g, i) => (commitAt[g] = Math.min(S, Math.floor(i / Math.ceil(G / S)) + 1)));
  const tokenOf = (g: number) => 1000 + ((g * 7919) % 30000);
  const prompt = Array.from({ length: P }, (_, i) => 500 + i);
  const tensors: [string, string, number[], (s: number) => Uint8Array][] = [];
  const f16 = (xs: Float32Array) => {
    const u = new Uint16Array(xs.length);
    for (let i = 0; i < xs.length; i++) u[i] = toHalf(xs[i]!);
    return new Uint8Array(u.buffer);
  };
  const i32 = (xs: Int32Array) => new Uint8Array(xs.buffer);
  const f32 = (xs: Float32Array) => new Uint8Array(xs.buffer);
  tensors.push([
    'block',
    'I32',
    [S, 2],
    (s) =>
      i32(
        Int32Array.from([
          P + ((order[Math.min(G - 1, 2 * s)]! >> 5) << 5),
          Math.min(T, P + ((order[Math.min(G - 1, 2 * s)]! >> 5) << 5) + 32),
        ]),
      ),
  ]);
  tensors.push([
    'cached',
    'U8',
    [S, Ly, T],
    (s) => {
      const r = new Uint8Array(Ly * T);
      for (let l = 0; l < Ly; l++) for (let p = 0; p < T; p++) r[l * T + p] = p < P + 2 * s - 512 * (l % 3) ? 1 : 0;
      return r;
    },
  ]);
  tensors.push([
    'commit_step',
    'I32',
    [T],
    () => i32(Int32Array.from({ length: T }, (_, p) => (p < P ? -1 : commitAt[p - P]!))),
  ]);
  tensors.push([
    'confidence',
    'F32',
    [S, G],
    (s) =>
      f32(
        Float32Array.from({ length: G }, (_, g) =>
          commitAt[g]! > s ? 0.2 + 0.8 * Math.min(1, s / commitAt[g]!) : NaN,
        ),
      ),
  ]);
  tensors.push([
    'entropy',
    'F16',
    [S, G],
    (s) => f16(Float32Array.from({ length: G }, (_, g) => (commitAt[g]! > s ? 3 * (1 - s / commitAt[g]!) : NaN))),
  ]);
  tensors.push([
    'saliency',
    'F16',
    [S, Ly, T],
    (s) => {
      const r = new Float32Array(Ly * T);
      for (let l = 0; l < Ly; l++) for (let p = 0; p < T; p++) r[l * T + p] = (1 + Math.sin(p / 37 + l + s / 50)) / T;
      return f16(r);
    },
  ]);
  tensors.push([
    'state',
    'I32',
    [S + 1, T],
    (s) =>
      i32(
        Int32Array.from({ length: T }, (_, p) => (p < P ? prompt[p]! : commitAt[p - P]! <= s ? tokenOf(p - P) : MASK)),
      ),
  ]);
  tensors.push(['step_ms', 'F32', [S], (s) => new Uint8Array(Float32Array.from([40 + (s % 7)]).buffer)]);
  tensors.push([
    'topk_ids',
    'I32',
    [S, G, K],
    (s) => {
      const r = new Int32Array(G * K);
      for (let g = 0; g < G; g++)
        for (let k = 0; k < K; k++)
          r[g * K + k] = commitAt[g]! > s ? (k ? 2000 + ((g + k * 13 + s) % 500) : tokenOf(g)) : -1;
      return i32(r);
    },
  ]);
  tensors.push([
    'topk_probs',
    'F32',
    [S, G, K],
    (s) => {
      const r = new Float32Array(G * K);
      for (let g = 0; g < G; g++)
        for (let k = 0; k < K; k++)
          r[g * K + k] = commitAt[g]! > s ? (0.2 + 0.8 * Math.min(1, s / commitAt[g]!)) / (k + 1) : NaN;
      return f32(r);
    },
  ]);
  const size: Record<string, number> = { I32: 4, F16: 2, U8: 1, F32: 4 };
  const ids = new Set<number>([...prompt, MASK]);
  for (let g = 0; g < G; g++) ids.add(tokenOf(g));
  for (let i = 2000; i < 2500; i++) ids.add(i);
  const manifest = {
    format: 'dlens-trace/2',
    source: { kind: 'engine', tool: 'dlens bench/large-trace.ts', tool_version: APP },
    created: new Date().toISOString(),
    app: APP,
    model: {
      name: 'synthetic (LLaDA-8B vocabulary)',
      card: { vocab_size: V, mask_token_id: MASK, eos_token_id: 126081 },
    },
    prompt: "a synthetic trace of issue 18's size",
    prompt_length: P,
    gen_length: G,
    strategy: { name: 'synthetic', params: {} },
    cache: { mode: 'sparse', params: {} },
    seed: 0,
    output: '',
    steps: S,
    nfe: S,
    wall_ms: S * 43,
    vocab: Object.fromEntries([...ids].map((i) => [String(i), i === MASK ? '<|mdm_mask|>' : ` t${i}`])),
    extras: {},
    complete: true,
    top_k: K,
    mask_token_id: MASK,
    eos_token_id: 126081,
    num_layers: Ly,
  };
  const header: Record<string, unknown> = { __metadata__: { dlens: JSON.stringify(manifest) } };
  let off = 0;
  // One call per step (per state for `state`); commit_step is written in one call.
  const rows = (name: string, shape: number[]) => (name === 'commit_step' ? 1 : shape[0]!);
  for (const [name, dtype, shape] of tensors) {
    const n = shape.reduce((a, b) => a * b, 1) * size[dtype]!;
    header[name] = { dtype, shape, data_offsets: [off, off + n] };
    off += n;
  }
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - (Buffer.byteLength(json) % 8)) % 8);
  // --out's rules: through a link to a file, never over a folder, a device or a named pipe.
  const target = writeTarget(out);
  const tmp = `${target}.tmp-${process.pid}`;
  const fd = openSync(tmp, 'w');
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(Buffer.byteLength(json)));
  writeSync(fd, len);
  writeSync(fd, Buffer.from(json));
  for (const [name, , shape, row] of tensors) for (let s = 0; s < rows(name, shape); s++) writeSync(fd, row(s));
  closeSync(fd);
  renameSync(tmp, target);
  return 8 + Buffer.byteLength(json) + off;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: { layers: { type: 'string' }, positions: { type: 'string' }, steps: { type: 'string' } },
  });
  let bytes: number;
  try {
    bytes = writeLargeTrace(
      positionals[0]!,
      Number(values.layers ?? 32),
      Number(values.positions ?? 4096),
      Number(values.steps ?? 2048),
    );
  } catch (e) {
    process.stderr.write(`${(e as Error).message}\n`);
    process.exit(2);
  }
  console.log(`${(bytes / 2 ** 30).toFixed(2)} GiB written to ${positionals[0]}`);
}
