"""The Python recorder on a toy model (Debian's torch, CPU): what a user of dlens.watch and dlens.Recorder notices."""
import os
import sys
import types

import numpy as np
import pytest
import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..'))
import dlens  # noqa: E402
from dlens import importers  # noqa: E402

MASK, V = 9, 12


class Toy(torch.nn.Module):
    """Predicts token (position % 8) + 1 strongly at masked positions; a block call is placed by replace_position."""

    def forward(self, input_ids, replace_position=None, output_attentions=False):
        B, L = input_ids.shape
        start = 0 if replace_position is None else int(torch.nonzero(replace_position[0])[0])
        pos = torch.arange(start, start + L)
        logits = torch.full((B, L, V), -4.0)
        logits[:, torch.arange(L), (pos % 8) + 1] = 4.0 + pos.float() / 10  # later positions more confident
        att = [torch.softmax(torch.randn(B, 2, L, L), -1) for _ in range(3)] if output_attentions else None
        return types.SimpleNamespace(logits=logits, attentions=att)


def loop(model, x, per_step=2, block_call=False):
    """A LLaDA-style loop: commit the `per_step` most confident masked positions per call."""
    P = 3
    while (x == MASK).any():
        if block_call:
            rp = torch.zeros_like(x, dtype=torch.bool)
            rp[:, P:] = True
            logits = model(x[:, P:], replace_position=rp).logits
            logits = torch.cat([torch.zeros(1, P, V), logits], 1)
        else:
            logits = model(x).logits
        p = torch.softmax(logits, -1)
        conf, tok = p.max(-1)
        conf = torch.where(x == MASK, conf, torch.tensor(-1.0))
        sel = torch.topk(conf[0], min(per_step, int((x == MASK).sum()))).indices
        x[0, sel] = tok[0, sel]
    return x


def start():
    x = torch.full((1, 11), MASK)
    x[0, :3] = torch.tensor([5, 6, 7])
    return x


def test_watch_records_every_step_and_the_commit_order(tmp_path):
    out = tmp_path / 'toy.dlens'
    model = Toy()
    with dlens.Recorder(out, mask_token_id=MASK, prompt_length=3, top_k=3) as rec:
        with dlens.watch(model, rec):
            x = loop(model, start())
        rec.finish(x)
    m, t = dlens.read(out)
    assert m['format'] == 'dlens-trace/2' and m['source']['kind'] == 'python' and m['complete']
    assert t['state'].shape == (5, 11) and m['steps'] == 4 and m['nfe'] == 4
    # the most confident (rightmost) positions first, two per step
    assert t['commit_step'][3:].tolist() == [4, 4, 3, 3, 2, 2, 1, 1]
    assert (t['topk_ids'][0, :, 0] == (np.arange(3, 11) % 8) + 1).all()
    assert np.allclose(t['confidence'][0], t['topk_probs'][0, :, 0], atol=1e-6)  # both float32
    assert m['output'] == ''.join(f'<{i}>' for i in x[0, 3:].tolist())


def test_block_calls_are_placed_by_replace_position(tmp_path):
    out = tmp_path / 'block.dlens'
    model = Toy()
    with dlens.Recorder(out, mask_token_id=MASK, prompt_length=3) as rec:
        with dlens.watch(model, rec):
            model(start())  # a full call first (Fast-dLLM's block start), then block calls with the cache
            x = loop(model, start(), block_call=True)
        rec.finish(x)
    m, t = dlens.read(out)
    assert m['complete'] and t['state'][-1].tolist() == x[0].tolist()


def test_a_block_call_without_positions_is_a_clear_error(tmp_path):
    model = Toy()
    with pytest.raises(ValueError, match='positions='):
        with dlens.Recorder(tmp_path / 'e.dlens', mask_token_id=MASK, prompt_length=3) as rec:
            with dlens.watch(model, rec):
                model(start())
                model(start()[:, 3:])
    m, _ = dlens.read(tmp_path / 'e.dlens')
    assert not m['complete'] and 'ValueError' in m['incomplete_reason']


