import { copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { encodeSafetensors, type RawTensor } from '../../engine/trace/safetensors.js';
import { Rng } from '../../engine/util/rng.js';
import { FIXTURE } from '../helpers.js';

/**
 * A tiny random checkpoint in a Qwen-family layout (transformers' names), as Dream (`DreamModel`: q/k/v biases,
 * shifted logits, untied head) or dllm's A2D Qwen3 (`A2DQwen3LMHeadModel`: per-head q/k norm, head_dim unlike
 * hidden/heads, tied head), with grouped-query heads and the fixture's 260-token tokenizer (<|mask|> = 1, <|eos|> = 0).
 */
export function randomQwenCheckpoint(dir: string, kind: 'dream' | 'a2d-qwen3', seed = 7) {
  const rng = new Rng(seed);
  const normal = () => Math.sqrt(-2 * Math.log(rng.open())) * Math.cos(2 * Math.PI * rng.next());
  const V = 260,
    D = 64,
    H = 4,
    Hkv = 2,
    Dh = kind === 'dream' ? 16 : 24,
    L = 2,
    F = 96;
  const dtype = kind === 'dream' ? 'F32' : 'BF16';
  const tensors = new Map<string, RawTensor>();
  const put = (name: string, shape: number[], f: () => number) => {
    const v = Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, f);
    tensors.set(name, {
      dtype,
      shape,
      data: dtype === 'F32' ? v : Uint16Array.from(new Uint32Array(v.buffer), (u) => u >>> 16),
    });
  };
  const w = (std: number) => () => normal() * std;
  const norm = () => 1 + 0.1 * normal();
  put('model.embed_tokens.weight', [V, D], w(0.5));
  for (let l = 0; l < L; l++) {
    const b = (s: string) => `model.layers.${l}.${s}`;
    put(b('input_layernorm.weight'), [D], norm);
    put(b('post_attention_layernorm.weight'), [D], norm);
    put(b('self_attn.q_proj.weight'), [H * Dh, D], w(0.2));
    put(b('self_attn.k_proj.weight'), [Hkv * Dh, D], w(0.2));
    put(b('self_attn.v_proj.weight'), [Hkv * Dh, D], w(0.2));
    put(b('self_attn.o_proj.weight'), [D, H * Dh], w(0.2));
    if (kind === 'dream') {
      put(b('self_attn.q_proj.bias'), [H * Dh], w(0.1));
      put(b('self_attn.k_proj.bias'), [Hkv * Dh], w(0.1));
      put(b('self_attn.v_proj.bias'), [Hkv * Dh], w(0.1));
    } else {
      put(b('self_attn.q_norm.weight'), [Dh], norm);
      put(b('self_attn.k_norm.weight'), [Dh], norm);
    }
    put(b('mlp.gate_proj.weight'), [F, D], w(0.2));
    put(b('mlp.up_proj.weight'), [F, D], w(0.2));
    put(b('mlp.down_proj.weight'), [D, F], w(0.2));
  }
  put('model.norm.weight', [D], norm);
  if (kind === 'dream') put('lm_head.weight', [V, D], w(0.3));
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'model.safetensors'), encodeSafetensors(tensors, { format: 'pt' }));
  const common = {
    vocab_size: V,
    hidden_size: D,
    num_attention_heads: H,
    num_key_value_heads: Hkv,
    num_hidden_layers: L,
    intermediate_size: F,
    rope_theta: 10000,
    rms_norm_eps: 1e-6,
    max_position_embeddings: 512,
    eos_token_id: 0,
    pad_token_id: 0,
  };
  const config =
    kind === 'dream'
      ? { ...common, architectures: ['DreamModel'], model_type: 'Dream', tie_word_embeddings: false, mask_token_id: 1 }
      : {
          ...common,
          architectures: ['A2DQwen3LMHeadModel'],
          model_type: 'a2d-qwen3',
          head_dim: Dh,
          tie_word_embeddings: true,
          attention_bias: false,
        };
  writeFileSync(join(dir, 'config.json'), JSON.stringify(config, null, 1));
  copyFileSync(join(FIXTURE, 'tokenizer.json'), join(dir, 'tokenizer.json'));
  writeFileSync(
    join(dir, 'tokenizer_config.json'),
    JSON.stringify({ chat_template: "<|user|>{{ messages[0]['content'] }}<|assistant|>", eos_token: '<|eos|>' }),
  );
  return config;
}
