import { DlensError } from '../errors.js';
import { readTensorF32, type Checkpoint } from './checkpoint.js';
import type { GraphBuilder } from './onnx-graph.js';

/**
 * A checkpoint tensor as a graph weight, by name: checked against the shape the config implies (from the shard
 * header, before anything is read) and streamed into the model's data later.
 */
export function weightTaker(g: GraphBuilder, ck: Checkpoint, dtype: 'fp32' | 'fp16') {
  return (name: string, shape: number[]) => {
    const e = ck.tensors.get(name);
    if (!e)
      throw new DlensError(
        `tensor ${name} is missing from the checkpoint (${ck.shards.join(', ')}); is a shard missing?`,
      );
    if (e.shape.length !== shape.length || e.shape.some((s, i) => s !== shape[i]))
      throw new DlensError(`tensor ${name} has shape [${e.shape}], the config implies [${shape}]`);
    return g.weight(name, () => readTensorF32(ck, e), shape, dtype);
  };
}

/** Token ids and the position limit where a config names them. */
export function configIds(config: Record<string, unknown>, maxPositionsKey: string) {
  const n = (k: string) => (typeof config[k] === 'number' ? (config[k] as number) : undefined);
  return { mask: n('mask_token_id'), eos: n('eos_token_id'), pad: n('pad_token_id'), maxPositions: n(maxPositionsKey) };
}
