#!/usr/bin/env python3
"""Goldens for the entropy-bounded, early-commit, calibrated, remasking and editing decoders (issue 34), from their
public code run unchanged on dlens-tiny (docs/fidelity.md).

    /usr/bin/python3 test/reference/make_revisit_goldens.py --sglang PATH --prophet PATH --pc-sampler PATH \\
        [--model assets/models/dlens-tiny] [--out test/fixtures/revisit-goldens.json]

PATHs are checkouts of sgl-project/sglang (python/sglang/srt/dllm/algorithm/joint_threshold.py and eb_sampling.py, as
of the commits docs/fidelity.md names: their own `run` loops), pixeli99/Prophet (generate_earlyexit.py) and
NEUIR/PC-Sampler (src/generate.py: generate_with_pc_sampler, generate_with_eb_sampler, generate_with_remdm). Nothing
of them is copied. SGLang's algorithms are driven as its runtime drives them, one block at a time, with a model
runner whose forward runs dlens-tiny (rebuilt in PyTorch from the ONNX file, tiny_torch.py) on the whole sequence and
hands the algorithm its block's logits; blocks are laid out from the prompt's end as LLaDA's generate.py lays them.
SGLang's last forward of a block (it persists the block's keys and values, deciding nothing) is not a decision.

Each run's golden: the output, the number of decisions (model calls whose logits decided something, or found
nothing left to change), every change of the sequence as [call, position, token] (the mask id when remasked), and
per call that remasked, the positions whose probability was within 1e-6 of the remasked one's (its ties).
"""
import argparse
import importlib.util
import json
import os
import sys
import types
from collections import Counter

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, '..', '..'))
sys.path.insert(0, HERE)
from tiny_torch import TinyLLaDA, load_from_onnx  # noqa: E402
from make_goldens import cuda_topk, install_stubs, load_module  # noqa: E402

GEN, BLOCK, STEPS = 64, 32, 64
BASELINE = os.path.join(ROOT, 'test', 'fixtures', 'pc-baseline-tiny.json')


def sglang_stubs():
    """What SGLang's algorithm modules import, as far as they use it: the base class's constructor
    (sglang/srt/dllm/algorithm/base.py: block_size and mask_id from the config) and type names."""
    class DllmAlgorithm:
        def __init__(self, config):
            self.block_size = config.block_size
            self.mask_id = config.mask_id

    names = {
        'sglang.srt.dllm.algorithm.base': dict(DllmAlgorithm=DllmAlgorithm),
        'sglang.srt.dllm.config': dict(DllmConfig=object),
        'sglang.srt.layers.logits_processor': dict(LogitsProcessorOutput=object),
        'sglang.srt.model_executor.forward_batch_info': dict(ForwardBatch=object),
        'sglang.srt.model_executor.model_runner': dict(ModelRunner=object),
    }
    for pkg in ('sglang', 'sglang.srt', 'sglang.srt.dllm', 'sglang.srt.dllm.algorithm', 'sglang.srt.layers',
                'sglang.srt.model_executor'):
        m = types.ModuleType(pkg)
        m.__path__ = []
        sys.modules[pkg] = m
    for name, attrs in names.items():
        m = types.ModuleType(name)
        m.__dict__.update(attrs)
        sys.modules[name] = m


class BlockRunner:
    """SGLang's model runner for one request: forward_batch.input_ids is the active block, a view of the whole
    sequence (the algorithm's in-place writes land in it); forward runs the model on the whole sequence."""
    def __init__(self, model, x, bs, be):
        self.model, self.x = model, x
        self.batch = types.SimpleNamespace(batch_size=1, input_ids=x[0, bs:be])
        self.bs, self.be = bs, be

    def forward(self, forward_batch, pp_proxy_tensors=None):
        logits = self.model(self.x).logits[0, self.bs:self.be]
        return types.SimpleNamespace(logits_output=types.SimpleNamespace(full_logits=logits), can_run_graph=False)


def sglang_decode(algorithm_cls, config, decisions_of):
    """Decodes a prompt block by block with an SGLang algorithm's own `run`; `decisions_of(calls)` says how many of a
    block's model calls decided."""
    def run(model, prompt, mask_id):
        P = prompt.shape[1]
        x = torch.full((1, P + GEN), mask_id, dtype=torch.long)
        x[:, :P] = prompt
        algo = algorithm_cls(types.SimpleNamespace(block_size=BLOCK, mask_id=mask_id, algorithm_config=config))
        decided = []
        for bs in range(P, P + GEN, BLOCK):
            first = len(model.calls)
            runner = BlockRunner(model, x, bs, bs + BLOCK)
            algo.run(runner, runner.batch)
            calls = model.calls[first:]
            decided += calls[:decisions_of(calls, algo)]
            del model.calls[first:]
        model.calls += decided
        return x
    return run


