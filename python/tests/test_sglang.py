"""dlens.sglang's recording Algorithm inside SGLang's dLLM algorithm loop: installed into the algorithm folder, found
by SGLang's loader by its class name, wrapping LowConfidence. SGLang itself does not install here (CUDA kernels,
no PyPI): the folder is a stand-in of sglang/srt/dllm/algorithm whose loader, base loop and LowConfidence follow the
named commits (standin_sglang/). A scheduler-shaped driver serves requests block by block, two at a time, as
SGLang's runtime batches running requests. Each request becomes one decode keyed by its rid, whose final sequence
is what the client received and whose statistics are the model's for each step; the answers are the unrecorded
ones; only tensor-parallel rank 0 records."""
import os
import shutil
import sys
import types

import numpy as np
import pytest
import torch

from hostile_traces import base_trace  # noqa: F401  (puts python/ on the path first)

import dlens  # noqa: E402
from standin_eval_llada import MASK, Toy  # noqa: E402

B, EOS = 8, 0
PROMPTS = {'gsm8k:3': [5, 6, 7], 'gsm8k:4': [9, 9, 10, 11, 12], 'free-form': [20, 21], 'arc:0': [30, 31, 32, 33]}


@pytest.fixture
def sglang(tmp_path, monkeypatch):
    """The stand-in SGLang on sys.path with dlens's module installed in its algorithm folder, as
    `python3 -m dlens.sglang install` does; SGLang's loader run afresh."""
    root = tmp_path / 'site'
    shutil.copytree(os.path.join(os.path.dirname(__file__), 'standin_sglang'), root)
    monkeypatch.syspath_prepend(str(root))
    for m in [m for m in sys.modules if m == 'sglang' or m.startswith('sglang.')]:
        monkeypatch.delitem(sys.modules, m)
    import dlens.sglang
    assert dlens.sglang.main(['install']) == 0
    assert (root / 'sglang/srt/dllm/algorithm/dlens_record.py').exists()
    from sglang.srt.dllm import algorithm
    return algorithm


def config(set_path, fdfo=False, eos=EOS):
    return types.SimpleNamespace(
        algorithm='DlensRecord', block_size=B, mask_id=MASK, first_done_first_out_mode=fdfo,
        algorithm_config={'threshold': 0.3, 'dlens': {'wrap': 'LowConfidence', 'set': str(set_path), 'top_k': 3,
                                                      'eos_token_id': eos}})


class Runner:
    """The model runner: logits for each request's block (the stand-in LM over the block's tokens)."""

    def __init__(self):
        self.model = Toy().eval()

    def forward(self, fb, pp_proxy_tensors=None):
        with torch.no_grad():
            logits = self.model(fb.input_ids.view(fb.batch_size, B)).logits
        return types.SimpleNamespace(logits_output=logits.reshape(fb.batch_size * B, -1), can_run_graph=False)


def serve(algo, runner, max_blocks=3, running_max=2, eos=EOS):
    """SGLang's scheduler, reduced: up to `running_max` requests run together, one block each per run() (one step in
    FDFO mode); a request ends at a block holding EOS or at its token limit. Returns what each client receives."""
    waiting, running, answers = list(PROMPTS), {}, {}
    slots = iter(range(100))
    while waiting or running:
        while waiting and len(running) < running_max:
            rid = waiting.pop(0)
            p = PROMPTS[rid]
            running[rid] = dict(slot=next(slots), blocks=[], cur=torch.tensor(p + [MASK] * (B - len(p))), states=None)
        rids = list(running)
        fb = types.SimpleNamespace(batch_size=len(rids), input_ids=torch.cat([running[r]['cur'] for r in rids]),
                                   rids=rids, req_pool_indices=torch.tensor([running[r]['slot'] for r in rids]))
        out = algo.run(runner, fb, [running[r]['states'] for r in rids])
        accept, states = out[2], out[3]
        for i, rid in enumerate(rids):
            req = running[rid]
            req['cur'] = fb.input_ids.view(len(rids), B)[i].clone()
            if accept is not None and accept[i] < B:
                req['states'] = states[i]
                continue  # FDFO: the block goes on in the next call
            req['blocks'].append(req['cur'])
            req['cur'], req['states'] = torch.full((B,), MASK), None
            if eos in req['blocks'][-1].tolist() or len(req['blocks']) == max_blocks:
                answers[rid] = torch.cat(req['blocks']).tolist()
                del running[rid]
    return answers


