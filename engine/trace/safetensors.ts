/**
 * safetensors encode/decode with validation of every header field before any byte is trusted.
 * Pure TypeScript (no Node imports): the renderer reads traces with this very module.
 */
import { parseJsonChecked } from './json-guard.js';
export type DType = 'U8' | 'I8' | 'I16' | 'U16' | 'I32' | 'U32' | 'F16' | 'BF16' | 'F32' | 'F64' | 'I64' | 'BOOL';
export const DTYPE_SIZE: Record<DType, number> = {
  U8: 1,
  I8: 1,
  BOOL: 1,
  I16: 2,
  U16: 2,
  F16: 2,
  BF16: 2,
  I32: 4,
  U32: 4,
  F32: 4,
  F64: 8,
  I64: 8,
};

export type TensorData =
  | Uint8Array
  | Int8Array
  | Int16Array
  | Uint16Array
  | Int32Array
  | Uint32Array
  | Float32Array
  | Float64Array
  | BigInt64Array;
export interface RawTensor {
  dtype: DType;
  shape: number[];
  data: TensorData;
}

export class FormatError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'FormatError';
  }
}

/** Largest header we accept; real trace headers are a few hundred KiB (the vocab lives there). */
export const MAX_HEADER_BYTES = 64 * 1024 * 1024;

function viewOf(dtype: DType, bytes: Uint8Array, owned = false): TensorData {
  // Copy into an aligned buffer: offsets inside the file need not be aligned to the element size, and a view would
  // share the file's bytes. Bytes read for this tensor alone (owned) and aligned are viewed as they are: copying a
  // 1 GB trace's 33 MB of states costs a tenth of a second in fresh pages.
  const aligned = owned && bytes.byteOffset % DTYPE_SIZE[dtype] === 0;
  // (slice.call: a copy even for a Node Buffer, whose own slice is a view)
  const buf = aligned ? bytes.buffer : Uint8Array.prototype.slice.call(bytes).buffer;
  const at = aligned ? bytes.byteOffset : 0,
    n = bytes.byteLength / DTYPE_SIZE[dtype];
  switch (dtype) {
    case 'U8':
    case 'BOOL':
      return new Uint8Array(buf, at, n);
    case 'I8':
      return new Int8Array(buf, at, n);
    case 'I16':
      return new Int16Array(buf, at, n);
    case 'U16':
    case 'F16':
    case 'BF16':
      return new Uint16Array(buf, at, n);
    case 'I32':
      return new Int32Array(buf, at, n);
    case 'U32':
      return new Uint32Array(buf, at, n);
    case 'F32':
      return new Float32Array(buf, at, n);
    case 'F64':
      return new Float64Array(buf, at, n);
    case 'I64':
      return new BigInt64Array(buf, at, n);
  }
}

export interface TensorEntry {
  dtype: DType;
  shape: number[];
  /** Byte range inside the data section. */
  begin: number;
  end: number;
}

/** Bytes 0..8 of a safetensors file: the header's length, checked for plausibility against the file's size. */
export function headerLength(first8: Uint8Array, fileSize: number): number {
  if (fileSize < 8)
    throw new FormatError(`file is ${fileSize} bytes: too short to hold the 8-byte safetensors header length`);
  const n = Number(new DataView(first8.buffer, first8.byteOffset, 8).getBigUint64(0, true));
  if (n < 2 || n > MAX_HEADER_BYTES)
    // (The number itself is not shown: it is the file's first 8 bytes, which may be any file's text.)
    throw new FormatError(
      `not a safetensors file: its first 8 bytes are not a plausible header length (2..${MAX_HEADER_BYTES} bytes); the file is of another kind or corrupted`,
    );
  if (8 + n > fileSize)
    throw new FormatError(
      `the header runs past the end of the file (${fileSize} bytes): the file is truncated or of another kind`,
    );
  return n;
}

/**
 * The JSON header, every field checked against a data section of `dataLen` bytes: dtypes, shapes, offsets inside
 * the section, no overlaps and no unowned bytes. Lazy readers (range reads of large traces) trust entries only after
 * this.
 */
