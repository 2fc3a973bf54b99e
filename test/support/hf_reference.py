#!/usr/bin/env python3
"""A float64 numpy forward pass of a checkpoint folder (config.json + one model.safetensors) of the architectures
`dlens convert` knows, written from their definitions: LLaDA (ML-GSAI/LLaDA's modeling_llada.py, block_type llama),
Dream (DreamLM/Dream's modeling_dream.py: Qwen2 with q/k/v biases, logits shifted by one row) and dllm's A2D Qwen3
(transformers' Qwen3 with per-head q/k RMSNorm, bidirectional). An independent reference for the graphs the converter
builds. Prints JSON {"logits": [[...]], "keys0": [...]} for the token ids given as JSON; with a mask id, also the
logit lens {"lens": [[[top-1 id, probability] per row] per layer]}: each layer's residual stream through the final
norm and the output head, its top-1 other than the mask token, its probability under the softmax over the whole
vocabulary.

    python3 test/support/hf_reference.py CHECKPOINT_DIR '[ids...]' [MASK_ID]
"""
import json
import struct
import sys

import numpy as np


def load(d):
    raw = open(f"{d}/model.safetensors", "rb").read()
    n = struct.unpack("<Q", raw[:8])[0]
    header = json.loads(raw[8:8 + n])

    def tensor(name):
        e = header[name]
        b0, b1 = e["data_offsets"]
        buf = raw[8 + n + b0:8 + n + b1]
        if e["dtype"] == "F16":
            a = np.frombuffer(buf, dtype=np.float16).astype(np.float64)
        elif e["dtype"] == "BF16":
            a = (np.frombuffer(buf, dtype=np.uint16).astype(np.uint32) << 16).view(np.float32).astype(np.float64)
        else:
            a = np.frombuffer(buf, dtype=np.float32).astype(np.float64)
        return a.reshape(e["shape"])
    return tensor


