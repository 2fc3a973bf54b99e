/**
 * The graph `dlens convert` makes of LLaDA-8B (config of GSAI-ML/LLaDA-8B-Instruct: d_model 4096, 32 layers, 32
 * heads, MLP 12288, vocabulary 126464, untied head, rope_theta 500000), built from the architecture's tensor shapes
 * alone — no weights are read or written, so it is made in a second on any machine. `bench/ort_llada8b.py` fills its
 * external data with random values on the GPU machine (speed does not depend on them) and times a decoding step
 * there, on the CUDA provider and on 16 CPU cores: what docs/results.md states LLaDA-8B needs.
 *   npx tsx bench/llada8b-graph.ts OUT_DIR [fp16|int8|int4]
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { GraphBuilder } from '../engine/convert/onnx-graph.js';
import { LLADA } from '../engine/convert/llada.js';
import { GRAPH_TOP_K } from '../engine/convert/convert.js';
import type { Checkpoint, TensorEntry } from '../engine/convert/checkpoint.js';
import type { ConvertDtype } from '../engine/convert/weights.js';

const [out = 'bench/tmp/llada8b', dtype = 'fp16'] = process.argv.slice(2);
const config = {
  architectures: ['LLaDAModelLM'],
  model_type: 'llada',
  block_type: 'llama',
  d_model: 4096,
  n_heads: 32,
  n_kv_heads: 32,
  n_layers: 32,
  mlp_hidden_size: 12288,
  vocab_size: 126464,
  embedding_size: 126464,
  max_sequence_length: 4096,
  rope_theta: 500000,
  rms_norm_eps: 1e-5,
  weight_tying: false,
  include_bias: false,
  mask_token_id: 126336,
  eos_token_id: 126081,
};
const D = 4096,
  F = 12288,
  V = 126464;
const shapes: [string, number[]][] = [
  ['model.transformer.wte.weight', [V, D]],
  ['model.transformer.ln_f.weight', [D]],
  ['model.transformer.ff_out.weight', [V, D]],
];
for (let l = 0; l < 32; l++) {
  const b = (s: string) => `model.transformer.blocks.${l}.${s}`;
  shapes.push(
    [b('attn_norm.weight'), [D]],
    [b('ff_norm.weight'), [D]],
    [b('q_proj.weight'), [D, D]],
    [b('k_proj.weight'), [D, D]],
    [b('v_proj.weight'), [D, D]],
    [b('attn_out.weight'), [D, D]],
    [b('ff_proj.weight'), [F, D]],
    [b('up_proj.weight'), [F, D]],
    [b('ff_out.weight'), [D, F]],
  );
}
const tensors = new Map<string, TensorEntry>(
  shapes.map(([name, shape]) => [name, { name, dtype: 'BF16', shape, shard: 'none', path: '', offset: 0, length: 0 }]),
);
const ck: Checkpoint = { dir: out, config, tensors, shards: [], shardPaths: [], configPath: '' };
mkdirSync(out, { recursive: true });
const g = new GraphBuilder(join(out, 'model.onnx.data'), 'model.onnx.data');
LLADA.build(
  g,
  ck,
  LLADA.dims(config),
  { dtype: dtype as ConvertDtype },
  {
    kvDtype: 'float16',
    blockCausal: false,
    topK: GRAPH_TOP_K,
    maskId: config.mask_token_id,
    maskInSoftmax: true,
  },
);
writeFileSync(join(out, 'model.onnx'), g.finish({}));
console.log(`${out}/model.onnx: LLaDA-8B graph, ${dtype} weights (external data not written), fp16 keys/values`);
