#!/usr/bin/env python3
"""An evaluation-shaped run on the GPU (issue 32): hundreds of prompts through an lm-eval-style LM class that
batches them and calls LLaDA's generate.py (ML-GSAI/LLaDA, unedited) on a LLaDA-8B-sized model (dllm's modeling
code, random init, bf16) — once bare, once recorded into a trace set by `dlens.lm_eval.record`, which wraps the
class's generate_until and its module's `generate` without editing either. Prints the time of both, the overhead,
the set's bytes per decode, and leaves the set at SET for `dlens set info`.

    scripts/reference-code.sh
    python3 bench/gpu_eval_set.py .ref/gpu SET OUT.json [--prompts 256] [--batch 16] [--gen 256] [--steps 32] [--tiny]
"""
import json
import os
import sys
import time
import types

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, '..', 'python'))
sys.path.insert(0, os.path.abspath(sys.argv[1]))
sys.path.insert(0, HERE)
set_path, out_path = sys.argv[2], sys.argv[3]


def opt(name, default):
    return int(sys.argv[sys.argv.index(name) + 1]) if name in sys.argv else default


TINY = '--tiny' in sys.argv
N, BATCH, GEN, STEPS = opt('--prompts', 256), opt('--batch', 16), opt('--gen', 256), opt('--steps', 32)

import torch  # noqa: E402
import dlens  # noqa: E402
import dlens.lm_eval  # noqa: E402
from gpu_models import build_llada  # noqa: E402
from llada_generate import generate  # noqa: E402,F401  (the LM class's module-level decoder, as eval_llada.py has it)

DEV = 'cpu' if TINY else 'cuda'


class EvalLM:
    """The shape of LLaDA's eval_llada.py LLaDAEvalHarness.generate_until: requests in order, batched, the prompt
    left-padded, `generate(self.model, prompt, ...)` per batch, the answer cut at the request's stop sequences."""

    def __init__(self, model):
        self.model = model

    def generate_until(self, requests):
        out = []
        for i in range(0, len(requests), BATCH):
            batch = requests[i:i + BATCH]
            ids = [[int(t) for t in r.args[0].split()] for r in batch]
            P = max(len(x) for x in ids)
            prompt = torch.full((len(ids), P), 126081, dtype=torch.long, device=DEV)
            for j, x in enumerate(ids):
                prompt[j, P - len(x):] = torch.tensor(x)
            x = sys.modules[__name__].generate(self.model, prompt, steps=STEPS, gen_length=GEN, block_length=32,
                                               temperature=0.0, cfg_scale=0.0, remasking='low_confidence',
                                               mask_id=126336)
            out += [' '.join(str(int(t)) for t in row[P:]) for row in x]
        return out


def requests():
    g = torch.Generator().manual_seed(0)
    reqs = []
    for doc in range(N):
        n = int(torch.randint(32, 129, (1,), generator=g))
        text = ' '.join(str(int(t)) for t in torch.randint(0, 126000, (n,), generator=g))
        reqs.append(types.SimpleNamespace(task_name='synthetic', doc_id=doc, args=(text, {'until': []})))
    return reqs


def timed(fn):
    if DEV == 'cuda':
        torch.cuda.synchronize()
    t = time.perf_counter()
    r = fn()
    if DEV == 'cuda':
        torch.cuda.synchronize()
    return time.perf_counter() - t, r


model = build_llada(DEV, TINY)
lm = EvalLM(model)
reqs = requests()
lm.generate_until(reqs[:BATCH])  # warm-up
bare, answers = timed(lambda: lm.generate_until(reqs))


def recorded():
    ts = dlens.TraceSet(set_path)
    with dlens.lm_eval.record(lm, ts, mask_token_id=126336, block_length=32, top_k=5, model_name='llada-8b-random',
                              strategy='low-confidence'):
        got = lm.generate_until(reqs)
    ts.close()
    return got


rec, got = timed(recorded)
rows = dlens.TraceSet.open(set_path).rows()
shards = os.path.join(set_path, 'shards')
size = sum(os.path.getsize(os.path.join(shards, f)) for f in os.listdir(shards))
result = dict(device=torch.cuda.get_device_name() if DEV == 'cuda' else 'cpu', prompts=N, batch=BATCH, gen_length=GEN,
              steps=STEPS, seconds_bare=bare, seconds_recorded=rec, overhead=rec / bare - 1, decodes=len(rows),
              same_answers=got == answers, set_bytes=size, bytes_per_decode=size / max(1, len(rows)))
print(json.dumps(result), flush=True)
json.dump(result, open(out_path, 'w'), indent=1)
