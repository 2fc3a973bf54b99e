#!/usr/bin/env python3
"""Goldens from the papers' own decoding code, run unchanged on dlens-tiny (docs/fidelity.md).

    /usr/bin/python3 test/reference/make_goldens.py --llada PATH --fast-dllm PATH --sparse-dllm PATH \\
        [--device cuda] [--model assets/models/dlens-tiny] [--out test/fixtures/reference-goldens.json] [--prompts F]

PATHs are checkouts of ML-GSAI/LLaDA (generate.py), NVlabs/Fast-dLLM (llada/generate.py, with `factor`) and
OpenMOSS/Sparse-dLLM (opencompass/models/sparse_dllm/llada_generate.py and its CustomCache). Nothing of them is
copied: they are imported as they are, with what Debian's Python lacks supplied from outside (transformers, which
they import but the decoders do not use; torch.nn.attention; torch.topk as on CUDA: cuda_topk). The model is dlens-tiny rebuilt in PyTorch from the ONNX file dlens runs (tiny_torch.py).

For every configuration and prompt the golden holds what a comparison needs: the output, each generated position's
commit step (the index of the model call after which it was decided), and per step the positions whose decision the
reference's own probabilities leave within 1e-6 of going the other way (ties: near-equal confidences decided
differently, or a confidence within 1e-6 of a threshold).
"""
import argparse
import contextlib
import importlib
import importlib.util
import json
import os
import subprocess
import sys
import types

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, '..', '..'))
sys.path.insert(0, HERE)
from tiny_torch import TinyLLaDA, load_from_onnx  # noqa: E402

GEN, BLOCK, STEPS = 64, 32, 64
TIE = 1e-6


# --- what the references import and Debian's Python lacks -----------------------------------------------------------

class _Anything:
    """Stands in for transformers' classes: subclassable, callable, with a no-op register()."""
    def __init__(self, *a, **k):
        pass

    @classmethod
    def register(cls, *a, **k):
        pass


def _stub_module(name, **attrs):
    m = types.ModuleType(name)
    m.__path__ = []
    m.__getattr__ = lambda attr: _Anything  # PEP 562: any name the reference imports from it
    for k, v in attrs.items():
        setattr(m, k, v)
    sys.modules[name] = m
    return m


def install_stubs():
    for name in ('transformers', 'transformers.modeling_outputs', 'transformers.models', 'transformers.models.auto',
                 'transformers.cache_utils', 'transformers.utils'):
        if name not in sys.modules:
            _stub_module(name)
    try:
        import torch.nn.attention  # noqa: F401  (torch >= 2.2)
    except ImportError:
        _stub_module('torch.nn.attention', sdpa_kernel=contextlib.nullcontext, SDPBackend=types.SimpleNamespace())


def load_module(name, path):
    spec = importlib.util.spec_from_file_location(name, path)
    mod = importlib.util.module_from_spec(spec)
    sys.modules[name] = mod
    spec.loader.exec_module(mod)
    return mod


def load_from_package(package, folder, module):
    """folder/module.py imported as package.module, so its relative imports resolve inside folder."""
    pkg = types.ModuleType(package)
    pkg.__path__ = [folder]
    sys.modules[package] = pkg
    return importlib.import_module(f'{package}.{module}')


@contextlib.contextmanager
def cuda_topk():
    """torch.topk as the references get it on CUDA, where they run: k may be a one-element tensor (torch 1.13 refuses
    it), and equal values are taken lowest index first (CUDA's topk does so; CPU's leaves the order unspecified, and
    Sparse-dLLM's max-pooled scores tie on every plateau, so the kept cache would depend on the sort's internals)."""
    original = torch.topk

    def topk(input, k, dim=-1, largest=True, sorted=True):
        s = torch.sort(input, dim=dim, descending=largest, stable=True)
        return torch.return_types.topk((s.values.narrow(dim, 0, int(k)), s.indices.narrow(dim, 0, int(k))))
    torch.topk = topk
    try:
        yield
    finally:
        torch.topk = original


