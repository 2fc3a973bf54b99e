import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import onnxProto from 'onnx-proto';
import { encodeSafetensors, type RawTensor } from '../../engine/trace/safetensors.js';
import { floatArrayToHalf, halfArrayToFloat } from '../../engine/trace/f16.js';
import { ROOT } from '../helpers.js';

/**
 * dlens-tiny as a LLaDA checkpoint folder (the naming of ML-GSAI/LLaDA's `LLaDAModelLM`): its ONNX weights mapped to
 * `model.transformer.*` by the graph node that uses each (qkv split into q/k/v, gate_up into ff_proj/up_proj, the
 * exported [in, out] MatMul weights back to [out, in]), with a LLaDA config.json, the tokenizer and a chat template
 * that renders dlens-tiny's prompt template. So conversion can be checked against the model it came from.
 */
export function tinyAsLlada(dir: string, dtype: 'F16' | 'BF16' = 'F16') {
  const src = join(ROOT, 'assets', 'models', 'dlens-tiny');
  const model = onnxProto.onnx.ModelProto.decode(readFileSync(join(src, 'model.onnx')));
  const g = model.graph!;
  const values = (name: string) => {
    const t = g.initializer!.find((i) => i.name === name)!;
    const raw = t.rawData!;
    const bytes = new Uint8Array(raw).buffer; // a copy: protobufjs hands out views into the whole file
    return {
      dims: t.dims!.map(Number),
      data: t.dataType === 10 ? halfArrayToFloat(new Uint16Array(bytes)) : new Float32Array(bytes),
    };
  };
  // Which MatMul (by node name, e.g. /qkv_3/MatMul) reads each weight through its Cast.
  const castOf = new Map(g.node!.filter((n) => n.opType === 'Cast').map((n) => [n.output![0]!, n.input![0]!]));
  const weightOf = (layerOp: string) => {
    const node = g.node!.find((n) => n.opType === 'MatMul' && n.name === `/${layerOp}/MatMul`)!;
    return values(castOf.get(node.input![1]!)!);
  };
  // [in, out] (as exported) -> rows [r0, r1) of the [out, in] Linear weight
  const rows = (w: { dims: number[]; data: Float32Array }, r0: number, r1: number) => {
    const [In, Out] = w.dims as [number, number];
    const out = new Float32Array((r1 - r0) * In);
    for (let r = r0; r < r1; r++) for (let i = 0; i < In; i++) out[(r - r0) * In + i] = w.data[i * Out + r]!;
    return { dims: [r1 - r0, In], data: out };
  };
  const card = JSON.parse(readFileSync(join(src, 'dlens-model.json'), 'utf8'));
  const cfg = card.training.config as {
    vocab_size: number;
    dim: number;
    layers: number;
    heads: number;
    ffn: number;
    max_positions: number;
    rope_theta: number;
  };
  const tensors = new Map<string, RawTensor>();
  const put = (name: string, w: { dims: number[]; data: Float32Array }) => {
    const bits =
      dtype === 'F16'
        ? floatArrayToHalf(w.data)
        : Uint16Array.from(new Uint32Array(w.data.buffer.slice(w.data.byteOffset)), (u) => u >>> 16);
    tensors.set(name, { dtype, shape: w.dims, data: bits });
  };
  const t = (s: string) => `model.transformer.${s}`;
  put(t('wte.weight'), values('m.emb.weight__fp16'));
  put(t('ln_f.weight'), values('m.norm.weight'));
  const D = cfg.dim,
    F = cfg.ffn;
  for (let l = 0; l < cfg.layers; l++) {
    const op = (n: string) => (l ? `${n}_${l}` : n);
    const b = (s: string) => t(`blocks.${l}.${s}`);
    put(b('attn_norm.weight'), values(`m.blocks.${l}.n1.weight`));
    put(b('ff_norm.weight'), values(`m.blocks.${l}.n2.weight`));
    const qkv = weightOf(op('qkv'));
    put(b('q_proj.weight'), rows(qkv, 0, D));
    put(b('k_proj.weight'), rows(qkv, D, 2 * D));
    put(b('v_proj.weight'), rows(qkv, 2 * D, 3 * D));
    put(b('attn_out.weight'), rows(weightOf(op('o')), 0, D));
    const gateUp = weightOf(op('gate_up'));
    put(b('ff_proj.weight'), rows(gateUp, 0, F));
    put(b('up_proj.weight'), rows(gateUp, F, 2 * F));
    put(b('ff_out.weight'), rows(weightOf(op('down')), 0, D));
  }
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'model.safetensors'), encodeSafetensors(tensors, { format: 'pt' }));
  const config = {
    architectures: ['LLaDAModelLM'],
    model_type: 'llada',
    block_type: 'llama',
    d_model: D,
    n_heads: cfg.heads,
    n_kv_heads: cfg.heads,
    n_layers: cfg.layers,
    mlp_hidden_size: F,
    vocab_size: cfg.vocab_size,
    embedding_size: cfg.vocab_size,
    max_sequence_length: cfg.max_positions,
    rope_theta: cfg.rope_theta,
    rms_norm_eps: 1e-5,
    weight_tying: true,
    include_bias: false,
    activation_type: 'silu',
    mask_token_id: card.mask_token_id,
    eos_token_id: card.eos_token_id,
    pad_token_id: card.pad_token_id,
  };
  writeFileSync(join(dir, 'config.json'), JSON.stringify(config, null, 1));
  copyFileSync(join(src, 'tokenizer.json'), join(dir, 'tokenizer.json'));
  const [pre, post] = (card.prompt_template as string).split('{prompt}');
  writeFileSync(
    join(dir, 'tokenizer_config.json'),
    JSON.stringify({ chat_template: `${pre}{{ messages[0]['content'] }}${post}` }),
  );
  return { config, card };
}
