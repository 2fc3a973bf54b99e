import { closeSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { DlensError } from '../errors.js';
import { FormatError, headerLength, parseHeader } from '../trace/safetensors.js';
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

/**
 * A shard's tensors from its header, checked by the trace reader's own safetensors parser (engine/trace/safetensors:
 * header length, UTF-8 JSON without duplicate keys, dtypes, shapes, offsets inside the data, no overlaps and no
 * unowned bytes, as the safetensors format requires); convert then takes F32, F16 and BF16 weights only.
 */
function readShardHeader(shard: string, path: string, into: Map<string, TensorEntry>) {
  const { fd, size } = openRegularFile(path, 'shard');
  try {
    let header: ReturnType<typeof parseHeader>, n: number;
    try {
      n = headerLength(readExactly(fd, 0, Math.min(8, size), `shard ${shard}`), size);
      header = parseHeader(readExactly(fd, 8, n, `shard ${shard}`), size - 8 - n);
    } catch (e) {
      if (e instanceof FormatError) throw new DlensError(`shard ${shard}: ${e.message}`);
      throw e;
    }
    for (const [name, e] of header.entries) {
      const tensor = JSON.stringify(name.slice(0, 120));
      if (!(e.dtype in SIZE))
        throw new DlensError(
          `shard ${shard}: tensor ${tensor} is ${e.dtype}; dlens converts F32, F16 and BF16 weights`,
        );
      if (into.has(name))
        throw new DlensError(`tensor ${tensor} appears in two shards (${into.get(name)!.shard} and ${shard})`);
      const offset = 8 + n + e.begin;
      into.set(name, { name, dtype: e.dtype as HfDtype, shape: e.shape, shard, path, offset, length: e.end - e.begin });
    }
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
