"""dlens.lm_eval.record on an LM class shaped as LLaDA's eval_llada.py (standin_eval_llada.py says why a stand-in):
every request lm-eval hands generate_until becomes one decode of the set, keyed by its task, doc_id and repeat, and
each decode is the one the class made; the class is not edited and is itself again afterwards."""
import tempfile

import importlib.util
import os

import torch

from hostile_traces import base_trace  # noqa: F401  (puts python/ on the path first)

import dlens  # noqa: E402
import dlens.lm_eval  # noqa: E402
from dlens.traceset import SetReader  # noqa: E402
import standin_eval_llada as ev  # noqa: E402


def _instance_class():
    """lm-eval's own Instance when DLENS_LM_EVAL_SRC names a checkout of lm-evaluation-harness (its instance.py
    imports nothing but dataclasses), else the stand-in's copy of its interface."""
    src = os.environ.get('DLENS_LM_EVAL_SRC')
    if not src:
        return ev.Instance
    spec = importlib.util.spec_from_file_location('lm_eval_instance', os.path.join(src, 'lm_eval/api/instance.py'))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod.Instance


def requests():
    Instance = _instance_class()
    docs = [('gsm8k', 0, 'Q: 2+2?'), ('gsm8k', 1, 'Q: 3+5?'), ('arc', 7, 'Q: sky?')]
    reqs = [Instance('generate_until', {}, (q, {'until': ['\n']}), 0, (t, d, 1)) for t, d, q in docs]
    twice = Instance('generate_until', {}, ('Q: 9+1?', {'until': ['\n']}), 0, ('gsm8k', 2, 2))
    return reqs + [twice, twice]  # lm-eval repeats a request by handing it again, once per repeat


def test_every_request_is_one_decode_keyed_by_task_doc_and_repeat():
    lm = ev.LLaDAEvalHarness()
    before = (ev.generate, lm.generate_until)
    with tempfile.TemporaryDirectory() as d:
        ts = dlens.TraceSet(f'{d}/eval.dlset')
        with dlens.lm_eval.record(lm, ts, top_k=3):
            answers = lm.generate_until(requests())
        ts.close()
        assert (ev.generate, lm.generate_until.__func__) == (before[0], before[1].__func__)
        s = SetReader(f'{d}/eval.dlset')
        rows = s.rows()
        keys = sorted((r['sample']['task'], r['sample']['doc_id'], r['sample']['repeat']) for r in rows)
        assert keys == [('arc', 7, 0), ('gsm8k', 0, 0), ('gsm8k', 1, 0), ('gsm8k', 2, 0), ('gsm8k', 2, 1)]
        for r in rows:
            P = len(ev.encode(r['prompt']))
            states = s.states(r['id'])
            assert states.shape[0] == 17  # one forward per step, 16 steps
            _, t = s.decode(r['id'])
            assert t['block'].tolist() == [[P, P + 16]] * 16  # block_length given: the block is recorded
            again = ev.generate(lm.model, torch.tensor([ev.encode(r['prompt'])]))
            assert states[-1].tolist() == again[0].tolist()
            assert ev.decode(states[-1][P:].tolist()).split('\n')[0] in answers