@pytest.mark.parametrize('fdfo', [False, True])
def test_each_request_is_one_decode_of_what_its_client_received(sglang, tmp_path, monkeypatch, fdfo):
    import dlens.sglang
    monkeypatch.setattr(dlens.sglang, 'ABSENT_BATCHES', 2)
    bare = serve(sglang.algo_name_to_cls['LowConfidence'](config(None, fdfo)), Runner())
    algo = sglang.get_algorithm(config(tmp_path / 'served.dlset', fdfo))
    answers = serve(algo, Runner())
    assert answers == bare  # recording changes no token
    # the first two requests ended (EOS or their limit) while the others ran: written as the run went on
    assert algo.rec.written == 2 and len(algo.rec.live) == 2
    algo.rec.close()  # what the server process does when it exits
    reader = dlens.TraceSet.open(tmp_path / 'served.dlset')
    rows = {(r['sample']['task'], r['sample']['doc_id']): r for r in reader.rows()}
    assert sorted(rows, key=str) == sorted([('gsm8k', 3), ('gsm8k', 4), ('sglang', 'free-form'), ('arc', 0)], key=str)
    runner = Runner()
    for rid, prompt in PROMPTS.items():
        row = rows[('sglang', rid) if ':' not in rid else (rid.split(':')[0], int(rid.split(':')[1]))]
        m, t = reader.decode(row['id'])
        states = reader.states(row['id'])
        assert m['prompt_length'] == len(prompt) and m['strategy']['name'] == 'LowConfidence'
        assert states[-1].tolist() == answers[rid]  # the blocks the client received, end to end
        assert states[0].tolist()[:len(prompt)] == prompt and (states[0][len(prompt):] == MASK).all()
        # every recorded step committed something, in the block its statistics cover
        assert all((states[s] != states[s + 1]).any() for s in range(len(states) - 1))
        for s in range(len(states) - 1):
            block = int(t['block'][s][0]) // B
            assert t['block'][s].tolist() == [block * B, block * B + B]
            logits = runner.model(torch.tensor(states[s][block * B:block * B + B]).long()[None]).logits[0]
            kept = t['rows'][t['rows'][:, 0] == s][:, 1] + m['prompt_length']  # generated positions with stats
            top = t['topk_ids'][t['rows'][:, 0] == s][:, 0]
            assert (top == logits.argmax(-1).numpy()[kept - block * B]).all()
        assert m['nfe'] >= len(states) - 1


def test_a_block_holding_eos_ends_the_decode_at_once(sglang, tmp_path):
    # the stand-in model's favourite token (51) as EOS: every request ends with its first block
    algo = sglang.get_algorithm(config(tmp_path / 'eos.dlset', eos=51))
    answers = serve(algo, Runner(), eos=51)
    assert all(len(a) == B for a in answers.values())
    assert algo.rec.written == len(PROMPTS) and not algo.rec.live  # none waited for the end of the run
    algo.rec.close()
    assert len(dlens.TraceSet.open(tmp_path / 'eos.dlset').rows()) == len(PROMPTS)


def test_only_tensor_parallel_rank_0_records(sglang, tmp_path, monkeypatch):
    monkeypatch.setenv('RANK', '1')
    algo = sglang.get_algorithm(config(tmp_path / 'r1.dlset'))
    assert serve(algo, Runner())
    assert algo.rec is None and not os.path.exists(tmp_path / 'r1.dlset')


def test_a_config_without_the_wrapped_algorithm_says_what_to_add(sglang, tmp_path):
    c = config(tmp_path / 'x.dlset')
    del c.algorithm_config['dlens']['wrap']
    with pytest.raises(ValueError, match="'wrap'"):
        sglang.get_algorithm(c)
    c.algorithm_config['dlens']['wrap'] = 'NoSuchRule'
    with pytest.raises(ValueError, match='LowConfidence'):
        sglang.get_algorithm(c)


def test_install_refuses_a_fifo_or_a_dangling_link_in_its_place(sglang, capsys):
    import dlens.sglang
    path = os.path.join(os.path.dirname(sglang.__file__), 'dlens_record.py')
    os.unlink(path)
    os.mkfifo(path)
    assert dlens.sglang.main(['install']) == 2  # returns at once: no open() of the pipe
    err = capsys.readouterr().err.strip()
    assert err.startswith('dlens.sglang: cannot write') and 'named pipe' in err and '\n' not in err
    assert dlens.sglang.main(['uninstall']) == 2 and os.path.exists(path)  # not removed either
    os.unlink(path)
    os.symlink('/nonexistent/elsewhere.py', path)
    assert dlens.sglang.main(['install']) == 2
    assert os.path.islink(path)  # the link is left as it was
    assert dlens.sglang.main(['bogus']) == 2


def test_an_insertion_deletion_algorithm_is_recorded_as_format_v3(sglang, tmp_path):
    # JointThresholdInDel moves tokens inside a block: its decodes say where each token ends (trace v3's align)
    cfg = config(tmp_path / 'indel.dlset')
    cfg.algorithm_config['dlens']['wrap'] = 'JointThresholdInDel'
    algo = sglang.get_algorithm(cfg)
    assert algo.rec.kw.get('indel') is True
    serve(algo, Runner())
    algo.rec.close()
    reader = dlens.TraceSet.open(tmp_path / 'indel.dlset')
    for row in reader.rows():
        m, t = reader.decode(row['id'])
        assert m['format'] == 'dlens-trace/3' and 'align' in t
        # nothing moved here (the stand-in decides as LowConfidence): every state aligns position by position
        S = len(t['align']) - 1
        assert (t['align'][:, :][t['align'] >= 0] == np.nonzero(t['align'] >= 0)[1]).all() and S >= 1
