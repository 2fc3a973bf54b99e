#!/usr/bin/env python3
"""What recording costs where evaluations run (issue 32): the original decoders, unedited, on LLaDA-8B- and
Dream-7B-sized models with their original modeling code (random init, bf16), timed bare and recorded into a trace set.

    scripts/reference-code.sh                   # stages the original code into .ref/gpu (not committed)
    python3 bench/gpu_recorder_overhead.py .ref/gpu OUT.json [--models llada,dream] [--batch 1,16] [--gen 256,1024]
                                           [--reps 3] [--tiny]

- LLaDA: ML-GSAI/LLaDA's generate.py (`generate`, low-confidence remasking, block 32) on dllm's `LLaDAModelLM`.
  Recorded through `dlens.watch(model, set.batch(...))`: one decode per batch row, written into a trace set.
- Dream: dllm's copy of Dream's `diffusion_generate` (alg entropy, temperature 0) on dllm's `DreamModel`. Recorded
  through `dlens.dream_hooks(set.batch(...))`, and with saliency through `dlens.watch(..., logits_shift=1)` (the
  hooks do not see attention).
Each configuration runs `reps` times, interleaved (bare, recorded, saliency, bare, ...); the best time of each is
compared. Steps per decode: gen/8 at gen 256 and gen/16 at gen 1,024 (the overhead is per step; fewer steps fit the
device time). `--tiny`: 2-layer models on the CPU, to check the script itself. Writes JSON to OUT.
"""
import json
import os
import shutil
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, '..', 'python'))
ref = os.path.abspath(sys.argv[1])
out_path = sys.argv[2]
sys.path.insert(0, ref)
sys.path.insert(0, HERE)


def opt(name, default):
    return sys.argv[sys.argv.index(name) + 1] if name in sys.argv else default


TINY = '--tiny' in sys.argv
models = opt('--models', 'llada,dream').split(',')
batches = [int(b) for b in opt('--batch', '1,16').split(',')]
gens = [int(g) for g in opt('--gen', '256,1024').split(',')]
reps = int(opt('--reps', '3'))

import torch  # noqa: E402
import dlens  # noqa: E402
from gpu_models import build_dream, build_llada, dream_generation_config  # noqa: E402

DEV = 'cpu' if TINY else 'cuda'

# Time spent writing decodes (Recorder.save: the copies to the host, building and compacting the trace), apart from
# the per-step work: the two parts of the overhead have different cures.
_save = dlens.Recorder.save
SAVE_SECONDS = [0.0]


def _timed_save(self, *a, **k):
    t = time.perf_counter()
    try:
        return _save(self, *a, **k)
    finally:
        SAVE_SECONDS[0] += time.perf_counter() - t


dlens.Recorder.save = _timed_save


def sync():
    if DEV == 'cuda':
        torch.cuda.synchronize()


def timed(fn):
    sync()
    t = time.perf_counter()
    r = fn()
    sync()
    return time.perf_counter() - t, r


def llada_runs(model, prompt, gen):
    from llada_generate import generate
    steps = gen // 8 if gen <= 256 else gen // 16
    P = prompt.shape[1]

    def bare():
        return generate(model, prompt, steps=steps, gen_length=gen, block_length=32, mask_id=126336)

    def recorded(saliency):
        def run(sdir):
            ts = dlens.TraceSet(sdir, saliency=saliency)
            samples = [('bench', i) for i in range(prompt.shape[0])]
            with ts.batch(samples, mask_token_id=126336, prompt_length=P, block_length=32, top_k=5,
                          saliency=saliency, model_name='llada-8b-random', strategy='low-confidence') as recs:
                with dlens.watch(model, recs):
                    x = bare()
                recs.finish(x)
            ts.close()
        return run
    return steps, {'bare': bare, 'recorder': recorded(False), 'recorder+saliency': recorded(True)}


def dream_runs(model, prompt, gen):
    steps = gen // 8 if gen <= 256 else gen // 16
    P = prompt.shape[1]

    gc = dream_generation_config()

    def bare(**hooks):
        out = model.diffusion_generate(prompt, generation_config=gc, max_new_tokens=gen, steps=steps, alg='entropy', temperature=0.0,
                                       output_history=False, return_dict_in_generate=True, **hooks)
        return getattr(out, 'sequences', out)

    def hooks(sdir):
        ts = dlens.TraceSet(sdir)
        samples = [('bench', i) for i in range(prompt.shape[0])]
        with ts.batch(samples, mask_token_id=151666, prompt_length=P, top_k=5, model_name='dream-7b-random',
                      strategy='entropy') as recs:
            x = bare(**dlens.dream_hooks(recs))
            recs.finish(x)
        ts.close()

    def saliency(sdir):
        ts = dlens.TraceSet(sdir, saliency=True)
        samples = [('bench', i) for i in range(prompt.shape[0])]
        with ts.batch(samples, mask_token_id=151666, prompt_length=P, top_k=5, saliency=True, logits_shift=1,
                      model_name='dream-7b-random', strategy='entropy') as recs:
            with dlens.watch(model, recs):
                x = bare()
            recs.finish(x)
        ts.close()
    return steps, {'bare': bare, 'recorder': hooks, 'recorder+saliency': saliency}


def measure(name, build, runs_for):
    t0 = time.perf_counter()
    model = build(DEV, TINY)
    print(f'{name}: built in {time.perf_counter() - t0:.1f} s', flush=True)
    rows = []
    for gen in gens:
        for B in batches:
            torch.manual_seed(0)
            prompt = torch.randint(0, 126000, (B, 64), device=DEV)
            steps, runs = runs_for(model, prompt, gen)
            times = {k: [] for k in runs}
            saves = {k: [] for k in runs if k != 'bare'}
            sizes = {}
            runs['bare']()  # warm-up (kernels, allocator)
            for _ in range(reps):
                for kind, fn in runs.items():
                    if kind == 'bare':
                        dt, _ = timed(fn)
                    else:
                        sdir = tempfile.mkdtemp(prefix='dlens-overhead-')
                        SAVE_SECONDS[0] = 0.0
                        dt, _ = timed(lambda: fn(sdir))
                        saves[kind].append(SAVE_SECONDS[0])
                        shard = [f for f in os.listdir(os.path.join(sdir, 'shards')) if f.endswith('.dlshard')]
                        sizes[kind] = os.path.getsize(os.path.join(sdir, 'shards', shard[0])) / B
                        shutil.rmtree(sdir)
                    times[kind].append(dt)
            best = {k: min(v) for k, v in times.items()}
            row = dict(model=name, batch=B, gen_length=gen, steps=steps, reps=reps, seconds_best=best,
                       overhead={k: best[k] / best['bare'] - 1 for k in runs if k != 'bare'},
                       bytes_per_decode=sizes, all_seconds=times, save_seconds=saves)
            print(json.dumps(row), flush=True)
            rows.append(row)
    del model
    if DEV == 'cuda':
        torch.cuda.empty_cache()
    return rows


results = dict(device=torch.cuda.get_device_name() if DEV == 'cuda' else 'cpu', torch=torch.__version__,
               reference=open(os.path.join(ref, 'COMMITS')).read().split('\n')[:2], runs=[])
for m in models:
    results['runs'] += measure(m, build_llada if m == 'llada' else build_dream,
                               llada_runs if m == 'llada' else dream_runs)
    json.dump(results, open(out_path, 'w'), indent=1)