def joint_threshold_decisions(calls, algo):
    # Its loop ends by `finished` (a call that changed nothing: a decision) or after block_size + max_post_edit_steps
    # calls, and then one more call persists the block: not a decision.
    cap = algo.block_size + algo.max_post_edit_steps
    return min(len(calls), cap)


def eb_sampling_decisions(calls, algo):
    return len(calls) - 1  # the last call persists the block


def configurations(sglang_dir, prophet_dir, pcs_dir):
    """name, how the reference decodes (model, prompt, mask id) → sequence, and dlens's equivalent."""
    algo = os.path.join(sglang_dir, 'python', 'sglang', 'srt', 'dllm', 'algorithm')
    for f in ('joint_threshold.py', 'eb_sampling.py'):
        if not os.path.isfile(os.path.join(algo, f)):
            sys.exit(f'make_revisit_goldens.py: {sglang_dir} has no python/sglang/srt/dllm/algorithm/{f}')
    sglang_stubs()
    jt = load_module('ref_sglang_joint_threshold', os.path.join(algo, 'joint_threshold.py'))
    eb = load_module('ref_sglang_eb_sampling', os.path.join(algo, 'eb_sampling.py'))
    install_stubs()  # transformers, which Prophet's and PC-Sampler's files import and the decoders do not use
    prophet = load_module('ref_prophet', os.path.join(prophet_dir, 'generate_earlyexit.py'))
    sys.path.insert(0, pcs_dir)  # PC-Sampler's generate.py imports its utils from the project root
    pcs = load_module('ref_pc_sampler', os.path.join(pcs_dir, 'src', 'generate.py'))
    tok = types.SimpleNamespace(decode=lambda *a, **k: '')
    common = dict(block=BLOCK, steps=STEPS, cache='none')
    out = []
    for name, cfg, params in (
            ('edit-threshold', {}, {'edit_threshold': 0.5}),
            ('edit-threshold-edit-0.1', {'threshold': 0.7}, {'threshold': 0.7, 'edit_threshold': 0.1}),
    ):
        conf = {'edit_threshold': params['edit_threshold'], **cfg}
        out.append((f'sglang-joint-threshold ({name})',
                    sglang_decode(jt.Algorithm, conf, joint_threshold_decisions),
                    dict(strategy='edit-threshold', params=params, **common)))
    for gamma in (0.15, 1.0):
        out.append((f'sglang-eb-sampling (gamma {gamma})',
                    sglang_decode(eb.Algorithm, {'gamma': gamma}, eb_sampling_decisions),
                    dict(strategy='eb-sampler', params={'gamma': gamma}, **common)))
    out.append(('pc-sampler-eb-sampler (gamma 0.01, one block)',
                lambda m, p, mask: pcs.generate_with_eb_sampler(m, p, gamma=0.01, gen_length=GEN, mask_id=mask),
                dict(strategy='eb-sampler', params={'gamma': 0.01}, block=GEN, steps=STEPS, cache='none')))
    for start in (0, 8):
        out.append((f'prophet (answer start {start})',
                    lambda m, p, mask, start=start: prophet.generate(
                        m, p, steps=STEPS, gen_length=GEN, block_length=BLOCK, mask_id=mask, analyze_gap=True,
                        answer_start_pos=p.shape[1] + start)[0],
                    dict(strategy='prophet', params={'answer_start': start}, **common)))
    for lambd in (0.25, 0.0):
        out.append((f'pc-sampler (lambda {lambd})',
                    lambda m, p, mask, lambd=lambd: pcs.generate_with_pc_sampler(
                        m, p, steps=STEPS, gen_length=GEN, block_length=BLOCK, lambd=lambd, alpha=10,
                        baseline_name=BASELINE, mask_id=mask),
                    dict(strategy='pc-sampler', params={'lambda': lambd, 'alpha': 10,
                                                        'baseline': 'test/fixtures/pc-baseline-tiny.json'}, **common)))
    for k, loops in ((1, 32), (2, 8)):
        out.append((f'remdm (unmask_k {k}, loop_steps {loops})',
                    lambda m, p, mask, k=k, loops=loops: pcs.generate_with_remdm(
                        m, p, gen_length=GEN, init_unmask_ratio=0.875, unmask_k=k, loop_steps=loops, mask_id=mask,
                        tokenizer=tok),
                    dict(strategy='remdm', params={'init_unmask_ratio': 0.875, 'unmask_k': k, 'loop_steps': loops},
                         block=GEN, steps=STEPS, cache='none')))
    return out


TIE = 1e-6