export function parseHeader(
  headerBytes: Uint8Array,
  dataLen: number,
): { metadata: Record<string, string>; entries: Map<string, TensorEntry> } {
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(headerBytes);
  } catch {
    throw new FormatError('header is not valid UTF-8');
  }
  let header: unknown;
  try {
    header = parseJsonChecked(text, 8);
  } catch (e) {
    throw new FormatError(`header: ${(e as Error).message}`);
  }
  if (!header || typeof header !== 'object' || Array.isArray(header))
    throw new FormatError('header is not a JSON object');
  const metadata: Record<string, string> = {};
  const ranges: [number, number, string][] = [];
  const entries = new Map<string, TensorEntry>();
  for (const [name, v] of Object.entries(header as Record<string, unknown>)) {
    if (name === '__metadata__') {
      if (!v || typeof v !== 'object' || Array.isArray(v))
        throw new FormatError('__metadata__ must be an object of strings');
      for (const [k, s] of Object.entries(v)) {
        if (typeof s !== 'string') throw new FormatError(`__metadata__.${k} must be a string`);
        metadata[k] = s;
      }
      continue;
    }
    const t = v as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
    if (!t || typeof t !== 'object') throw new FormatError(`tensor "${name}": entry is not an object`);
    if (typeof t.dtype !== 'string' || !(t.dtype in DTYPE_SIZE))
      throw new FormatError(`tensor "${name}": unsupported dtype ${JSON.stringify(t.dtype)}`);
    if (!Array.isArray(t.shape) || !t.shape.every((d) => Number.isSafeInteger(d) && d >= 0))
      throw new FormatError(`tensor "${name}": shape must be a list of non-negative integers`);
    const off = t.data_offsets;
    if (
      !Array.isArray(off) ||
      off.length !== 2 ||
      !off.every((d) => Number.isSafeInteger(d) && d >= 0) ||
      off[0] > off[1]
    )
      throw new FormatError(`tensor "${name}": data_offsets must be [begin, end] with 0 <= begin <= end`);
    const dtype = t.dtype as DType;
    const shape = t.shape as number[];
    const count = shape.reduce((a, b) => a * b, 1);
    const [b0, b1] = off as [number, number];
    if (b1 > dataLen)
      throw new FormatError(
        `tensor "${name}": bytes ${b0}..${b1} lie outside the data section (${dataLen} bytes): the file is truncated`,
      );
    if (b1 - b0 !== count * DTYPE_SIZE[dtype])
      throw new FormatError(
        `tensor "${name}": shape [${shape}] of ${dtype} needs ${count * DTYPE_SIZE[dtype]} bytes but data_offsets span ${b1 - b0}`,
      );
    ranges.push([b0, b1, name]);
    entries.set(name, { dtype, shape, begin: b0, end: b1 });
  }
  ranges.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  let end = 0;
  for (const [b0, b1, name] of ranges) {
    if (b0 < end) throw new FormatError(`tensor "${name}" overlaps the tensor before it (bytes ${b0}..${b1})`);
    if (b0 > end) throw new FormatError(`bytes ${end}..${b0} of the data section belong to no tensor`);
    end = b1;
  }
  if (end !== dataLen)
    throw new FormatError(`the data section has ${dataLen - end} trailing bytes that belong to no tensor`);
  return { metadata, entries };
}

/**
 * Typed view of a tensor's raw bytes: copied into an aligned buffer, unless `owned` (bytes read for this tensor alone,
 * which nothing else holds) and already aligned.
 */
export function tensorData(dtype: DType, bytes: Uint8Array, owned = false): TensorData {
  return viewOf(dtype, bytes, owned);
}

export function decodeSafetensors(file: Uint8Array): {
  metadata: Record<string, string>;
  tensors: Map<string, RawTensor>;
} {
  const n = headerLength(file.subarray(0, 8), file.byteLength);
  const data = file.subarray(8 + n);
  const { metadata, entries } = parseHeader(file.subarray(8, 8 + n), data.byteLength);
  const tensors = new Map<string, RawTensor>();
  for (const [name, e] of entries)
    tensors.set(name, { dtype: e.dtype, shape: e.shape, data: viewOf(e.dtype, data.subarray(e.begin, e.end)) });
  return { metadata, tensors };
}

function bytesOf(t: RawTensor): Uint8Array {
  const d = t.data;
  return new Uint8Array(d.buffer, d.byteOffset, d.byteLength);
}

export function encodeSafetensors(
  tensors: Map<string, RawTensor> | [string, RawTensor][],
  metadata: Record<string, string>,
): Uint8Array {
  const entries = [...tensors].sort((a, b) => (a[0] < b[0] ? -1 : 1));
  const header: Record<string, unknown> = { __metadata__: metadata };
  let off = 0;
  for (const [name, t] of entries) {
    const count = t.shape.reduce((a, b) => a * b, 1);
    const len = count * DTYPE_SIZE[t.dtype];
    if (t.data.byteLength !== len)
      throw new Error(`tensor "${name}": ${t.data.byteLength} bytes for shape [${t.shape}] ${t.dtype} (want ${len})`);
    header[name] = { dtype: t.dtype, shape: t.shape, data_offsets: [off, off + len] };
    off += len;
  }
  let json = new TextEncoder().encode(JSON.stringify(header));
  const pad = (8 - (json.length % 8)) % 8; // keep the data section 8-byte aligned, as the reference writer does
  if (pad) json = new TextEncoder().encode(JSON.stringify(header) + ' '.repeat(pad));
  const out = new Uint8Array(8 + json.length + off);
  new DataView(out.buffer).setBigUint64(0, BigInt(json.length), true);
  out.set(json, 8);
  let p = 8 + json.length;
  for (const [, t] of entries) {
    const b = bytesOf(t);
    out.set(b, p);
    p += b.length;
  }
  return out;
}
