import { closeSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { DlensError } from '../errors.js';
import { parseJsonChecked } from '../trace/json-guard.js';
import { halfArrayToFloat } from '../trace/f16.js';
import { openRegularFile, optionalFileIn, pathInside, readExactly, readJsonObject } from '../util/safe-read.js';
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
  /** The shard's name as the checkpoint gives it (for messages), and its real path inside the folder. */
  shard: string;
  path: string;
  /** Absolute byte offset in the shard file, and length. */
  offset: number;
  length: number;
}

export interface Checkpoint {
  dir: string;
  config: Record<string, unknown>;
  tensors: Map<string, TensorEntry>;
  /** Shard names, and their real paths (each checked to be a regular file inside the folder). */
  shards: string[];
  shardPaths: string[];
  configPath: string;
}

/** What convert reads of a checkpoint's JSON files, at most (a FIFO, a 10 GB file or a deep nest is refused). */
export const JSON_LIMITS = {
  config: { maxBytes: 4 << 20, maxDepth: 64 },
  index: { maxBytes: 64 << 20, maxDepth: 8 },
  tokenizer: { maxBytes: 256 << 20, maxDepth: 64 },
  tokenizerConfig: { maxBytes: 64 << 20, maxDepth: 64 },
  card: { maxBytes: 4 << 20, maxDepth: 32 },
};
/** A safetensors header larger than this is not a checkpoint's (LLaDA-MoE's 64 experts × 16 layers: ~1 MB). */
const MAX_HEADER = 100 << 20;

/** The shard files, [name, real path]: from model.safetensors.index.json when there is one, else *.safetensors. */
function shardFiles(dir: string): [string, string][] {
  const indexName = 'model.safetensors.index.json';
  const index = optionalFileIn(dir, indexName);
  if (index) {
    const map = readJsonObject(index, '', JSON_LIMITS.index).weight_map;
    if (!map || typeof map !== 'object' || Array.isArray(map))
      throw new DlensError(`${join(dir, indexName)}: "weight_map" is missing or not an object of tensor -> shard file`);
    const names = Object.values(map as Record<string, unknown>);
    if (names.some((f) => typeof f !== 'string'))
      throw new DlensError(`${join(dir, indexName)}: "weight_map" maps a tensor to something other than a file name`);
    const files = [...new Set(names as string[])].sort();
    if (!files.length) throw new DlensError(`${join(dir, indexName)}: "weight_map" names no shard`);
    return files.map((f) => [f, pathInside(dir, f, `${join(dir, indexName)} (weight_map)`)]);
  }
  const files = readdirSync(dir)
    .filter((f) => f.endsWith('.safetensors'))
    .sort();
  if (!files.length)
    throw new DlensError(`${dir} holds no *.safetensors weights; dlens converts safetensors checkpoints`);
  return files.map((f) => [f, pathInside(dir, f)]);
}

const isCount = (x: unknown): x is number => typeof x === 'number' && Number.isSafeInteger(x) && x >= 0;

/** One tensor's header entry checked: every way it can be wrong is refused with the shard, the tensor and the field. */
function headerEntry(shard: string, name: string, v: unknown, dataBytes: number) {
  const at = `shard ${shard}: tensor ${JSON.stringify(name.slice(0, 120))}`;
  if (!v || typeof v !== 'object' || Array.isArray(v)) throw new DlensError(`${at} is not a header entry (an object)`);
  const t = v as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
  if (typeof t.dtype !== 'string' || !(t.dtype in SIZE))
    throw new DlensError(
      `${at} has dtype ${typeof t.dtype === 'string' ? t.dtype.slice(0, 16) : 'missing'}; dlens converts F32, F16 and BF16 weights`,
    );
  const shape = t.shape;
  if (!Array.isArray(shape) || shape.length > 8 || !shape.every(isCount))
    throw new DlensError(`${at}: "shape" must be a list of at most 8 whole sizes`);
  const count = shape.reduce((a: number, b: number) => a * b, 1);
  const off = t.data_offsets;
  if (!Array.isArray(off) || off.length !== 2 || !off.every(isCount) || off[0]! > off[1]!)
    throw new DlensError(`${at}: "data_offsets" must be [begin, end], whole byte offsets with begin <= end`);
  const [b0, b1] = off as [number, number];
  if (!Number.isSafeInteger(count) || b1 - b0 !== count * SIZE[t.dtype as HfDtype])
    throw new DlensError(`${at}: its byte range does not hold its shape (${shape.length}-d ${t.dtype})`);
  if (b1 > dataBytes) throw new DlensError(`${at}: its byte range runs past the end of the file (truncated shard?)`);
  return { dtype: t.dtype as HfDtype, shape: shape as number[], b0, b1 };
}