def probe_topk(device):
    """How often torch.topk on `device` keeps, of 200 random max-pooled score vectors (Sparse-dLLM's plateaus), the
    set cuda_topk keeps (equal values lowest index first)."""
    import torch.nn.functional as F
    g = torch.Generator().manual_seed(0)
    agree = 0
    for trial in range(200):
        n = 70 + trial % 20
        pooled = F.max_pool1d(torch.randn(n, generator=g)[None, None], 3, 1, 1)[0, 0]
        k = n // 2
        lowest = set(sorted(range(n), key=lambda i: (-float(pooled[i]), i))[:k])
        agree += set(torch.topk(pooled.to(device), k).indices.tolist()) == lowest
    return agree


def references(llada_dir, fast_dir, sparse_dir):
    for repo, f in ((llada_dir, 'generate.py'), (fast_dir, 'llada/generate.py'),
                    (sparse_dir, 'opencompass/models/sparse_dllm/llada_generate.py')):
        if not os.path.isfile(os.path.join(repo, f)):
            print(f'make_goldens.py: {repo} has no {f}: give checkouts of ML-GSAI/LLaDA, NVlabs/Fast-dLLM and '
                  'OpenMOSS/Sparse-dLLM', file=sys.stderr)
            sys.exit(2)
    install_stubs()
    llada = load_module('ref_llada_generate', os.path.join(llada_dir, 'generate.py'))
    # Fast-dLLM's generate.py imports its model class (relative or, in older copies, absolute); the decoders never use it.
    for name in ('ref_fast_dllm.model', 'ref_fast_dllm.model.modeling_llada', 'model', 'model.modeling_llada'):
        if name not in sys.modules:
            _stub_module(name, LLaDAModelLM=_Anything)
    fast = load_from_package('ref_fast_dllm', os.path.join(fast_dir, 'llada'), 'generate')
    import inspect
    if 'factor' not in inspect.signature(fast.generate).parameters:
        sys.exit(f'{fast_dir}/llada/generate.py has no factor parameter: use NVlabs/Fast-dLLM from July 2025 or later')
    sparse = load_from_package('ref_sparse_dllm', os.path.join(sparse_dir, 'opencompass', 'models', 'sparse_dllm'),
                               'llada_generate')
    return llada, fast, sparse


def configurations(llada, fast, sparse, mask_id):
    """name, how the reference decodes a prompt, how it computes confidence, its commit rule, and dlens's equivalent."""
    common = dict(steps=STEPS, gen_length=GEN, block_length=BLOCK, temperature=0.0, mask_id=mask_id)
    out = [('llada-low-confidence', lambda m, p: llada.generate(m, p, remasking='low_confidence', **common),
            torch.float32, ('topk', None), dict(strategy='low-confidence', params={}, cache='none'))]
    for rule, kw, strategy, params in (('threshold', dict(threshold=0.9), 'fast-dllm-threshold', {'threshold': 0.9}),
                                       ('factor', dict(factor=1.0), 'fast-dllm-factor', {'factor': 1})):
        for cache, fn in (('none', fast.generate), ('prefix', fast.generate_with_prefix_cache),
                          ('dual', fast.generate_with_dual_cache)):
            out.append((f'fast-dllm-{rule}-{cache}',
                        lambda m, p, fn=fn, kw=kw: fn(m, p, remasking='low_confidence', **kw, **common)[0],
                        torch.float64, (rule, kw[rule]), dict(strategy=strategy, params=params, cache=cache)))
    out.append(('sparse-dllm', lambda m, p: sparse.generate(m, p, cfg_scale=0.0, remasking='low_confidence', **common),
                torch.float32, ('topk', None),
                dict(strategy='low-confidence', params={}, cache='sparse',
                     cache_params={'keep_ratio': 0.5, 'kernel_size': 3, 'delay': 1})))
    return out


