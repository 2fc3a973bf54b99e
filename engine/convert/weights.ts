import { DlensError } from '../errors.js';
import { readTensorF32, type Checkpoint } from './checkpoint.js';
import type { GraphBuilder } from './onnx-graph.js';
import { configFields, configTokenId } from './config-fields.js';
import type { LinearWeight } from './transformer.js';

export type ConvertDtype = 'fp32' | 'fp16' | 'int8' | 'int4';

/** How weights are stored: the dtype, and for int8/int4 the MatMulNBits block along the input dimension. */
export interface WeightFormat {
  dtype: ConvertDtype;
  quantBlock?: QuantBlock;
}
export const QUANT_BLOCKS = [16, 32, 64, 128] as const;
export type QuantBlock = (typeof QUANT_BLOCKS)[number];

/**
 * Why block size 32 by default for int8 and int4: the smallest block onnxruntime's MatMulNBits kernels are tuned for
 * besides 16, and the one that kept dlens-tiny's suite accuracy within issue 14's bounds
 * (bench/results/quantization.md). `--quant-block 128` trades some accuracy for speed: the kernel reads a quarter of
 * the scales (int4 at M = 32 on AVX-512: 2.4x fp32's Gemm against 1.8x at 32; bench:convert).
 */
export const BLOCK_SIZE: QuantBlock = 32;

/**
 * Checkpoint tensors as graph weights, by name: each checked against the shape the config implies (from the shard
 * header, before anything is read) and streamed into the model's data later. `linear` weights ([out, in]) are
 * quantized for int8/int4; everything else (norms, biases, the embedding and the output head) stays float — 2D ones as
 * float16 under fp16, int8 and int4, since the head sets every probability the views show; 1D ones (norms, biases)
 * as float32 always: they are a few KB, and rounding a norm's gain moves every activation after it.
 */
export function weightTaker(g: GraphBuilder, ck: Checkpoint, format: WeightFormat) {
  const { dtype, quantBlock = BLOCK_SIZE } = format;
  const entry = (name: string, shape: number[]) => {
    const e = ck.tensors.get(name);
    if (!e)
      throw new DlensError(
        `tensor ${name} is missing from the checkpoint (${ck.shards.join(', ')}); is a shard missing?`,
      );
    if (e.shape.length !== shape.length || e.shape.some((s, i) => s !== shape[i]))
      throw new DlensError(`tensor ${name} has shape [${e.shape}], the config implies [${shape}]`);
    return e;
  };
  const quantized = dtype === 'int8' || dtype === 'int4';
  const dense = (name: string, shape: number[]) => {
    const e = entry(name, shape);
    const stored = (dtype === 'fp16' || quantized) && shape.length === 2 ? 'fp16' : 'fp32';
    return g.weight(name, () => readTensorF32(ck, e), shape, stored);
  };
  const linear = (name: string, shape: [number, number]): LinearWeight => {
    if (!quantized) return dense(name, shape);
    const e = entry(name, shape);
    return g.quantizedWeight(
      name,
      () => readTensorF32(ck, e),
      shape[0],
      shape[1],
      dtype === 'int8' ? 8 : 4,
      quantBlock,
    );
  };
  /**
   * The output head under int8/int4: its own 8-bit MatMulNBits copy (of the embedding too, when tied), because an
   * fp16 head is cast to float32 on every call — 65M values for a 32k x 2048 head, a quarter of an int4 step
   * (bench:convert) — and 8 bits keep the probabilities the views show (bench:quantization). fp32/fp16: as `dense`,
   * or the embedding itself when `tied` (its graph name).
   */
  const head = (name: string, shape: [number, number], tied?: string): LinearWeight => {
    if (!quantized) return tied ?? dense(name, shape);
    const e = entry(name, shape);
    return g.quantizedWeight(`${name}__head`, () => readTensorF32(ck, e), shape[0], shape[1], 8, quantBlock);
  };
  return Object.assign(dense, { linear, head });
}

/** Token ids and the position limit where a config names them (each checked: config-fields.ts). */
export function configIds(config: Record<string, unknown>, maxPositionsKey: string) {
  const maxPositions =
    config[maxPositionsKey] === undefined || config[maxPositionsKey] === null
      ? undefined
      : configFields(config).int(maxPositionsKey, { max: 1 << 24 });
  return {
    mask: configTokenId(config, 'mask_token_id'),
    eos: configTokenId(config, 'eos_token_id'),
    pad: configTokenId(config, 'pad_token_id'),
    maxPositions,
  };
}