function readShardHeader(shard: string, path: string, into: Map<string, TensorEntry>) {
  const { fd, size } = openRegularFile(path, 'shard');
  try {
    if (size < 8) throw new DlensError(`shard ${shard} is too short to be safetensors`);
    const n = Number(readExactly(fd, 0, 8, `shard ${shard}`).readBigUInt64LE(0));
    if (n < 2 || n > MAX_HEADER || 8 + n > size)
      throw new DlensError(
        `shard ${shard} does not start with a safetensors header: the file is truncated or not safetensors`,
      );
    let header: unknown;
    try {
      header = parseJsonChecked(
        new TextDecoder('utf-8', { fatal: true }).decode(readExactly(fd, 8, n, `shard ${shard}`)),
        8,
      );
    } catch (e) {
      throw new DlensError(
        `shard ${shard}: the header is refused (${e instanceof TypeError ? 'not UTF-8' : (e as Error).message})`,
      );
    }
    if (!header || typeof header !== 'object' || Array.isArray(header))
      throw new DlensError(`shard ${shard}: the header is not a JSON object of tensors`);
    const ranges: [number, number, string][] = [];
    for (const [name, v] of Object.entries(header)) {
      if (name === '__metadata__') continue;
      const e = headerEntry(shard, name, v, size - 8 - n);
      if (into.has(name))
        throw new DlensError(
          `tensor ${JSON.stringify(name.slice(0, 120))} appears in two shards (${into.get(name)!.shard} and ${shard})`,
        );
      into.set(name, { name, dtype: e.dtype, shape: e.shape, shard, path, offset: 8 + n + e.b0, length: e.b1 - e.b0 });
      ranges.push([e.b0, e.b1, name]);
    }
    // Two tensors sharing bytes would alias each other's weights: safetensors forbids it, and so does dlens.
    ranges.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
    for (let i = 1; i < ranges.length; i++)
      if (ranges[i]![0] < ranges[i - 1]![1])
        throw new DlensError(
          `shard ${shard}: tensors ${JSON.stringify(ranges[i - 1]![2].slice(0, 120))} and ${JSON.stringify(ranges[i]![2].slice(0, 120))} overlap in the file`,
        );
  } finally {
    closeSync(fd);
  }
}

export function openCheckpoint(dir: string): Checkpoint {
  const st = statSync(dir, { throwIfNoEntry: false });
  if (!st) throw new DlensError(`checkpoint folder ${dir} does not exist`);
  if (!st.isDirectory()) throw new DlensError(`${dir} is not a folder; give the checkpoint's folder`);
  const configPath = optionalFileIn(dir, 'config.json');
  if (!configPath)
    throw new DlensError(`config.json is missing from ${dir}; is this a Hugging Face checkpoint folder?`);
  const config = readJsonObject(configPath, '', JSON_LIMITS.config);
  const files = shardFiles(dir);
  const tensors = new Map<string, TensorEntry>();
  for (const [name, path] of files) readShardHeader(name, path, tensors);
  return { dir, config, tensors, shards: files.map((f) => f[0]), shardPaths: files.map((f) => f[1]), configPath };
}

/** One tensor's values as float32 (F16 and BF16 widened exactly). */
export function readTensorF32(ck: Checkpoint, e: TensorEntry): Float32Array {
  const { fd } = openRegularFile(e.path, 'shard');
  let buf: Buffer;
  try {
    buf = readExactly(fd, e.offset, e.length, `shard ${e.shard} (reading ${e.name})`);
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
