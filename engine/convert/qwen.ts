import { DlensError } from '../errors.js';
import type { Checkpoint } from './checkpoint.js';
import { configIds, weightTaker, type WeightFormat } from './weights.js';
import { checkHeads, configFields } from './config-fields.js';
import type { GraphBuilder } from './onnx-graph.js';
import { buildTransformer, type GraphOptions, type MoEWeights, type TransformerDims } from './transformer.js';

/**
 * The Qwen family under transformers' naming (`model.embed_tokens`, `model.layers.N.self_attn.{q,k,v,o}_proj`,
 * `input_layernorm`, `post_attention_layernorm`, `mlp.{gate,up,down}_proj`, `model.norm`, `lm_head`):
 *
 * - Dream (DreamLM/Dream, `DreamModel`, model_type Dream): Qwen2 with q/k/v biases and grouped-query heads; it predicts
 *   position i from output row i − 1, so the graph shifts the logits back (row 0 keeps its own).
 * - dllm's A2D models (ZHZisZZ/dllm, `A2DQwen3LMHeadModel`, model_type a2d-qwen3; and a2d-qwen2): Qwen3 (per-head
 *   RMSNorm of queries and keys, head_dim from the config) or Qwen2 with the causal mask removed — the MDLM variant.
 *   The BD3LM variant is the same checkpoint layout attending block-causally: convert.ts makes its graph block-causal
 *   when the block size is known (config.json's block_size or --block-size).
 * - LLaDA-MoE (inclusionAI, `LLaDAMoEModelLM`, model_type lladamoe, as dllm ships its modeling file): OLMoE's layout —
 *   per-head q/k RMSNorm (qk_layernorm), and per layer (moe_layer_freq) either a dense SwiGLU or routed experts
 *   (`mlp.gate` the router, `mlp.experts.E.{gate,up,down}_proj`, `shared_expert.*` when its size is not 0;
 *   transformer.ts's MoEWeights says how they combine).
 */
type Flavor = { name: string; shift: boolean; qkNorm: boolean | 'config'; qkvBias: 'always' | 'config'; moe?: true };
const FLAVORS: { match: (c: Record<string, unknown>) => boolean; flavor: Flavor }[] = [
  {
    match: (c) =>
      c.model_type === 'Dream' || (Array.isArray(c.architectures) && c.architectures.includes('DreamModel')),
    flavor: { name: 'dream', shift: true, qkNorm: false, qkvBias: 'always' },
  },
  {
    match: (c) =>
      c.model_type === 'a2d-qwen3' ||
      (Array.isArray(c.architectures) && c.architectures.includes('A2DQwen3LMHeadModel')),
    flavor: { name: 'a2d-qwen3', shift: false, qkNorm: true, qkvBias: 'config' },
  },
  {
    match: (c) =>
      c.model_type === 'a2d-qwen2' ||
      (Array.isArray(c.architectures) && c.architectures.includes('A2DQwen2LMHeadModel')),
    flavor: { name: 'a2d-qwen2', shift: false, qkNorm: false, qkvBias: 'always' },
  },
  {
    match: (c) =>
      c.model_type === 'lladamoe' || (Array.isArray(c.architectures) && c.architectures.includes('LLaDAMoEModelLM')),
    flavor: { name: 'llada-moe', shift: false, qkNorm: 'config', qkvBias: 'config', moe: true },
  },
];

const flavorOf = (config: Record<string, unknown>) => FLAVORS.find((f) => f.match(config))!.flavor;