def test_an_exception_leaves_a_valid_partial_trace(tmp_path):
    out = tmp_path / 'partial.dlens'
    x = start()
    model = Toy()
    with pytest.raises(RuntimeError):
        with dlens.Recorder(out, mask_token_id=MASK, prompt_length=3) as rec:
            rec.start(x)
            for _ in range(2):
                logits = model(x).logits
                x = x.clone()
                g = int(torch.nonzero(x[0] == MASK)[0])
                x[0, g] = int(logits[0, g].argmax())
                rec.step(x, logits)
            raise RuntimeError('out of memory, say')
    m, t = dlens.read(out)
    assert not m['complete'] and 'out of memory' in m['incomplete_reason'] and m['steps'] == 2


def test_saliency_from_output_attentions(tmp_path):
    out = tmp_path / 's.dlens'
    model = Toy()
    with dlens.Recorder(out, mask_token_id=MASK, prompt_length=3, saliency=True) as rec:
        x = start()
        rec.start(x)
        o = model(x, output_attentions=True)
        x = x.clone()
        x[0, 3] = 1
        rec.step(x, o.logits, attentions=o.attentions, block=(3, 11))
    m, t = dlens.read(out)
    assert t['saliency'].shape == (1, 3, 11) and m['num_layers'] == 3
    assert abs(float(t['saliency'][0].astype(np.float32).sum(-1).mean()) - 1.0) < 1e-2  # attention sums to 1


def test_model_without_a_mask_token_needs_masked(tmp_path):
    with pytest.raises(ValueError, match='masked='):
        with dlens.Recorder(tmp_path / 'n.dlens', prompt_length=3) as rec:
            rec.start(start())
    x = start()
    masked = torch.zeros_like(x, dtype=torch.bool)
    masked[0, 3:] = True
    with dlens.Recorder(tmp_path / 'u.dlens', prompt_length=3) as rec:
        rec.start(torch.randint(0, V, x.shape), masked=masked)
        rec.step(torch.randint(0, V, x.shape), Toy()(x).logits, masked=torch.zeros_like(masked))
    m, t = dlens.read(tmp_path / 'u.dlens')
    assert 'masked' in t and t['masked'][0, 3:].all() and not t['masked'][1].any() and m['complete']


def test_dream_hooks_record_the_shifted_logits(tmp_path):
    out = tmp_path / 'dream.dlens'
    x = start()
    with dlens.Recorder(out, mask_token_id=MASK, prompt_length=3) as rec:
        h = dlens.dream_hooks(rec)
        x = h['generation_tokens_hook_func'](None, x, None)
        for i in range(4):  # Dream's _sample: logits hook, unmask, tokens hook
            logits = Toy()(x).logits
            logits = h['generation_logits_hook_func'](i, x, logits)
            x = x.clone()
            x[0, 3 + 2 * i:5 + 2 * i] = logits[0, 3 + 2 * i:5 + 2 * i].argmax(-1)
            x = h['generation_tokens_hook_func'](i, x, logits)
    m, t = dlens.read(out)
    assert m['steps'] == 4 and m['complete'] and t['commit_step'][3:].tolist() == [1, 1, 2, 2, 3, 3, 4, 4]


def test_dllm_histories_import(tmp_path):
    x = start()
    hist = [x.clone()]
    for i in range(4):
        x = x.clone()
        x[0, 3 + 2 * i:5 + 2 * i] = 2
        hist.append(x)
    importers.from_dllm_histories(hist, tmp_path / 'h.dlens', prompt_length=3, mask_token_id=MASK, sampler='mdlm')
    m, t = dlens.read(tmp_path / 'h.dlens')
    assert m['source'] == {'kind': 'import', 'tool': 'dllm', 'format': 'dllm-histories'}
    assert t['commit_step'][3:].tolist() == [1, 1, 2, 2, 3, 3, 4, 4] and 'topk_ids' not in t
    with pytest.raises(ValueError, match='return_dict=True'):
        importers.from_dllm_histories([], tmp_path / 'x.dlens', prompt_length=3, mask_token_id=MASK)


