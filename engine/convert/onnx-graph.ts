import { closeSync, fsyncSync, openSync, writeSync } from 'node:fs';
import onnxProto from 'onnx-proto';
import { floatArrayToHalf } from '../trace/f16.js';
import { quantizeBlocks } from './quantize.js';

const { onnx } = onnxProto;
type Attr = number | number[] | string;
const ELEM = { float: 1, uint8: 2, int64: 7, float16: 10 } as const;

/**
 * A small ONNX graph builder: nodes by op and inputs, constants inline, weights as external data appended to one
 * file as they are added (so the converter holds one tensor at a time). The protobuf is written with onnx-proto
 * (protobufjs), no Python.
 */
export class GraphBuilder {
  private nodes: onnxProto.onnx.INodeProto[] = [];
  private inits: onnxProto.onnx.ITensorProto[] = [];
  private inputs: onnxProto.onnx.IValueInfoProto[] = [];
  private outputs: onnxProto.onnx.IValueInfoProto[] = [];
  private n = 0;
  private dataOffset = 0;
  private usesMs = false;
  private pending: { name: string; bytes: () => Uint8Array; length: number; offset: number }[] = [];

  constructor(
    private dataPath: string,
    private dataName: string,
  ) {}

  /** float16 initialisers by the name of their Cast to float32 (weight()), for consumers that can gather first. */
  private halfOf = new Map<string, string>();

  /** The float16 initialiser behind a weight stored as fp16, or undefined for a float32 one. */
  halfSource(weight: string): string | undefined {
    return this.halfOf.get(weight);
  }

  private fresh(hint: string) {
    return `${hint}_${this.n++}`;
  }

  /** Adds a node; returns its output names (one unless `outputs` > 1). */
  op(type: string, inputs: string[], attrs: Record<string, Attr> = {}, hint = type): string {
    return this.opN(type, inputs, 1, attrs, hint)[0]!;
  }

  /** A node of onnxruntime's contrib domain (com.microsoft), e.g. MatMulNBits. */
  msOp(type: string, inputs: string[], attrs: Record<string, Attr> = {}): string {
    const out = this.op(type, inputs, attrs);
    this.nodes[this.nodes.length - 1]!.domain = 'com.microsoft';
    this.usesMs = true;
    return out;
  }

  opN(type: string, inputs: string[], outputs: number, attrs: Record<string, Attr> = {}, hint = type): string[] {
    const out = Array.from({ length: outputs }, () => this.fresh(hint));
    this.nodes.push({
      opType: type,
      input: inputs,
      output: out,
      name: this.fresh(`n_${hint}`),
      attribute: Object.entries(attrs).map(([k, v]) => attr(k, v)),
    });
    return out;
  }

  /** A small int64 or float constant, inline in the graph. */
  const(values: number[] | bigint[], type: 'int64' | 'float', dims: number[] = [values.length], hint = 'c'): string {
    const name = this.fresh(hint);
    const t: onnxProto.onnx.ITensorProto = { name, dims, dataType: ELEM[type] };
    if (type === 'int64') t.int64Data = (values as (number | bigint)[]).map((v) => Number(v));
    else t.floatData = values as number[];
    this.inits.push(t);
    return name;
  }

  /** Places `length` bytes in the external data file (page-aligned, so onnxruntime can map them). */
  private place(name: string, dims: number[], dataType: number, length: number, bytes: () => Uint8Array) {
    this.dataOffset += (4096 - (this.dataOffset % 4096)) % 4096;
    this.pending.push({ name, bytes, length, offset: this.dataOffset });
    this.inits.push({
      name,
      dims,
      dataType,
      dataLocation: onnx.TensorProto.DataLocation.EXTERNAL,
      externalData: [
        { key: 'location', value: this.dataName },
        { key: 'offset', value: String(this.dataOffset) },
        { key: 'length', value: String(length) },
      ],
    });
    this.dataOffset += length;
  }

