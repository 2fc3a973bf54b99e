import { closeSync, existsSync, fstatSync, openSync, readdirSync, readFileSync, readSync } from 'node:fs';
import { join } from 'node:path';
import { DlensError } from '../errors.js';
import { parseJsonChecked } from '../trace/json-guard.js';
import { halfArrayToFloat } from '../trace/f16.js';

/**
 * A Hugging Face checkpoint folder read the way conversion needs it: the index of every tensor (name, dtype, shape,
 * shard and byte range) from the shards' headers alone, and then one tensor at a time, so that converting an 8B
 * model holds one tensor in memory, not a shard or the model.
 */
export type HfDtype = 'F32' | 'F16' | 'BF16';
const SIZE: Record<HfDtype, number> = { F32: 4, F16: 2, BF16: 2 };

export interface TensorEntry {
  name: string;
  dtype: HfDtype;
  shape: number[];
  shard: string;
  /** Absolute byte offset in the shard file, and length. */
  offset: number;
  length: number;
}

export interface Checkpoint {
  dir: string;
  config: Record<string, unknown>;
  tensors: Map<string, TensorEntry>;
  shards: string[];
}

const readJson = (path: string, what: string): Record<string, unknown> => {
  if (!existsSync(path)) throw new DlensError(`${what} is missing: ${path}`);
  let v: unknown;
  try {
    v = parseJsonChecked(readFileSync(path, 'utf8'), 64);
  } catch (e) {
    throw new DlensError(`${path} is not valid JSON (${(e as Error).message}); is the checkpoint complete?`);
  }
  if (!v || typeof v !== 'object' || Array.isArray(v)) throw new DlensError(`${path} is not a JSON object`);
  return v as Record<string, unknown>;
};

/** The shard files: from model.safetensors.index.json when there is one, else every *.safetensors in the folder. */
function shardFiles(dir: string): string[] {
  const index = join(dir, 'model.safetensors.index.json');
  if (existsSync(index)) {
    const map = readJson(index, 'the shard index').weight_map;
    if (!map || typeof map !== 'object') throw new DlensError(`${index} has no weight_map`);
    const files = [...new Set(Object.values(map as Record<string, unknown>).map(String))].sort();
    for (const f of files) {
      if (!existsSync(join(dir, f))) throw new DlensError(`shard ${f} named in ${index} is missing from ${dir}`);
    }
    return files;
  }
  const files = readdirSync(dir)
    .filter((f) => f.endsWith('.safetensors'))
    .sort();
  if (!files.length)
    throw new DlensError(`${dir} holds no *.safetensors weights; dlens converts safetensors checkpoints`);
  return files;
}

function readShardHeader(dir: string, shard: string, into: Map<string, TensorEntry>) {
  const path = join(dir, shard);
  const fd = openSync(path, 'r');
  try {
    const size = fstatSync(fd).size;
    const head = Buffer.alloc(8);
    if (size < 8 || readSync(fd, head, 0, 8, 0) !== 8)
      throw new DlensError(`shard ${shard} is too short to be safetensors`);
    const n = Number(head.readBigUInt64LE(0));
    if (n < 2 || 8 + n > size)
      throw new DlensError(`shard ${shard} has a header length of ${n}: the file is truncated or not safetensors`);
    const json = Buffer.alloc(n);
    readSync(fd, json, 0, n, 8);
    let header: Record<string, unknown>;
    try {
      header = parseJsonChecked(json.toString('utf8'), 8) as Record<string, unknown>;
    } catch (e) {
      throw new DlensError(`shard ${shard}: the header is refused (${(e as Error).message})`);
    }
    for (const [name, v] of Object.entries(header)) {
      if (name === '__metadata__') continue;
      const t = v as { dtype?: string; shape?: number[]; data_offsets?: [number, number] };
      if (!t.dtype || !(t.dtype in SIZE))
        throw new DlensError(
          `tensor ${name} in ${shard} has dtype ${t.dtype}; dlens converts F32, F16 and BF16 weights`,
        );
      const [b0, b1] = t.data_offsets ?? [0, -1];
      const shape = t.shape ?? [];
      const count = shape.reduce((a, b) => a * b, 1);
      if (b1 - b0 !== count * SIZE[t.dtype as HfDtype] || 8 + n + b1 > size)
        throw new DlensError(
          `tensor ${name} in ${shard}: its byte range does not fit its shape or the file (truncated shard?)`,
        );
      if (into.has(name))
        throw new DlensError(`tensor ${name} appears in two shards (${into.get(name)!.shard} and ${shard})`);
      into.set(name, { name, dtype: t.dtype as HfDtype, shape, shard, offset: 8 + n + b0, length: b1 - b0 });
    }
  } finally {
    closeSync(fd);
  }
}

export function openCheckpoint(dir: string): Checkpoint {
  if (!existsSync(dir)) throw new DlensError(`checkpoint folder ${dir} does not exist`);
  const config = readJson(join(dir, 'config.json'), 'config.json');
  const shards = shardFiles(dir);
  const tensors = new Map<string, TensorEntry>();
  for (const s of shards) readShardHeader(dir, s, tensors);
  return { dir, config, tensors, shards };
}

/** One tensor's values as float32 (F16 and BF16 widened exactly). */
export function readTensorF32(ck: Checkpoint, e: TensorEntry): Float32Array {
  const fd = openSync(join(ck.dir, e.shard), 'r');
  const buf = Buffer.alloc(e.length);
  try {
    let got = 0;
    while (got < e.length) {
      const r = readSync(fd, buf, got, e.length - got, e.offset + got);
      if (r <= 0) throw new DlensError(`shard ${e.shard} ended while reading ${e.name}`);
      got += r;
    }
  } finally {
    closeSync(fd);
  }
  const n = e.length / SIZE[e.dtype];
  if (e.dtype === 'F32') return new Float32Array(buf.buffer, buf.byteOffset, n).slice();
  const out = new Float32Array(n);
  const u16 = new Uint16Array(buf.buffer.slice(buf.byteOffset, buf.byteOffset + e.length));
  if (e.dtype === 'BF16') {
    const u32 = new Uint32Array(out.buffer);
    for (let i = 0; i < n; i++) u32[i] = u16[i]! << 16;
    return out;
  }
  return halfArrayToFloat(u16);
}