def test_d2cache_record_import(tmp_path):
    # d2Cache's DecodeRecord (src/frame.py), by the attributes the importer reads: frames and deltas
    gen = torch.full((8,), MASK)
    frames, deltas = [], []
    for i in range(5):
        frames.append(types.SimpleNamespace(prompts=torch.tensor([5, 6, 7]), generated_tokens=gen.clone()))
        if i < 4:
            probs = torch.softmax(torch.randn(8, V), -1)
            deltas.append(types.SimpleNamespace(confidence=probs.max(-1).values, probs=probs))
            gen[2 * i:2 * i + 2] = 4
    record = types.SimpleNamespace(frames=frames, deltas=deltas, block_length=8)
    importers.from_d2cache(record, tmp_path / 'd.dlens', mask_token_id=MASK, top_k=3)
    m, t = dlens.read(tmp_path / 'd.dlens')
    assert m['source']['tool'] == 'd2Cache' and m['steps'] == 4 and t['topk_ids'].shape == (4, 8, 3)
    assert np.allclose(t['confidence'].astype(np.float32), t['topk_probs'][:, :, 0].astype(np.float32), atol=1e-3)


def test_saliency_from_the_attention_calls_of_the_forward(tmp_path, monkeypatch):
    """watch() scores the active block's queries against every key from each scaled_dot_product_attention call."""
    import math
    calls = []

    def sdpa(q, k, v, attn_mask=None, **kw):  # Debian's torch 1.13 has none: stand in for it
        calls.append(q.shape)
        return torch.softmax(q @ k.transpose(-1, -2) / math.sqrt(q.shape[-1]), -1) @ v

    monkeypatch.setattr(torch.nn.functional, 'scaled_dot_product_attention', sdpa, raising=False)

    class Attn(torch.nn.Module):
        def forward(self, input_ids):
            B, L = input_ids.shape
            q = torch.zeros(B, 2, L, 4)
            k = torch.zeros(B, 2, L, 4)
            k[:, :, 0, 0] = 50.0  # every query attends to position 0
            q[..., 0] = 1.0
            for _ in range(3):
                torch.nn.functional.scaled_dot_product_attention(q, k, k)
            return types.SimpleNamespace(logits=torch.randn(B, L, V))

    x = start()
    m = Attn()
    with dlens.Recorder(tmp_path / 'a.dlens', mask_token_id=MASK, prompt_length=3, saliency=True,
                        block_length=4) as rec:
        with dlens.watch(m, rec):
            for i in range(8):
                m(x)
                x = x.clone()
                x[0, 3 + i] = 1
        rec.finish(x)
    mf, t = dlens.read(tmp_path / 'a.dlens')
    sal = t['saliency'].astype(np.float32)
    assert sal.shape == (8, 3, 11) and mf['num_layers'] == 3 and len(calls) == 24
    assert (sal[:, :, 0] > 0.99).all()  # position 0 receives the attention


class MaskHeavy(torch.nn.Module):
    """Puts the most logit on the mask token everywhere, and a clear favourite among the rest."""

    def forward(self, input_ids):
        B, L = input_ids.shape
        logits = torch.zeros(B, L, V)
        logits[..., MASK] = 3.0
        logits[..., 2] = 2.0
        return types.SimpleNamespace(logits=logits)


def test_the_mask_token_is_never_a_candidate_but_stays_in_the_softmax(tmp_path):
    # As LLaDA's and Fast-dLLM's decoders rank: confidence is softmax(logits) over the whole vocabulary.
    out = tmp_path / 'mask.dlens'
    model = MaskHeavy()
    x = start()
    with dlens.Recorder(out, mask_token_id=MASK, prompt_length=3, top_k=3) as rec:
        with dlens.watch(model, rec):
            model(x)
        x[0, 3:] = 2
        rec.finish(x)
    _, t = dlens.read(out)
    assert (t['topk_ids'][0] != MASK).all() and (t['topk_ids'][0, :, 0] == 2).all()
    full = torch.softmax(torch.tensor([0.0] * V).index_fill(0, torch.tensor([MASK]), 3.0).index_fill(
        0, torch.tensor([2]), 2.0), -1)
    assert np.allclose(t['confidence'][0], float(full[2]), rtol=1e-6)  # 0.22, not the renormalised 0.45



class GQA(torch.nn.Module):
    """Random logits and two grouped-query attention layers (4 query heads on 2 key heads) per call, with the
    queries and keys kept so a test can recompute what each row's decode should hold."""

    def __init__(self):
        super().__init__()
        self.seen = []

    def forward(self, input_ids):
        B, L = input_ids.shape
        g = torch.Generator().manual_seed(int(input_ids.sum()))
        qk = [(torch.randn(B, 4, L, 8, generator=g), torch.randn(B, 2, L, 8, generator=g)) for _ in range(2)]
        self.seen.append((input_ids.clone(), qk))
        for q, k in qk:
            torch.nn.functional.scaled_dot_product_attention(q, k, k.repeat_interleave(2, 1))
        return types.SimpleNamespace(logits=torch.randn(B, L, V, generator=g))