  /**
   * A weight in the external data file, stored as float32 or float16 (then cast to float32). Only its place is
   * decided now; `writeWeights` loads and writes each one later, so the graph is built before any weight is read.
   */
  weight(name: string, load: () => Float32Array, dims: number[], dtype: 'fp32' | 'fp16'): string {
    const count = dims.reduce((a, b) => a * b, 1);
    const half = dtype === 'fp16';
    const stored = half ? `${name}__fp16` : name;
    this.place(stored, dims, half ? ELEM.float16 : ELEM.float, count * (half ? 2 : 4), () => {
      const data = load();
      if (data.length !== count) throw new Error(`weight ${name}: ${data.length} values, expected ${count}`);
      return half
        ? new Uint8Array(floatArrayToHalf(data).buffer)
        : new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    });
    if (!half) return stored;
    const cast = this.op('Cast', [stored], { to: ELEM.float }, name.replace(/\W+/g, '_'));
    this.halfOf.set(cast, stored);
    return cast;
  }

  /**
   * A linear layer's [N, K] weight quantized block-wise for onnxruntime's MatMulNBits (quantize.ts): the packed
   * integers and the per-block scales, both from one read of the weight.
   */
  quantizedWeight(name: string, load: () => Float32Array, N: number, K: number, bits: 4 | 8, blockSize: number) {
    const kBlocks = Math.ceil(K / blockSize),
      blob = (blockSize * bits) / 8;
    let last: ReturnType<typeof quantizeBlocks> | null = null;
    const quantized = () => (last ??= quantizeBlocks(load(), N, K, bits, blockSize));
    this.place(`${name}__q${bits}`, [N, kBlocks, blob], ELEM.uint8, N * kBlocks * blob, () => quantized().packed);
    this.place(`${name}__scales`, [N * kBlocks], ELEM.float, N * kBlocks * 4, () => {
      const { scales } = quantized();
      last = null;
      return new Uint8Array(scales.buffer);
    });
    return { q: `${name}__q${bits}`, scales: `${name}__scales`, N, K, bits, blockSize };
  }

  /** Loads and writes every weight, one at a time (yielding between them), then flushes the data file. */
  async writeWeights(onEach?: (done: number, total: number, name: string) => void) {
    const fd = openSync(this.dataPath, 'w');
    try {
      for (const [i, w] of this.pending.entries()) {
        const bytes = w.bytes();
        if (bytes.byteLength !== w.length)
          throw new Error(`weight ${w.name}: ${bytes.byteLength} bytes, expected ${w.length}`);
        writeSync(fd, bytes, 0, bytes.byteLength, w.offset);
        onEach?.(i + 1, this.pending.length, w.name);
        await new Promise((ok) => setImmediate(ok));
      }
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  }

  input(name: string, type: 'int64' | 'float' | 'float16', dims: (number | string)[]) {
    this.inputs.push(valueInfo(name, type, dims));
    return name;
  }

  output(from: string, name: string, type: 'int64' | 'float' | 'float16', dims: (number | string)[]) {
    this.nodes.push({ opType: 'Identity', input: [from], output: [name], name: this.fresh('out') });
    this.outputs.push(valueInfo(name, type, dims));
  }

  /** The model's protobuf bytes (opset 17). */
  finish(meta: Record<string, string>): Uint8Array {
    const model = onnx.ModelProto.create({
      irVersion: 8,
      producerName: 'dlens convert',
      opsetImport: [{ domain: '', version: 17 }, ...(this.usesMs ? [{ domain: 'com.microsoft', version: 1 }] : [])],
      metadataProps: Object.entries(meta).map(([key, value]) => ({ key, value })),
      graph: { name: 'dlens', node: this.nodes, initializer: this.inits, input: this.inputs, output: this.outputs },
    });
    return onnx.ModelProto.encode(model).finish();
  }
}

function attr(name: string, v: Attr): onnxProto.onnx.IAttributeProto {
  const A = onnx.AttributeProto.AttributeType;
  if (typeof v === 'string') return { name, type: A.STRING, s: new TextEncoder().encode(v) };
  if (Array.isArray(v)) return { name, type: A.INTS, ints: v };
  return Number.isInteger(v) ? { name, type: A.INT, i: v } : { name, type: A.FLOAT, f: v };
}

function valueInfo(
  name: string,
  type: 'int64' | 'float' | 'float16',
  dims: (number | string)[],
): onnxProto.onnx.IValueInfoProto {
  return {
    name,
    type: {
      tensorType: {
        elemType: ELEM[type],
        shape: { dim: dims.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) },
      },
    },
  };
}