def remask_ties(calls, final, P, mask_id):
    """Per call that remasked, the committed positions whose token's probability under the call's own softmax was
    within TIE of a remasked one's, not remasked: where a remask rule (lowest probability first) chose between
    near-equal tokens. dlens-tiny gives most committed tokens 0.9999997, so ReMDM's choice is often such a tie."""
    states = [c['state'] for c in calls] + [final]
    ties = {}
    for n, c in enumerate(calls):
        before, after = states[n], states[n + 1]
        remasked = [p for p in (before != after).nonzero(as_tuple=True)[0].tolist() if int(after[p]) == mask_id]
        if not remasked:
            continue
        committed = [p for p in range(P, len(before)) if int(before[p]) != mask_id]
        probs = torch.softmax(c['logits'][[p - c['q0'] for p in committed]].float(), dim=-1)
        held = {p: float(probs[i, int(before[p])]) for i, p in enumerate(committed)}
        near = sorted(p for p in committed if p not in remasked
                      and any(abs(held[p] - held[q]) < TIE for q in remasked))
        if near:
            ties[str(n)] = sorted(near + remasked)
    return ties


def changes_of(calls, final):
    """Every change of the sequence as [call, position, token]: the states the calls saw, then the final one."""
    states = [c['state'] for c in calls] + [final]
    out = []
    for n in range(len(calls)):
        for p in (states[n] != states[n + 1]).nonzero(as_tuple=True)[0].tolist():
            out.append([n, p, int(states[n + 1][p])])
    return out


def write_baseline(prompts):
    """A PC-Sampler baseline for dlens-tiny (utils/calculate_p_baseline.py's format): token counts of the prompts."""
    counts = Counter(i for pr in prompts for i in pr['ids'])
    data = {'num_token': sum(counts.values()), 'p_baseline_dict': {str(k): v for k, v in sorted(counts.items())}}
    with open(BASELINE, 'w') as f:
        json.dump(data, f, separators=(',', ':'))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--sglang', required=True, help='checkout of sgl-project/sglang')
    ap.add_argument('--prophet', required=True, help='checkout of pixeli99/Prophet')
    ap.add_argument('--pc-sampler', required=True, help='checkout of NEUIR/PC-Sampler')
    ap.add_argument('--model', default=os.path.join(ROOT, 'assets', 'models', 'dlens-tiny'))
    ap.add_argument('--out', default=os.path.join(ROOT, 'test', 'fixtures', 'revisit-goldens.json'))
    ap.add_argument('--only', help='remake only the configurations whose name starts with this, keeping the others of --out')
    ap.add_argument('--prompts', default=os.path.join(ROOT, 'test', 'fixtures', 'reference-goldens.json'),
                    help="a goldens file whose prompts to decode (default: make_goldens.py's)")
    a = ap.parse_args()
    torch.set_num_threads(max(1, os.cpu_count() or 1))
    m, card = load_from_onnx(a.model)
    model = TinyLLaDA(m, block_len=BLOCK).eval()
    prompts = json.load(open(a.prompts))['prompts']
    write_baseline(prompts)
    mask_id = card['mask_token_id']
    golden = {
        'about': "made by test/reference/make_revisit_goldens.py from the decoders' public code run unchanged on "
                 'dlens-tiny; see docs/fidelity.md',
        'model': {'name': card['name'], 'sha256': card['training']['source']['sha256']},
        'device': f'cpu (torch {torch.__version__})',
        'gen_length': GEN,
        'prompts': prompts,
        'configs': [],
    }
    kept = {c['name']: c for c in json.load(open(a.out))['configs']} if a.only else {}
    with cuda_topk():
        for name, run, dlens in configurations(a.sglang, a.prophet, a.pc_sampler):
            if a.only and not name.startswith(a.only):
                golden['configs'].append(kept[name])
                continue
            runs = []
            for pr in prompts:
                model.calls = []
                x = run(model, torch.tensor([pr['ids']]), mask_id).cpu()
                P = len(pr['ids'])
                runs.append({'task': pr['task'], 'output': x[0, P:].tolist(), 'nfe': len(model.calls),
                             'changes': changes_of(model.calls, x[0]),
                             'ties': remask_ties(model.calls, x[0], P, mask_id)})
            golden['configs'].append({'name': name, 'dlens': dlens, 'runs': runs})
            print(f'{name}: {len(runs)} prompts, {sum(r["nfe"] for r in runs)} decisions, '
                  f'{sum(len(r["changes"]) for r in runs)} changes', file=sys.stderr)
    tmp = a.out + '.tmp'
    with open(tmp, 'w') as f:
        json.dump(golden, f, separators=(',', ':'))
    os.replace(tmp, a.out)
    print(a.out)


if __name__ == '__main__':
    main()