@pytest.mark.parametrize('hold', ['all layers at once', 'one layer at a time'])
def test_a_batch_records_each_row_as_the_row_alone_would(tmp_path, monkeypatch, hold):
    """One computation per step for the whole batch (statistics and saliency) gives each row's decode what a
    recording of that row alone gives, and saliency what the attention weights say, whether the layers' queries and
    keys are reduced together or each as it comes (past watch.HOLD_BYTES)."""
    import math
    if hold == 'one layer at a time':
        monkeypatch.setattr(sys.modules['dlens.watch'], 'HOLD_BYTES', 0)  # (dlens.watch is the class)

    def sdpa(q, k, v, attn_mask=None, **kw):  # Debian's torch 1.13 has none: stand in for it
        return q
    monkeypatch.setattr(torch.nn.functional, 'scaled_dot_product_attention', sdpa, raising=False)

    def decode(model, rec_or_batch, x):
        with dlens.watch(model, rec_or_batch):
            for s in range(4):
                model(x)
                x = x.clone()
                x[:, 3 + 2 * s:5 + 2 * s] = 1
        rec_or_batch.finish(x)

    x0 = torch.full((3, 11), MASK)
    x0[:, :3] = torch.tensor([[5, 6, 7], [1, 2, 3], [4, 4, 4]])
    ts = dlens.TraceSet(tmp_path / 's.dlset', saliency=True)
    model = GQA()
    with ts.batch([('t', i) for i in range(3)], mask_token_id=MASK, prompt_length=3, block_length=4,
                  saliency=True) as b:
        decode(model, b, x0)
    ts.close()
    got = {r['sample']['doc_id']: ts.open(ts.path).decode(r['id'])[1] for r in ts.open(ts.path).rows()}
    for row in range(3):
        with dlens.Recorder(tmp_path / f'{row}.dlens', mask_token_id=MASK, prompt_length=3, block_length=4,
                            batch_index=row, saliency=True) as rec:
            decode(GQA(), rec, x0)
        _, alone = dlens.read(tmp_path / f'{row}.dlens')
        rows = got[row]['rows']
        assert np.allclose(got[row]['confidence'], alone['confidence'][rows[:, 0], rows[:, 1]], atol=1e-6)
        assert (got[row]['topk_ids'] == alone['topk_ids'][rows[:, 0], rows[:, 1]]).all()
        sal = got[row]['saliency'].astype(np.float32)
        # alone, rows 1 and 2 take some rows of the attention batch (its index list); the batch takes them all
        assert np.allclose(alone['saliency'].astype(np.float32), sal, atol=2e-3), row
        for s, (ids, qk) in enumerate(model.seen):
            und = int(np.argmax(ids[row, 3:].numpy() == MASK))
            b0 = 3 + und // 4 * 4
            for layer, (q, k) in enumerate(qk):
                qb, kb = q[row, :, b0:b0 + 4], k[row].repeat_interleave(2, 0)
                want = torch.softmax(qb @ kb.transpose(-1, -2) / math.sqrt(8), -1).mean(dim=(0, 1))
                assert np.allclose(sal[s, layer], want.numpy(), atol=2e-3), (row, s, layer)


