#!/usr/bin/env python3
"""A float64 numpy forward pass of a LLaDA checkpoint folder (config.json + one model.safetensors), written from the
architecture's definition (ML-GSAI/LLaDA's modeling_llada.py, block_type llama): an independent reference for the
graph `dlens convert` builds. Prints JSON {"logits": [[...]], "keys0": [...]} for the token ids given as JSON.

    python3 test/support/llada_reference.py CHECKPOINT_DIR '[ids...]'
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


def forward(d, ids):
    c = json.load(open(f"{d}/config.json"))
    w = load(d)
    D, H, L = c["d_model"], c["n_heads"], c["n_layers"]
    Hkv, Dh, eps, T = c.get("n_kv_heads") or H, D // H, c.get("rms_norm_eps", 1e-5), len(ids)

    def rms(x, g):
        return x / np.sqrt((x * x).mean(-1, keepdims=True) + eps) * g

    inv = 1.0 / (c.get("rope_theta", 10000.0) ** (np.arange(0, Dh, 2) / Dh))
    ang = np.arange(T)[:, None] * inv[None]
    cos, sin = np.cos(np.concatenate([ang, ang], -1)), np.sin(np.concatenate([ang, ang], -1))

    def rope(x):
        return x * cos + np.concatenate([-x[..., Dh // 2:], x[..., :Dh // 2]], -1) * sin

    def heads(x, h):
        return x.reshape(T, h, Dh).transpose(1, 0, 2)

    t = lambda s: w(f"model.transformer.{s}")
    x = t("wte.weight")[ids]
    keys0 = None
    for l in range(L):
        b = lambda s: t(f"blocks.{l}.{s}")
        h = rms(x, b("attn_norm.weight"))
        q = rope(heads(h @ b("q_proj.weight").T, H))
        k = np.repeat(rope(heads(h @ b("k_proj.weight").T, Hkv)), H // Hkv, axis=0)
        v = np.repeat(heads(h @ b("v_proj.weight").T, Hkv), H // Hkv, axis=0)
        if l == 0:
            keys0 = k
        s = q @ k.transpose(0, 2, 1) / np.sqrt(Dh)
        p = np.exp(s - s.max(-1, keepdims=True))
        p /= p.sum(-1, keepdims=True)
        x = x + (p @ v).transpose(1, 0, 2).reshape(T, D) @ b("attn_out.weight").T
        f = rms(x, b("ff_norm.weight"))
        g = f @ b("ff_proj.weight").T
        x = x + ((g / (1 + np.exp(-g))) * (f @ b("up_proj.weight").T)) @ b("ff_out.weight").T
    head = t("wte.weight") if c.get("weight_tying", True) else t("ff_out.weight")
    return rms(x, t("ln_f.weight")) @ head.T, keys0


if __name__ == "__main__":
    logits, keys0 = forward(sys.argv[1], json.loads(sys.argv[2]))
    print(json.dumps({"logits": logits.tolist(), "keys0": keys0.reshape(-1).tolist()}))