export const QWEN = {
  name: 'dream, a2d-qwen3, a2d-qwen2, llada-moe',
  matches: (config: Record<string, unknown>) => FLAVORS.some((f) => f.match(config)),

  dims(config: Record<string, unknown>): TransformerDims {
    const c = configFields(config);
    const f = flavorOf(config);
    if (config.rope_scaling)
      throw new DlensError(
        `config.json: rope_scaling ${JSON.stringify(config.rope_scaling)}; dlens converts plain rotary positions only`,
      );
    if (config.use_sliding_window === true)
      throw new DlensError('config.json: use_sliding_window true; dlens converts full attention only');
    if (typeof config.clip_qkv === 'number')
      throw new DlensError(`config.json: clip_qkv ${config.clip_qkv}; dlens converts checkpoints without it`);
    if ((config.partial_rotary_factor ?? 1) !== 1)
      throw new DlensError(
        `config.json: partial_rotary_factor ${String(config.partial_rotary_factor)}; dlens rotates whole heads only`,
      );
    const heads = c.int('num_attention_heads', { max: 4096 }),
      dModel = c.int('hidden_size');
    const kvHeads = c.int('num_key_value_heads', { fallback: heads, max: 4096 });
    // With its own head_dim the width need not divide into heads (Qwen3).
    const names = { model: 'hidden_size', heads: 'num_attention_heads', kv: 'num_key_value_heads' };
    checkHeads(names, config.head_dim === undefined ? dModel : undefined, heads, kvHeads);
    return {
      layers: c.int('num_hidden_layers', { max: 4096 }),
      heads,
      kvHeads,
      headDim: c.int('head_dim', { fallback: dModel / heads }),
      dModel,
      vocab: c.int('vocab_size'),
      // transformers 5 saves rope_theta inside rope_parameters
      ropeTheta: c.positive(
        'rope_theta',
        (config.rope_parameters as { rope_theta?: number } | undefined)?.rope_theta ?? 10000,
      ),
      normEps: c.positive('rms_norm_eps', 1e-6),
      shiftLogits: f.shift,
    };
  },

  build(g: GraphBuilder, ck: Checkpoint, d: TransformerDims, format: WeightFormat, opts: GraphOptions) {
    const f = flavorOf(ck.config);
    const take = weightTaker(g, ck, format);
    const D = d.dModel,
      q = d.heads * d.headDim,
      kv = d.kvHeads * d.headDim;
    const isMoe = (l: number) => f.moe === true && (ck.config.moe_layer_freq as number[] | undefined)?.[l] !== 0;
    const first = [...Array(d.layers).keys()].find((l) => !isMoe(l));
    const ffn = first === undefined ? 0 : ck.tensors.get(`model.layers.${first}.mlp.gate_proj.weight`)?.shape[0];
    if (ffn === undefined)
      throw new DlensError(
        `tensor model.layers.${first}.mlp.gate_proj.weight is missing: this is not a ${f.name} checkpoint`,
      );
    const swiglu = (p: string, size: number) => ({
      gate: take.linear(`${p}.gate_proj.weight`, [size, D]),
      up: take.linear(`${p}.up_proj.weight`, [size, D]),
      down: take.linear(`${p}.down_proj.weight`, [D, size]),
    });
    const moe = (l: number): MoEWeights => {
      const c = configFields(ck.config);
      const b = `model.layers.${l}`,
        E = c.int('num_experts', { max: 4096 }),
        size = c.int('expert_intermediate_size'),
        shared = ck.config.shared_expert_intermediate_size;
      return {
        router: take.linear(`${b}.mlp.gate.weight`, [E, D]),
        ...(ck.config.moe_router_enable_expert_bias === true ? { expertBias: take(`${b}.mlp.expert_bias`, [E]) } : {}),
        topK: c.int('num_experts_per_tok', { max: E }),
        experts: Array.from({ length: E }, (_, e) => swiglu(`${b}.mlp.experts.${e}`, size)),
        ...(typeof shared === 'number' && shared > 0 ? { shared: swiglu(`${b}.shared_expert`, shared) } : {}),
      };
    };
    const qkNorm = f.qkNorm === 'config' ? ck.config.qk_layernorm === true : f.qkNorm;
    const bias = f.qkvBias === 'always' || ck.config.attention_bias === true;
    const embed = take('model.embed_tokens.weight', [d.vocab, D]);
    const tied = ck.config.tie_word_embeddings !== false && !ck.tensors.has('lm_head.weight');
    buildTransformer(
      g,
      d,
      {
        embed,
        layer: (l) => {
          const b = (s: string) => `model.layers.${l}.${s}`;
          return {
            attnNorm: take(b('input_layernorm.weight'), [D]),
            q: take.linear(b('self_attn.q_proj.weight'), [q, D]),
            k: take.linear(b('self_attn.k_proj.weight'), [kv, D]),
            v: take.linear(b('self_attn.v_proj.weight'), [kv, D]),
            ...(bias
              ? {
                  qBias: take(b('self_attn.q_proj.bias'), [q]),
                  kBias: take(b('self_attn.k_proj.bias'), [kv]),
                  vBias: take(b('self_attn.v_proj.bias'), [kv]),
                }
              : {}),
            ...(qkNorm
              ? {
                  qNorm: take(b('self_attn.q_norm.weight'), [d.headDim]),
                  kNorm: take(b('self_attn.k_norm.weight'), [d.headDim]),
                }
              : {}),
            o: take.linear(b('self_attn.o_proj.weight'), [D, q]),
            ffNorm: take(b('post_attention_layernorm.weight'), [D]),
            ffn: isMoe(l) ? moe(l) : swiglu(b('mlp'), ffn),
          };
        },
        finalNorm: take('model.norm.weight', [D]),
        head: tied
          ? take.head('model.embed_tokens.weight', [d.vocab, D], embed)
          : take.head('lm_head.weight', [d.vocab, D]),
      },
      opts,
    );
  },

  ids: (config: Record<string, unknown>) => configIds(config, 'max_position_embeddings'),

  /** Dream's shifted logits: a cached block pass also computes the position before the block (model contract). */
  cardExtras: (config: Record<string, unknown>) => (flavorOf(config).shift ? { shifted_logits: true } : {}),
  flavor: (config: Record<string, unknown>) => flavorOf(config).name,
};