def test_shifted_logits_and_a_prompt_length_found_from_the_first_mask(tmp_path):
    """Dream-style models predict position i from output row i - 1; rows with prompts of different lengths (dllm's
    right-padded batches) find their prompt at the first mask."""
    class Shifted(torch.nn.Module):
        def forward(self, input_ids):
            B, L = input_ids.shape
            logits = torch.full((B, L, V), -4.0)
            logits[:, torch.arange(L - 1), (torch.arange(1, L) % 8) + 1] = 4.0  # row i predicts position i + 1
            return types.SimpleNamespace(logits=logits)

    x = torch.full((2, 9), MASK)
    x[0, :3] = torch.tensor([5, 6, 7])
    x[1, :5] = torch.tensor([5, 6, 7, 5, 6])
    ts = dlens.TraceSet(tmp_path / 'd.dlset')
    m = Shifted()
    with ts.batch([('t', 0), ('t', 1)], mask_token_id=MASK, prompt_length=None, logits_shift=1,
                  strategy='entropy') as b:
        with dlens.watch(m, b):
            m(x)
            x = torch.where(x == MASK, (torch.arange(9) % 8 + 1).expand(2, 9), x)
        b.finish(x)
    ts.close()
    reader = ts.open(ts.path)
    rows = sorted(reader.rows(), key=lambda r: r['sample']['doc_id'])
    assert [r['gen_length'] for r in rows] == [6, 4]
    assert [r['strategy'] for r in rows] == ['entropy', 'entropy']  # a name alone is enough
    for r, P in zip(rows, (3, 5)):
        t = reader.decode(r['id'])[1]
        top = t['topk_ids'][:, 0]
        assert list(top) == [p % 8 + 1 for p in range(P, 9)]  # each position's own prediction, not its neighbour's


def test_each_step_keeps_its_own_prediction_and_its_active_block(tmp_path):
    """A semi-autoregressive loop (blocks of 4, two tokens a step) recorded through watch: each step's statistics
    are that step's forward (the model's guess changes every step) over the block the step decides in."""
    class Counting(torch.nn.Module):
        def forward(self, input_ids):
            B, L = input_ids.shape
            guess = int((input_ids == MASK).sum()) % 8 + 1  # a different top token at every step
            logits = torch.full((B, L, V), -4.0)
            logits[..., guess] = 4.0
            return types.SimpleNamespace(logits=logits)

    model, x = Counting(), start()
    with dlens.Recorder(tmp_path / 'b.dlens', mask_token_id=MASK, prompt_length=3, block_length=4) as rec:
        with dlens.watch(model, rec):
            masked_before = []
            while (x == MASK).any():
                masked_before.append(int((x == MASK).sum()))
                tok = model(x).logits.argmax(-1)
                sel = torch.nonzero(x[0] == MASK).reshape(-1)[:2]
                x[0, sel] = tok[0, sel]
        rec.finish(x)
    _, t = dlens.read(tmp_path / 'b.dlens')
    assert t['block'].tolist() == [[3, 7], [3, 7], [7, 11], [7, 11]]
    kept = np.isfinite(t['confidence'])
    assert kept.astype(int).tolist() == [[1, 1, 1, 1, 0, 0, 0, 0], [0, 0, 1, 1, 0, 0, 0, 0],
                                         [0, 0, 0, 0, 1, 1, 1, 1], [0, 0, 0, 0, 0, 0, 1, 1]]
    for s, n in enumerate(masked_before):
        assert (t['topk_ids'][s][kept[s]][:, 0] == n % 8 + 1).all(), s


@pytest.mark.parametrize('through', ['watch', 'dream_hooks'])
def test_long_generations_keep_the_same_record_from_their_undecided_rows_alone(tmp_path, monkeypatch, through):
    """Past Recorder.SELECT_UNDECIDED the statistics are computed over the undecided rows only: the trace is the
    one computed over every row."""
    def record(name):
        model, x = Toy(), start()
        with dlens.Recorder(tmp_path / name, mask_token_id=MASK, prompt_length=3, top_k=3) as rec:
            if through == 'watch':
                with dlens.watch(model, rec):
                    x = loop(model, x)
            else:
                hooks = dlens.dream_hooks(rec)
                hooks['generation_tokens_hook_func'](None, x.clone(), None)
                while (x == MASK).any():
                    lg = hooks['generation_logits_hook_func'](0, x, model(x).logits)
                    sel = torch.nonzero(x[0] == MASK).reshape(-1)[-2:]
                    x[0, sel] = lg.argmax(-1)[0, sel]
                    hooks['generation_tokens_hook_func'](0, x.clone(), lg)
            rec.finish(x)
        return dlens.read(tmp_path / name)[1]

    every = record('every.dlens')
    monkeypatch.setattr(dlens.Recorder, 'SELECT_UNDECIDED', 1)
    few = record('few.dlens')
    assert np.isfinite(every['confidence']).sum() == 8 + 6 + 4 + 2
    for k in ('topk_ids', 'topk_probs', 'confidence', 'entropy'):
        assert np.array_equal(every[k], few[k], equal_nan=True), k
