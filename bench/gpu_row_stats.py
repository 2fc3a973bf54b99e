#!/usr/bin/env python3
"""What one step's statistics cost on a GPU (issue 32), side by side: dlens.row_stats compiled (the default on CUDA),
the same function eagerly (DLENS_COMPILE=0), and the eager log-softmax formulation the recorder used before (kept here
for the comparison). Shapes are those of the recording benchmark's steps: Dream-7B's undecided rows (vocabulary
152,064) at batch 1 and 16 and gen 256, LLaDA-8B's active block (32 rows a decode, vocabulary 126,464) at batch 1
and 16. Random bf16 logits; CUDA events, median of 30 after warm-up; the compiled and eager outputs must agree.

    python3 bench/gpu_row_stats.py OUT.json
"""
import json
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'python'))
import torch  # noqa: E402
from dlens import row_stats as rs  # noqa: E402

K, MASK = 5, 126336


def before(r, k=K, mask=MASK):
    """The recorder's reduction before row_stats (dlens at 4a14ecd)."""
    lp = torch.log_softmax(r, -1, dtype=torch.float32)
    h = -torch.bmm(lp.exp().unsqueeze(1), lp.unsqueeze(2)).reshape(-1)
    top = torch.topk(r, k + 1, dim=-1)
    tl = lp.gather(1, top.indices)
    order = torch.argsort((top.indices == mask).to(torch.int8), dim=-1, stable=True)[:, :k]
    ti, tl = top.indices.gather(1, order), tl.gather(1, order)
    i0 = top.indices[:, :1]
    return dict(ids=ti.int(), probs=tl.exp(), entropy=h, lse=(r.gather(1, i0).float() - lp.gather(1, i0))[:, 0])


def timed(f, x, n=30):
    for _ in range(3):
        f(x)
    torch.cuda.synchronize()
    ts = []
    for _ in range(n):
        a, b = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        a.record()
        f(x)
        b.record()
        torch.cuda.synchronize()
        ts.append(a.elapsed_time(b))
    return sorted(ts)[n // 2]


def main():
    out = sys.argv[1]
    shapes = {'dream b16 g256': (16 * 256, 152064), 'dream b1 g256': (256, 152064),
              'llada b16 block': (16 * 32, 126464), 'llada b1 block': (32, 126464)}
    res = {'device': torch.cuda.get_device_name(), 'torch': torch.__version__, 'shapes': {}}
    g = torch.Generator(device='cuda').manual_seed(0)
    for name, (n, V) in shapes.items():
        x = (torch.randn(n, V, device='cuda', generator=g) * 3).to(torch.bfloat16)
        t0 = time.perf_counter()
        fused = rs.row_stats(x, K, MASK)
        torch.cuda.synchronize()
        first = time.perf_counter() - t0
        os.environ['DLENS_COMPILE'] = '0'
        eager = rs.row_stats(x, K, MASK)
        old = before(x)
        row = {'rows': n, 'vocab': V, 'first_call_s': first,
               'before_ms': timed(before, x), 'eager_ms': timed(lambda y: rs.row_stats(y, K, MASK), x)}
        del os.environ['DLENS_COMPILE']
        row['compiled_ms'] = timed(lambda y: rs.row_stats(y, K, MASK), x)
        row['agree'] = {k: float((fused[k].float() - v.float()).abs().max()) for k, v in old.items()}
        row['agree_eager'] = {k: float((fused[k].float() - v.float()).abs().max()) for k, v in eager.items()}
        res['shapes'][name] = row
        print(name, json.dumps(row), flush=True)
    with open(out, 'w') as f:
        json.dump(res, f, indent=1)


main()