def layout(c, w):
    """Per architecture: dims and a function from a role to its weight (None where the architecture has none)."""
    if c.get("model_type") == "llada" or "LLaDAModelLM" in c.get("architectures", []):
        H = c["n_heads"]
        t = lambda s: w(f"model.transformer.{s}")
        names = {"attn_norm": "attn_norm", "q": "q_proj", "k": "k_proj", "v": "v_proj", "o": "attn_out",
                 "ff_norm": "ff_norm", "gate": "ff_proj", "up": "up_proj", "down": "ff_out"}
        layer = lambda l, r: t(f"blocks.{l}.{names[r]}.weight") if r in names else None
        head = t("wte.weight") if c.get("weight_tying", True) else t("ff_out.weight")
        dims = dict(D=c["d_model"], H=H, Hkv=c.get("n_kv_heads") or H, Dh=c["d_model"] // H, L=c["n_layers"],
                    eps=c.get("rms_norm_eps", 1e-5), theta=c.get("rope_theta", 10000.0), shift=False)
        return dims, t("wte.weight"), layer, t("ln_f.weight"), head
    dream = c.get("model_type") == "Dream"
    qwen3 = c.get("model_type") == "a2d-qwen3"
    names = {"attn_norm": "input_layernorm.weight", "q": "self_attn.q_proj.weight", "k": "self_attn.k_proj.weight",
             "v": "self_attn.v_proj.weight", "o": "self_attn.o_proj.weight", "ff_norm": "post_attention_layernorm.weight",
             "gate": "mlp.gate_proj.weight", "up": "mlp.up_proj.weight", "down": "mlp.down_proj.weight"}
    if dream or c.get("attention_bias"):
        names.update(q_bias="self_attn.q_proj.bias", k_bias="self_attn.k_proj.bias", v_bias="self_attn.v_proj.bias")
    if qwen3:
        names.update(q_norm="self_attn.q_norm.weight", k_norm="self_attn.k_norm.weight")
    layer = lambda l, r: w(f"model.layers.{l}.{names[r]}") if r in names else None
    H = c["num_attention_heads"]
    head = w("model.embed_tokens.weight") if c.get("tie_word_embeddings", True) else w("lm_head.weight")
    dims = dict(D=c["hidden_size"], H=H, Hkv=c.get("num_key_value_heads", H), Dh=c.get("head_dim", c["hidden_size"] // H),
                L=c["num_hidden_layers"], eps=c.get("rms_norm_eps", 1e-6), theta=c.get("rope_theta", 10000.0), shift=dream)
    return dims, w("model.embed_tokens.weight"), layer, w("model.norm.weight"), head


def forward(d, ids, mask=None):
    c = json.load(open(f"{d}/config.json"))
    dims, embed, layer, final_norm, head = layout(c, load(d))
    D, H, Hkv, Dh, L, eps, T = dims["D"], dims["H"], dims["Hkv"], dims["Dh"], dims["L"], dims["eps"], len(ids)

    def rms(x, g):
        return x / np.sqrt((x * x).mean(-1, keepdims=True) + eps) * g

    inv = 1.0 / (dims["theta"] ** (np.arange(0, Dh, 2) / Dh))
    ang = np.arange(T)[:, None] * inv[None]
    cos, sin = np.cos(np.concatenate([ang, ang], -1)), np.sin(np.concatenate([ang, ang], -1))

    def rope(x):
        return x * cos + np.concatenate([-x[..., Dh // 2:], x[..., :Dh // 2]], -1) * sin

    def heads(x, h):
        return x.reshape(T, h, Dh).transpose(1, 0, 2)

    def proj(x, l, r):
        y = x @ layer(l, r).T
        b = layer(l, f"{r}_bias")
        return y if b is None else y + b

    def norm(x, l, r):
        g = layer(l, r)
        return x if g is None else rms(x, g)

    def read_out(x):
        logits = rms(x, final_norm) @ head.T
        return np.concatenate([logits[:1], logits[:-1]], 0) if dims["shift"] else logits

    def top_one(logits):
        p = np.exp(logits - logits.max(-1, keepdims=True))
        p /= p.sum(-1, keepdims=True)
        cand = logits.copy()
        cand[:, mask] = -np.inf
        top = cand.argmax(-1)
        return [[int(t), float(p[r, t])] for r, t in enumerate(top)]

    lens = []
    x = embed[ids]
    keys0 = None
    for l in range(L):
        h = rms(x, layer(l, "attn_norm"))
        q = rope(norm(heads(proj(h, l, "q"), H), l, "q_norm"))
        k_own = rope(norm(heads(proj(h, l, "k"), Hkv), l, "k_norm"))
        if l == 0:
            keys0 = k_own  # per key/value head, as the graph returns them (contract v2)
        k = np.repeat(k_own, H // Hkv, axis=0)
        v = np.repeat(heads(proj(h, l, "v"), Hkv), H // Hkv, axis=0)
        s = q @ k.transpose(0, 2, 1) / np.sqrt(Dh)
        p = np.exp(s - s.max(-1, keepdims=True))
        p /= p.sum(-1, keepdims=True)
        x = x + (p @ v).transpose(1, 0, 2).reshape(T, H * Dh) @ layer(l, "o").T
        f = rms(x, layer(l, "ff_norm"))
        g = f @ layer(l, "gate").T
        x = x + ((g / (1 + np.exp(-g))) * (f @ layer(l, "up").T)) @ layer(l, "down").T
        if mask is not None:
            lens.append(top_one(read_out(x)))
    return read_out(x), keys0, lens


if __name__ == "__main__":
    mask = int(sys.argv[3]) if len(sys.argv) > 3 else None
    logits, keys0, lens = forward(sys.argv[1], json.loads(sys.argv[2]), mask)
    out = {"logits": logits.tolist(), "keys0": keys0.reshape(-1).tolist()}
    if mask is not None:
        out["lens"] = lens
    print(json.dumps(out))
