#!/usr/bin/env python3
"""Overhead of the Python recorder on a GPU decode (issue 18): a LLaDA-8B-sized model in bf16, decoded by a
LLaDA-style low-confidence loop, timed bare, under dlens.watch (top-k, confidence, entropy), and under dlens.watch
with per-layer saliency. The model is transformers' Llama with LLaDA-8B's dimensions (hidden 4096, 32 layers,
32 heads, MLP 12288, vocab 126464), randomly initialised: the same work per forward as LLaDA-8B (its attention is
bidirectional; the cost is the same). Writes JSON to the path given.

    python3 bench/python_recorder_overhead.py OUT.json [--gen 256,1024] [--reps 3]

Each configuration runs `reps` times, interleaved; the best time of each is compared (the lent GPU is shared).
"""
import json
import os
import sys
import time
import types

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'python'))
import torch  # noqa: E402
import dlens  # noqa: E402

MASK = 126336
out_path = sys.argv[1]
reps = int(sys.argv[sys.argv.index('--reps') + 1]) if '--reps' in sys.argv else 3
gens = [int(g) for g in (sys.argv[sys.argv.index('--gen') + 1] if '--gen' in sys.argv else '256,1024').split(',')]


def build():
    from transformers import LlamaConfig, LlamaForCausalLM
    cfg = LlamaConfig(hidden_size=4096, num_hidden_layers=32, num_attention_heads=32, num_key_value_heads=32,
                      intermediate_size=12288, vocab_size=126464, max_position_embeddings=4096, rope_theta=500000.0,
                      attn_implementation='sdpa', tie_word_embeddings=False)
    torch.set_default_dtype(torch.bfloat16)
    with torch.device('cuda'):
        m = LlamaForCausalLM(cfg)
    torch.set_default_dtype(torch.float32)
    return m.eval()


@torch.no_grad()
def generate(model, prompt, gen, block, steps):
    """LLaDA generate.py's per-step work, as its loop does it: softmax in float64, the number of tokens to commit
    a tensor that topk reads (a host sync per step, as in the reference), greedy low-confidence remasking."""
    P = prompt.shape[1]
    x = torch.full((1, P + gen), MASK, dtype=torch.long, device='cuda')
    x[:, :P] = prompt
    blocks = gen // block
    per = steps // blocks
    for b in range(blocks):
        s, e = P + b * block, P + (b + 1) * block
        n = (x[:, s:e] == MASK).sum(1, keepdim=True)
        sched = torch.zeros(1, per, dtype=torch.long, device='cuda') + n // per
        for j in range(1):
            sched[j, :int(n[j] % per)] += 1
        for i in range(per):
            mask_index = x == MASK
            logits = model(x).logits
            x0 = logits.argmax(-1)
            p = torch.softmax(logits.to(torch.float64), -1).gather(-1, x0[..., None])[..., 0]
            conf = torch.where(mask_index, p, torch.tensor(float('-inf'), device='cuda'))
            conf[:, e:] = float('-inf')
            sel = torch.topk(conf[0], k=sched[0, i]).indices
            x[0, sel] = x0[0, sel]
    return x


def timed(fn):
    torch.cuda.synchronize()
    t = time.perf_counter()
    r = fn()
    torch.cuda.synchronize()
    return time.perf_counter() - t, r


model = build()
torch.manual_seed(0)
results = {'device': torch.cuda.get_device_name(), 'torch': torch.__version__, 'model': 'Llama with LLaDA-8B dimensions, '
           'bf16, random init', 'runs': []}
for gen in gens:
    prompt = torch.randint(0, 126000, (1, 64), device='cuda')
    block, steps = 32, gen // 4  # 4 tokens per step: LLaDA's usual gen/steps ratio halved, to fit the time budget
    generate(model, prompt, 64, 32, 16)  # warm-up
    times = {'bare': [], 'recorder': [], 'recorder rows=all': [], 'recorder+saliency': []}
    sizes = {}
    for rep in range(reps):
        for kind in list(times):
            if kind == 'bare':
                dt, _ = timed(lambda: generate(model, prompt, gen, block, steps))
            else:
                path = f'/tmp/overhead-{gen}-{kind.replace(" ", "_")}.dlens'

                def run():
                    with dlens.Recorder(path, mask_token_id=MASK, prompt_length=64, top_k=5,
                                        saliency=kind.endswith('saliency'), block_length=block,
                                        rows='all' if kind.endswith('rows=all') else 'block') as rec:
                        with dlens.watch(model, rec):
                            x = generate(model, prompt, gen, block, steps)
                        rec.finish(x)
                    return rec
                dt, rec = timed(run)
                sizes[kind] = os.path.getsize(path) / 2**20
            times[kind].append(dt)
            print(gen, kind, round(dt, 3), flush=True)
    best = {k: min(v) for k, v in times.items()}
    results['runs'].append({
        'gen_length': gen, 'block_length': block, 'steps': steps, 'repetitions': reps, 'seconds_best': best,
        'overhead_recorder': best['recorder'] / best['bare'] - 1,
        'overhead_recorder_saliency': best['recorder+saliency'] / best['bare'] - 1,
        'overhead_recorder_rows_all': best['recorder rows=all'] / best['bare'] - 1,
        'trace_mb': sizes, 'all_seconds': times,
    })
    print(json.dumps(results['runs'][-1]), flush=True)
json.dump(results, open(out_path, 'w'), indent=1)
