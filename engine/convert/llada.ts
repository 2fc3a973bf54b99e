import { DlensError } from '../errors.js';
import type { Checkpoint } from './checkpoint.js';
import { configIds, weightTaker, type WeightFormat } from './weights.js';
import { checkHeads, configFields } from './config-fields.js';
import type { GraphBuilder } from './onnx-graph.js';
import { buildTransformer, type GraphOptions, type TransformerDims } from './transformer.js';

/**
 * LLaDA (ML-GSAI/LLaDA, `LLaDAModelLM`; LLaDA-8B-Base/Instruct, LLaDA-1.5): OLMo-style names under
 * `model.transformer.`, block_type llama — q_proj, k_proj, v_proj, attn_out; ff_proj (the gate, through SiLU),
 * up_proj, ff_out; attn_norm, ff_norm, ln_f (RMSNorm); rotary with the config's rope_theta; the output head tied to
 * wte (weight_tying) or `model.transformer.ff_out`.
 */
export const LLADA = {
  name: 'llada',
  matches: (config: Record<string, unknown>) =>
    (Array.isArray(config.architectures) && config.architectures.includes('LLaDAModelLM')) ||
    config.model_type === 'llada',

  dims(config: Record<string, unknown>): TransformerDims {
    const f = configFields(config, '; is this a LLaDA checkpoint?');
    if ((config.block_type ?? 'llama') !== 'llama')
      throw new DlensError(`config.json: block_type ${String(config.block_type)}; dlens converts LLaDA's llama blocks`);
    if (config.rope === false || config.alibi === true)
      throw new DlensError(
        'config.json: not rotary positions (rope false or alibi true); dlens converts rotary LLaDA checkpoints',
      );
    if (config.include_bias === true)
      throw new DlensError('config.json: include_bias true; dlens converts LLaDA checkpoints without linear biases');
    const heads = f.int('n_heads', { max: 4096 }),
      dModel = f.int('d_model');
    const kvHeads = f.int('n_kv_heads', { fallback: heads, max: 4096 });
    checkHeads({ model: 'd_model', heads: 'n_heads', kv: 'n_kv_heads' }, dModel, heads, kvHeads);
    return {
      layers: f.int('n_layers', { max: 4096 }),
      heads,
      kvHeads,
      headDim: dModel / heads,
      dModel,
      vocab: f.int('embedding_size', { fallback: f.int('vocab_size') }),
      ropeTheta: f.positive('rope_theta', 10000),
      normEps: f.positive('rms_norm_eps', 1e-5),
    };
  },

  /** Adds every weight to the graph as the transformer asks for it, checking names and shapes against the config. */
  build(g: GraphBuilder, ck: Checkpoint, d: TransformerDims, format: WeightFormat, opts: GraphOptions) {
    const take = weightTaker(g, ck, format);
    const t = (s: string) => `model.transformer.${s}`;
    const D = d.dModel,
      kv = d.kvHeads * d.headDim;
    const ffn = ck.tensors.get(t('blocks.0.ff_proj.weight'))?.shape[0];
    if (!ffn)
      throw new DlensError(
        `tensor ${t('blocks.0.ff_proj.weight')} is missing: this is not a LLaDA llama-block checkpoint`,
      );
    const tied = ck.config.weight_tying !== false && !ck.tensors.has(t('ff_out.weight'));
    const embed = take(t('wte.weight'), [d.vocab, D]);
    buildTransformer(
      g,
      d,
      {
        embed,
        layer: (l) => {
          const b = (s: string) => t(`blocks.${l}.${s}`);
          return {
            attnNorm: take(b('attn_norm.weight'), [D]),
            q: take.linear(b('q_proj.weight'), [D, D]),
            k: take.linear(b('k_proj.weight'), [kv, D]),
            v: take.linear(b('v_proj.weight'), [kv, D]),
            o: take.linear(b('attn_out.weight'), [D, D]),
            ffNorm: take(b('ff_norm.weight'), [D]),
            ffn: {
              gate: take.linear(b('ff_proj.weight'), [ffn, D]),
              up: take.linear(b('up_proj.weight'), [ffn, D]),
              down: take.linear(b('ff_out.weight'), [D, ffn]),
            },
          };
        },
        finalNorm: take(t('ln_f.weight'), [D]),
        head: tied ? take.head(t('wte.weight'), [d.vocab, D], embed) : take.head(t('ff_out.weight'), [d.vocab, D]),
      },
      opts,
    );
  },

  /** Token ids from the config where LLaDA's configs hold them (mask 126336 in LLaDA-8B). */
  ids: (config: Record<string, unknown>) => configIds(config, 'max_sequence_length'),
};