def summarize(calls, final, P, mask_id, dtype, rule):
    """Commit step per generated position, and per step the positions within TIE of the other decision."""
    states = [c['state'] for c in calls] + [final]
    commit = [-1] * GEN
    ties = {}
    for n, c in enumerate(calls):
        before, after = states[n], states[n + 1]
        changed = (before != after).nonzero(as_tuple=True)[0].tolist()
        assert all(int(before[p]) == mask_id for p in changed), 'a committed token changed'
        for p in changed:
            commit[p - P] = n
        if not changed:
            continue
        bs = P + (min(changed) - P) // BLOCK * BLOCK
        masked = [p for p in range(bs, bs + BLOCK) if int(before[p]) == mask_id]
        rows = torch.tensor([p - c['q0'] for p in masked])
        conf = torch.softmax(c['logits'][rows].to(dtype), dim=-1).max(-1).values.tolist()
        decided = {p: p in changed for p in masked}
        near = set()
        for i, p in enumerate(masked):
            if any(decided[q] != decided[p] and abs(conf[i] - conf[j]) < TIE for j, q in enumerate(masked)):
                near.add(p)
        kind, value = rule
        if kind == 'threshold':
            near |= {p for i, p in enumerate(masked) if abs(conf[i] - value) < TIE}
        if kind == 'factor':
            order = sorted(range(len(masked)), key=lambda i: -conf[i])
            near |= {masked[i] for r, i in enumerate(order) if r > 0 and abs(conf[i] - (1 - value / (r + 2))) < TIE}
        if near:
            ties[str(n)] = sorted(near)
    return commit, ties


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--llada', help='checkout of ML-GSAI/LLaDA')
    ap.add_argument('--fast-dllm', help='checkout of NVlabs/Fast-dLLM')
    ap.add_argument('--sparse-dllm', help='checkout of OpenMOSS/Sparse-dLLM')
    ap.add_argument('--model', default=os.path.join(ROOT, 'assets', 'models', 'dlens-tiny'))
    ap.add_argument('--out', default=os.path.join(ROOT, 'test', 'fixtures', 'reference-goldens.json'))
    ap.add_argument('--device', default='cpu', help='cpu (the committed goldens: the numerics closest to dlens on a CPU) or cuda')
    ap.add_argument('--prompts', help='the output of `npx tsx test/reference/prompts.ts MODEL` (default: run it)')
    ap.add_argument('--probe-topk', action='store_true', help='only report how torch.topk orders ties on --device')
    a = ap.parse_args()
    if a.probe_topk:
        print(f'torch.topk on {a.device} kept the lowest-index set in {probe_topk(a.device)} of 200 pooled vectors')
        return
    if not (a.llada and a.fast_dllm and a.sparse_dllm):
        ap.error('--llada, --fast-dllm and --sparse-dllm are required (checkouts of the three repositories)')
    torch.set_num_threads(max(1, os.cpu_count() or 1))
    m, card = load_from_onnx(a.model)
    model = TinyLLaDA(m, block_len=BLOCK, keep_ratio=0.5, kernel_size=3, device=a.device).eval()
    prompts = json.load(open(a.prompts)) if a.prompts else json.loads(subprocess.run(
        ['npx', 'tsx', os.path.join(HERE, 'prompts.ts'), a.model], cwd=ROOT, check=True, capture_output=True,
        text=True).stdout)
    llada, fast, sparse = references(a.llada, a.fast_dllm, a.sparse_dllm)
    mask_id = card['mask_token_id']
    golden = {
        'about': 'made by test/reference/make_goldens.py from the papers\' code run unchanged on dlens-tiny; see docs/fidelity.md',
        'model': {'name': card['name'], 'sha256': card['training']['source']['sha256']},
        'device': f'{a.device}' + (f' ({torch.cuda.get_device_name()}, torch {torch.__version__})' if a.device == 'cuda'
                                   else f' (torch {torch.__version__})'),
        'gen_length': GEN, 'block_length': BLOCK, 'steps': STEPS, 'tie': TIE,
        'prompts': prompts,
        'configs': [],
    }
    with cuda_topk():
        for name, run, dtype, rule, dlens in configurations(llada, fast, sparse, mask_id):
            runs = []
            for pr in prompts:
                model.calls = []
                x = run(model, torch.tensor([pr['ids']], device=model.device)).cpu()
                P = len(pr['ids'])
                commit, ties = summarize(model.calls, x[0], P, mask_id, dtype, rule)
                runs.append({'task': pr['task'], 'output': x[0, P:].tolist(), 'nfe': len(model.calls),
                             'commit_step': commit, 'ties': ties})
            golden['configs'].append({'name': name, 'dlens': dlens, 'runs': runs})
            print(f'{name}: {len(runs)} prompts, {sum(r["nfe"] for r in runs)} model calls', file=sys.stderr)
    tmp = a.out + '.tmp'
    with open(tmp, 'w') as f:
        json.dump(golden, f, separators=(',', ':'))
    os.replace(tmp, a.out)
    print(a.out)


if __name__ == '__main__':
    main()
