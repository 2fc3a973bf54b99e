#!/usr/bin/env python3
"""The PyTorch side of `npm run bench:convert`: the same LLaDA-architecture checkpoint, loaded from its safetensors
shards, timed on the same forward as the dlens engine (a block of Q positions against C cached keys/values), with
PyTorch's threads set to the engine's. The model is written from the architecture (as test/support/hf_reference.py)
because transformers is not installed here; the work per forward is the same matrix products.

    python3 bench/torch_llada.py CHECKPOINT_DIR THREADS Q C REPEATS   -> JSON {"ms": [...]}
"""
import json
import math
import os
import struct
import sys
import time

import numpy as np
import torch


def load_shards(d):
    out = {}
    for f in sorted(x for x in os.listdir(d) if x.endswith(".safetensors")):
        raw = open(os.path.join(d, f), "rb").read()
        n = struct.unpack("<Q", raw[:8])[0]
        for name, e in json.loads(raw[8:8 + n]).items():
            if name == "__metadata__":
                continue
            b0, b1 = e["data_offsets"]
            u16 = np.frombuffer(raw[8 + n + b0:8 + n + b1], dtype=np.uint16)
            out[name] = torch.from_numpy((u16.astype(np.uint32) << 16).view(np.float32).reshape(e["shape"]).copy())
    return out


def main():
    d, threads, Q, C, reps = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
    torch.set_num_threads(threads)
    c = json.load(open(os.path.join(d, "config.json")))
    w = load_shards(d)
    D, H, L = c["d_model"], c["n_heads"], c["n_layers"]
    Dh, eps = D // H, c.get("rms_norm_eps", 1e-5)
    t = lambda s: w[f"model.transformer.{s}"]
    inv = 1.0 / (c.get("rope_theta", 10000.0) ** (torch.arange(0, Dh, 2, dtype=torch.float32) / Dh))
    pos = torch.arange(C, C + Q, dtype=torch.float32)
    ang = pos[:, None] * inv[None]
    cos, sin = torch.cat([ang.cos(), ang.cos()], -1), torch.cat([ang.sin(), ang.sin()], -1)
    rope = lambda x: x * cos + torch.cat([-x[..., Dh // 2:], x[..., :Dh // 2]], -1) * sin
    rms = lambda x, g: x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps) * g
    g = torch.Generator().manual_seed(0)
    past_k = [torch.randn(H, C, Dh, generator=g) for _ in range(L)]
    past_v = [torch.randn(H, C, Dh, generator=g) for _ in range(L)]
    ids = torch.randint(0, c["vocab_size"], (Q,), generator=g)

    @torch.no_grad()
    def forward():
        x = t("wte.weight")[ids]
        for l in range(L):
            b = lambda s: t(f"blocks.{l}.{s}")
            h = rms(x, b("attn_norm.weight"))
            q = rope((h @ b("q_proj.weight").T).view(Q, H, Dh).transpose(0, 1))
            k = rope((h @ b("k_proj.weight").T).view(Q, H, Dh).transpose(0, 1))
            v = (h @ b("v_proj.weight").T).view(Q, H, Dh).transpose(0, 1)
            ka, va = torch.cat([past_k[l], k], 1), torch.cat([past_v[l], v], 1)
            p = torch.softmax(q @ ka.transpose(1, 2) / math.sqrt(Dh), -1)
            x = x + (p @ va).transpose(0, 1).reshape(Q, D) @ b("attn_out.weight").T
            f = rms(x, b("ff_norm.weight"))
            x = x + (torch.nn.functional.silu(f @ b("ff_proj.weight").T) * (f @ b("up_proj.weight").T)) @ b("ff_out.weight").T
        return rms(x, t("ln_f.weight")) @ t("wte.weight").T

    forward()  # warm-up
    ms = []
    for _ in range(reps):
        t0 = time.perf_counter()
        forward()
        ms.append((time.perf_counter() - t0) * 1000)
    print(json.dumps({"ms": ms, "threads": torch.get_num_threads()}))


if __name__ == "__main__":
    main()
