"""dlens masked-diffusion transformer (LLaDA's architecture at small scale) and its ONNX contract wrapper.

Bidirectional transformer: RMSNorm, rotary positions, SwiGLU, tied embeddings. The same module serves
training (fast SDPA path, no cache) and export (explicit softmax, so attention saliency can be returned,
and past keys/values per docs/model-contract.md).
"""
import math
import os
import torch
import torch.nn as nn
import torch.nn.functional as F


class Config:
    def __init__(self, vocab_size=4096, dim=256, layers=6, heads=4, ffn=768, max_positions=2048, rope_theta=10000.0):
        self.vocab_size, self.dim, self.layers, self.heads = vocab_size, dim, layers, heads
        self.ffn, self.max_positions, self.rope_theta = ffn, max_positions, rope_theta
        self.head_dim = dim // heads

    def to_dict(self):
        return dict(vocab_size=self.vocab_size, dim=self.dim, layers=self.layers, heads=self.heads,
                    ffn=self.ffn, max_positions=self.max_positions, rope_theta=self.rope_theta)


class RMSNorm(nn.Module):
    def __init__(self, dim, eps=1e-5):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(dim))
        self.eps = eps

    def forward(self, x):
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps) * self.weight


def rope(x, pos, theta):
    # x: [B, H, Q, Dh], pos: [B, Q] absolute positions; rotate-half convention
    dh = x.shape[-1]
    inv = 1.0 / (theta ** (torch.arange(0, dh, 2, device=x.device, dtype=torch.float32) / dh))
    ang = pos.to(torch.float32)[:, None, :, None] * inv[None, None, None, :]
    cos, sin = torch.cos(ang).to(x.dtype), torch.sin(ang).to(x.dtype)
    x1, x2 = x[..., : dh // 2], x[..., dh // 2:]
    return torch.cat([x1 * cos - x2 * sin, x1 * sin + x2 * cos], dim=-1)


class Block(nn.Module):
    def __init__(self, c: Config):
        super().__init__()
        self.c = c
        self.n1, self.n2 = RMSNorm(c.dim), RMSNorm(c.dim)
        self.qkv = nn.Linear(c.dim, 3 * c.dim, bias=False)
        self.o = nn.Linear(c.dim, c.dim, bias=False)
        self.gate_up = nn.Linear(c.dim, 2 * c.ffn, bias=False)
        self.down = nn.Linear(c.ffn, c.dim, bias=False)

    def qkv_heads(self, x, pos):
        B, Q, _ = x.shape
        q, k, v = self.qkv(self.n1(x)).view(B, Q, 3, self.c.heads, self.c.head_dim).permute(2, 0, 3, 1, 4)
        return rope(q, pos, self.c.rope_theta), rope(k, pos, self.c.rope_theta), v

    def mlp(self, x):
        g, u = self.gate_up(self.n2(x)).chunk(2, dim=-1)
        return x + self.down(F.silu(g) * u)

    def forward_train(self, x, pos, key_mask=None):
        B, Q, _ = x.shape
        q, k, v = self.qkv_heads(x, pos)
        a = F.scaled_dot_product_attention(q, k, v, attn_mask=key_mask)
        x = x + self.o(a.transpose(1, 2).reshape(B, Q, -1))
        return self.mlp(x)

    def forward_cached(self, x, pos, pk, pv, qw):
        # pk, pv: [B, H, C, Dh]; qw: [B, Q] weights of queries for saliency
        B, Q, _ = x.shape
        q, k, v = self.qkv_heads(x, pos)
        ka, va = torch.cat([pk, k], dim=2), torch.cat([pv, v], dim=2)
        s = torch.matmul(q, ka.transpose(-1, -2)) / math.sqrt(self.c.head_dim)
        p = torch.softmax(s, dim=-1)                                   # [B, H, Q, C+Q]
        w = qw / qw.sum(-1, keepdim=True).clamp_min(1e-9)              # [B, Q]
        sal = torch.einsum('bhqk,bq->bhk', p, w)                       # [B, H, C+Q]
        key_scores = torch.einsum('bhqk,bq->bhk', s, w).mean(1)        # [B, C+Q], Sparse-dLLM's ranking
        a = torch.matmul(p, va)
        x = x + self.o(a.transpose(1, 2).reshape(B, Q, -1))
        return self.mlp(x), k, v, sal, key_scores


class DiffusionLM(nn.Module):
    def __init__(self, c: Config):
        super().__init__()
        self.c = c
        self.emb = nn.Embedding(c.vocab_size, c.dim)
        self.blocks = nn.ModuleList([Block(c) for _ in range(c.layers)])
        self.norm = RMSNorm(c.dim)
        nn.init.normal_(self.emb.weight, std=0.02)
        for b in self.blocks:
            for lin in (b.qkv, b.gate_up):
                nn.init.normal_(lin.weight, std=0.02)
            for lin in (b.o, b.down):
                nn.init.normal_(lin.weight, std=0.02 / math.sqrt(2 * c.layers))

    def head(self, x):
        return F.linear(self.norm(x), self.emb.weight)

    def forward(self, ids, pos, key_mask=None):
        x = self.emb(ids)
        for b in self.blocks:
            x = b.forward_train(x, pos, key_mask)
        return self.head(x)


class ContractModel(nn.Module):
    """The ONNX contract (docs/model-contract.md): inputs and outputs exactly as the engine expects; with
    key_scores=True also the optional key_scores output (what the export writes)."""

    def __init__(self, m: DiffusionLM, key_scores=False):
        super().__init__()
        self.m, self.key_scores = m, key_scores

    def forward(self, input_ids, position_ids, past_keys, past_values, query_weights):
        x = self.m.emb(input_ids)
        ks, vs, sals, scores = [], [], [], []
        for i, b in enumerate(self.m.blocks):
            x, k, v, s, sc = b.forward_cached(x, position_ids, past_keys[i], past_values[i], query_weights)
            ks.append(k); vs.append(v); sals.append(s); scores.append(sc)
        out = (self.m.head(x), torch.stack(ks), torch.stack(vs), torch.stack(sals))
        return out + (torch.stack(scores),) if self.key_scores else out


def export_onnx(m: DiffusionLM, path: str, fp16_weights: bool = True):
    """Export with the TorchScript exporter (the dynamo exporter fails on this graph). Weights may be stored
    as fp16 with a Cast to fp32 in front of each, halving the file while the graph computes in fp32."""
    import onnx
    from onnx import helper, TensorProto, numpy_helper
    c = m.c
    cm = ContractModel(m, key_scores=True).eval()
    B, Q, C = 1, 5, 3
    args = (torch.zeros(B, Q, dtype=torch.long), torch.arange(C, C + Q)[None],
            torch.zeros(c.layers, B, c.heads, C, c.head_dim), torch.zeros(c.layers, B, c.heads, C, c.head_dim),
            torch.ones(B, Q))
    names_in = ['input_ids', 'position_ids', 'past_keys', 'past_values', 'query_weights']
    names_out = ['logits', 'keys', 'values', 'saliency', 'key_scores']
    dyn = {'input_ids': {0: 'B', 1: 'Q'}, 'position_ids': {0: 'B', 1: 'Q'},
           'past_keys': {1: 'B', 3: 'C'}, 'past_values': {1: 'B', 3: 'C'}, 'query_weights': {0: 'B', 1: 'Q'},
           'logits': {0: 'B', 1: 'Q'}, 'keys': {1: 'B', 3: 'Q'}, 'values': {1: 'B', 3: 'Q'}, 'saliency': {1: 'B', 3: 'CQ'},
           'key_scores': {1: 'B', 2: 'CQ'}}
    import inspect
    extra = {'dynamo': False} if 'dynamo' in inspect.signature(torch.onnx.export).parameters else {}
    with torch.no_grad():
        torch.onnx.export(cm, args, path, input_names=names_in, output_names=names_out, dynamic_axes=dyn,
                          opset_version=17, do_constant_folding=True, **extra)
    if fp16_weights:
        g = onnx.load(path)
        new_inits, casts = [], []
        for init in g.graph.initializer:
            arr = numpy_helper.to_array(init)
            if init.data_type == TensorProto.FLOAT and arr.size >= 1024:
                half = numpy_helper.from_array(arr.astype('float16'), init.name + '__fp16')
                new_inits.append(half)
                casts.append(helper.make_node('Cast', [half.name], [init.name], to=TensorProto.FLOAT,
                                              name=init.name + '__cast'))
            else:
                new_inits.append(init)
        del g.graph.initializer[:]
        g.graph.initializer.extend(new_inits)
        nodes = list(g.graph.node)
        del g.graph.node[:]
        g.graph.node.extend(casts + nodes)
        onnx.checker.check_model(g)
        onnx.save(g, path)


# The bundled checkpoint (assets/checkpoints/dlens-tiny) in LLaDA's naming (ML-GSAI/LLaDA's LLaDAModelLM), so that the
# model ships as any researcher's checkpoint would and `dlens convert` makes the ONNX model from it. Written and read
# with numpy and the safetensors layout (8-byte header length, JSON header, raw little-endian data): Debian's Python
# has no safetensors package.
ST_DTYPES = {'F32': 'float32', 'F16': 'float16'}


def llada_tensors(m: DiffusionLM):
    """name -> numpy array: Linear weights [out, in] in fp16 (as trained for), norm gains in fp32."""
    c, t = m.c, 'model.transformer.'
    half = lambda w: w.detach().float().cpu().numpy().astype('float16')
    full = lambda w: w.detach().float().cpu().numpy()
    out = {t + 'wte.weight': half(m.emb.weight), t + 'ln_f.weight': full(m.norm.weight)}
    for i, b in enumerate(m.blocks):
        p = f'{t}blocks.{i}.'
        q, k, v = b.qkv.weight.split(c.dim, dim=0)
        gate, up = b.gate_up.weight.split(c.ffn, dim=0)
        out.update({p + 'attn_norm.weight': full(b.n1.weight), p + 'ff_norm.weight': full(b.n2.weight),
                    p + 'q_proj.weight': half(q), p + 'k_proj.weight': half(k), p + 'v_proj.weight': half(v),
                    p + 'attn_out.weight': half(b.o.weight), p + 'ff_proj.weight': half(gate),
                    p + 'up_proj.weight': half(up), p + 'ff_out.weight': half(b.down.weight)})
    return out


def llada_config(c: Config, mask_id=1, eos_id=0):
    return {'architectures': ['LLaDAModelLM'], 'model_type': 'llada', 'block_type': 'llama', 'd_model': c.dim,
            'n_heads': c.heads, 'n_kv_heads': c.heads, 'n_layers': c.layers, 'mlp_hidden_size': c.ffn,
            'vocab_size': c.vocab_size, 'embedding_size': c.vocab_size, 'max_sequence_length': c.max_positions,
            'rope_theta': c.rope_theta, 'rms_norm_eps': 1e-5, 'weight_tying': True, 'include_bias': False,
            'activation_type': 'silu', 'mask_token_id': mask_id, 'eos_token_id': eos_id, 'pad_token_id': eos_id}


def write_safetensors(path, tensors):
    import json, struct
    header, off = {}, 0
    for name, a in tensors.items():
        dt = {v: k for k, v in ST_DTYPES.items()}[str(a.dtype)]
        header[name] = {'dtype': dt, 'shape': list(a.shape), 'data_offsets': [off, off + a.nbytes]}
        off += a.nbytes
    h = json.dumps(header, separators=(',', ':')).encode()
    h += b' ' * (-len(h) % 8)
    with open(path + '.tmp', 'wb') as f:
        f.write(struct.pack('<Q', len(h)) + h)
        for a in tensors.values():
            f.write(a.astype(a.dtype.newbyteorder('<'), copy=False).tobytes())
    os.replace(path + '.tmp', path)


def read_safetensors(path):
    import json, struct
    import numpy as np
    raw = open(path, 'rb').read()
    n = struct.unpack('<Q', raw[:8])[0]
    out = {}
    for name, e in json.loads(raw[8:8 + n]).items():
        if name == '__metadata__':
            continue
        b0, b1 = e['data_offsets']
        out[name] = np.frombuffer(raw[8 + n + b0:8 + n + b1], dtype=ST_DTYPES[e['dtype']]).reshape(e['shape'])
    return out


def export_checkpoint(m: DiffusionLM, out_dir: str, tokenizer_json: str, prompt_template='<|user|>{prompt}<|assistant|>'):
    """The LLaDA-format folder: model.safetensors, config.json, tokenizer.json, tokenizer_config.json (a chat
    template that renders dlens-tiny's prompt template)."""
    import json, shutil
    os.makedirs(out_dir, exist_ok=True)
    write_safetensors(os.path.join(out_dir, 'model.safetensors'), llada_tensors(m))
    json.dump(llada_config(m.c), open(os.path.join(out_dir, 'config.json'), 'w'), indent=1)
    shutil.copyfile(tokenizer_json, os.path.join(out_dir, 'tokenizer.json'))
    pre, post = prompt_template.split('{prompt}')
    json.dump({'chat_template': pre + "{{ messages[0]['content'] }}" + post},
              open(os.path.join(out_dir, 'tokenizer_config.json'), 'w'))


def load_checkpoint(ckpt_dir: str) -> DiffusionLM:
    """The training module with a LLaDA-format checkpoint's weights (the inverse of export_checkpoint)."""
    import json
    cfg = json.load(open(os.path.join(ckpt_dir, 'config.json')))
    c = Config(vocab_size=cfg['vocab_size'], dim=cfg['d_model'], layers=cfg['n_layers'], heads=cfg['n_heads'],
               ffn=cfg['mlp_hidden_size'], max_positions=cfg['max_sequence_length'], rope_theta=cfg['rope_theta'])
    w = {k: torch.from_numpy(v.astype('float32')) for k, v in read_safetensors(os.path.join(ckpt_dir, 'model.safetensors')).items()}
    return from_llada_tensors(c, w)


def from_llada_tensors(c: Config, w) -> DiffusionLM:
    """The training module from LLaDA-named float32 tensors (a checkpoint's, or the initialisers of the ONNX model
    dlens convert made of it, which keep those names)."""
    m, t = DiffusionLM(c), 'model.transformer.'
    with torch.no_grad():
        m.emb.weight.copy_(w[t + 'wte.weight'])
        m.norm.weight.copy_(w[t + 'ln_f.weight'])
        for i, b in enumerate(m.blocks):
            p = f'{t}blocks.{i}.'
            b.n1.weight.copy_(w[p + 'attn_norm.weight'])
            b.n2.weight.copy_(w[p + 'ff_norm.weight'])
            b.qkv.weight.copy_(torch.cat([w[p + 'q_proj.weight'], w[p + 'k_proj.weight'], w[p + 'v_proj.weight']]))
            b.o.weight.copy_(w[p + 'attn_out.weight'])
            b.gate_up.weight.copy_(torch.cat([w[p + 'ff_proj.weight'], w[p + 'up_proj.weight']]))
            b.down.weight.copy_(w[p + 'ff_out.weight'])
    return m.eval()
