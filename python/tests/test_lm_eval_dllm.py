"""dlens.lm_eval.record on dllm's evaluation harness shape: `self.sampler.sample(inputs=[prompts], ...)` with the MDLM
sampler (prompts of different lengths, right-padded canvas, per-row blocks) and Dream's sampler (left-padded, its
logits and tokens hooks). Each request is one decode keyed by task and doc_id whose states are the ones the sampler
made, with each row's own prompt length. The samplers are dllm's own when DLENS_DLLM_SRC names a checkout of
ZHZisZZ/dllm, else the stand-ins (standin_dllm.py says why)."""
import os

import numpy as np
import pytest
import torch

from hostile_traces import base_trace  # noqa: F401  (puts python/ on the path first)

import dlens  # noqa: E402
import dlens.lm_eval  # noqa: E402
import standin_dllm as sd  # noqa: E402
from standin_eval_llada import MASK, encode  # noqa: E402
from test_lm_eval import _instance_class  # noqa: E402

SRC = os.environ.get('DLENS_DLLM_SRC')
if SRC:
    MDLMSampler, MDLMSamplerConfig, DreamSampler, DreamSamplerConfig = sd.load_real(SRC)
else:
    MDLMSampler, MDLMSamplerConfig, DreamSampler, DreamSamplerConfig = (
        sd.MDLMSampler, sd.MDLMSamplerConfig, sd.DreamSampler, sd.DreamSamplerConfig)

QUESTIONS = [('gsm8k', 0, 'Q: 2+2?'), ('gsm8k', 1, 'Q: what is 13 + 29?'), ('arc', 7, 'sky?')]


def requests():
    Instance = _instance_class()
    return [Instance('generate_until', {}, (q, {'until': ['\n']}), 0, (t, d, 1)) for t, d, q in QUESTIONS]


def sampler(kind):
    model, tok = sd.Model().eval(), sd.Tokenizer()
    if kind.startswith('mdlm'):
        return MDLMSampler(model=model, tokenizer=tok), MDLMSamplerConfig(
            max_new_tokens=8, block_size=4, steps=8, right_shift_logits=kind == 'mdlm-shifted')
    return DreamSampler(model=model, tokenizer=tok), DreamSamplerConfig(max_new_tokens=8, steps=4, alg='entropy', temperature=0.0,
                                                                    top_k=None)


@pytest.mark.parametrize('kind', ['mdlm', 'mdlm-shifted', 'dream'])
def test_each_request_of_a_sampler_batch_is_its_own_decode(tmp_path, kind):
    s, config = sampler(kind)
    lm = sd.EvalHarness(s, config, batch_size=2)
    bare = lm.generate_until(requests())
    ts = dlens.TraceSet(tmp_path / 'e.dlset')
    with dlens.lm_eval.record(lm, ts, top_k=3):
        answers = lm.generate_until(requests())
    ts.close()
    assert answers == bare  # recording changes nothing the harness computes
    assert 'sample' not in s.__dict__ and 'generate_until' not in lm.__dict__  # the harness is itself again
    reader = ts.open(ts.path)
    rows = {(r['sample']['task'], r['sample']['doc_id']): r for r in reader.rows()}
    assert sorted(rows) == sorted((t, d) for t, d, _ in QUESTIONS)
    for i, (t, d, q) in enumerate(QUESTIONS):
        r = rows[(t, d)]
        m, tr = reader.decode(r['id'])
        states = reader.states(r['id'])
        batch = QUESTIONS[i // 2 * 2:i // 2 * 2 + 2]
        made = s.sample(inputs=[torch.tensor(encode(b[2])) for b in batch], config=config, return_dict=False)
        assert states[-1].tolist() == made[i % 2].tolist()  # the row the sampler made
        assert states.shape[0] == config.steps + 1
        P = len(encode(q))
        if kind != 'dream':
            assert m['prompt_length'] == P  # each row's own prompt, found at its first mask
            assert sorted({int(b[0]) for b in tr['block']}) == [P, P + 4]  # the sampler's per-row blocks
        else:
            assert m['gen_length'] == 8  # left-padded: every row's masks at the end
        # the statistics are the logits the sampler decided from: Dream's shifted ones
        assert tr['rows'].shape[0] > 0 and np.isfinite(tr['confidence']).all()
        # step 0's top token is the sampler's own prediction from its first canvas, shifted where the sampler shifts
        canvas, seen = first_canvas(kind, encode(q), len(made[i % 2]))
        lg = s.model(canvas[None], seen[None]).logits[0]
        if kind != 'mdlm':
            lg = torch.cat([lg[:1], lg[:-1]])
        want = lg.argmax(-1).numpy()
        first = tr['rows'][:, 0] == 0
        assert (tr['topk_ids'][first][:, 0] == want[m['prompt_length'] + tr['rows'][first][:, 1]]).all()


def first_canvas(kind, prompt, T, G=8):
    """A row's canvas before the first step, and its attention mask: Dream's left-padded, MDLM's right-padded."""
    canvas, seen = torch.full((T,), MASK), torch.zeros(T, dtype=torch.long)
    P = len(prompt)
    if kind == 'dream':
        canvas[:T - G], canvas[T - G - P:T - G], seen[T - G - P:] = 0, torch.tensor(prompt), 1
    else:
        canvas[:P], canvas[P + G:], seen[:P + G] = torch.tensor(prompt), 0, 1
    return canvas, seen


def test_dream_eval_py_records_through_diffusion_generate_and_its_hooks(tmp_path):
    """Dream's own evaluation class: method='diffusion_generate' on its model, recorded through the hooks it pops
    from **kwargs; the mask id read from the model's generation config."""
    lm = sd.DreamEvalHarness()
    bare = lm.generate_until(requests())
    ts = dlens.TraceSet(tmp_path / 'dream.dlset')
    with dlens.lm_eval.record(lm, ts, method='diffusion_generate', top_k=3):
        answers = lm.generate_until(requests())
    ts.close()
    assert answers == bare
    assert 'diffusion_generate' not in lm.model.__dict__
    reader = ts.open(ts.path)
    rows = {(r['sample']['task'], r['sample']['doc_id']): r for r in reader.rows()}
    for i, (t, d, q) in enumerate(QUESTIONS):
        m, tr = reader.decode(rows[(t, d)]['id'])
        states = reader.states(rows[(t, d)]['id'])
        batch = [encode(b[2]) for b in QUESTIONS[i // 2 * 2:i // 2 * 2 + 2]]
        P = max(len(b) for b in batch)
        prompt_ids = torch.tensor([[sd.EOS] * (P - len(b)) + b for b in batch])
        made = lm.model.diffusion_generate(prompt_ids, attention_mask=prompt_ids.ne(sd.EOS)).sequences[i % 2]
        assert states[-1].tolist() == made.tolist() and m['prompt_length'] == P and states.shape[0] == 5
        lg = lm.model(prompt_ids[i % 2:i % 2 + 1].new_tensor(states[0])[None].long(),
                      torch.tensor(states[0] != sd.EOS)[None].long()).logits[0]
        want = torch.cat([lg[:1], lg[:-1]]).argmax(-1).numpy()
        first = tr['rows'][:, 0] == 0
        assert (tr['topk_ids'][first][:, 0] == want[P + tr['rows'][first][:, 1]]).all()
