"""Decodes whose positions move (issue 34, item 4): a loop that deletes and inserts positions, recorded by
dlens.Recorder, gives a v3 trace whose alignment follows each token to the final sequence; numpy's reader and the
rules of engine/trace/align.ts agree."""
import numpy as np
import pytest
import torch

from hostile_traces import base_trace  # noqa: F401  (puts python/ on the path first)

import dlens  # noqa: E402
from dlens import trace as tracefile  # noqa: E402
from dlens.align import align_pair, align_states  # noqa: E402
from dlens.tokens import Vocab  # noqa: E402

M, D, V = 1, 9, 16


def logits_for(state):
    """Logits that put most mass on each position's current token (a stand-in model)."""
    lg = torch.full((len(state), V), -4.0)
    lg[torch.arange(len(state)), torch.as_tensor(state)] = 4.0
    return lg


def record(states, path, prompt_length, **kw):
    """Records a decode through the given states (the stand-in model's logits at each) and reads it back."""
    rec = dlens.Recorder(str(path), mask_token_id=M, prompt_length=prompt_length, top_k=2, eos_token_id=0, rows='all',
                         **kw)
    rec.start(torch.tensor(states[0]))
    for s in range(len(states) - 1):
        rec.step(torch.tensor(states[s + 1]), logits_for(states[s]))
    rec.save()
    return tracefile.read(str(path))


@pytest.mark.parametrize('a, b, want', [
    ([5, M, M, M], [5, 7, M, 8], [0, 1, 2, 3]),      # commits in place stay in place
    ([5, D, 6, 7], [5, 6, 7, M], [0, -1, 1, 2]),     # a deletion shifts the rest left
    ([5, 6, 7, 8], [5, M, 6, 7], [0, 2, 3, -1]),     # SPLIT: a mask inserted before the token
])
def test_a_step_aligns_by_the_fewest_edits_substitutions_first(a, b, want):
    assert align_pair(a, b) == want


def test_a_loop_that_changes_the_sequence_length_writes_a_v3_trace_that_follows_tokens(tmp_path):
    states = [
        [2, 3, M, M, M, M, M],
        [2, 3, 5, D, 6, 7, M],
        [2, 3, 5, 6, 7, M],          # DELETE removed D: one position shorter
        [2, 3, 5, 6, 7, 8, 0, 0],    # grew by two
    ]
    m, t = record(states, tmp_path / 'indel.dlens', 2)
    assert m['format'] == 'dlens-trace/3'
    _, _, want = align_states(states, 0)
    assert t['align'].tolist() == want.tolist()
    # the final 6 (position 3) was committed by step 0 at position 4 and kept through its move
    assert t['commit_step'][3] == 1
    assert t['commit_step'][5] == 3
    # the padding of the shorter states is neither masked nor aligned
    assert t['masked'][2, 6:].tolist() == [0, 0] and t['align'][2, 6:].tolist() == [-1, -1]


def test_a_fixed_length_loop_that_moves_tokens_says_so_with_indel(tmp_path):
    states = [[2, M, M, M, M], [2, 5, D, 6, 7], [2, 5, 6, 7, M], [2, 5, 6, 7, 8]]
    m, t = record(states, tmp_path / 'shift.dlens', 1, indel=True)
    assert m['format'] == 'dlens-trace/3'
    assert t['align'][1].tolist() == [0, 1, -1, 2, 3]
    # followed across its move, 6 was never edited: no edit rows for it
    assert not any(r[2] == 6 for r in t.get('edits', np.zeros((0, 4), int)).tolist())


def test_the_reader_refuses_an_alignment_out_of_order_or_in_a_v2_manifest(tmp_path):
    states = [[2, M, M, M, M], [2, 5, D, 6, 7], [2, 5, 6, 7, M]]
    st, mk, al = align_states(states, 0)
    data = tracefile.build(st, 1, Vocab(None), mask_token_id=M, align=al)
    bad = al.copy()
    bad[1, [1, 3]] = bad[1, [3, 1]]
    with pytest.raises(ValueError, match="keep the tokens' order"):
        tracefile.build(st, 1, Vocab(None), mask_token_id=M, align=bad)
    p = tmp_path / 'v2.dlens'
    p.write_bytes(data.replace(b'dlens-trace/3', b'dlens-trace/2'))
    with pytest.raises(dlens.TraceError, match='part of format v3'):
        tracefile.read(str(p))
