"""dlens.TraceSet written and read with numpy alone: decodes appended as they finish, read back by SetReader; a
decode's states rebuilt from its changes are the trace's; a set is refused where a set.json of another kind is."""
import json
import os
import tempfile

import numpy as np
import pytest

from hostile_traces import base_trace  # (puts python/ on the path first)

import dlens  # noqa: E402
from dlens.safetensors_io import loads  # noqa: E402
from dlens.traceset import SetReader  # noqa: E402


def test_a_set_holds_each_decode_and_rebuilds_its_states():
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, 'run.dlset')
        raw = base_trace()
        with dlens.TraceSet(path) as ts:
            ids = [ts.append(raw, sample={'task': 't', 'doc_id': i, 'repeat': 0}, reference='x') for i in range(3)]
        s = SetReader(path)
        assert sorted(r['id'] for r in s.rows()) == sorted(ids)
        _, full = loads(raw)
        for i in ids:
            assert np.array_equal(s.states(i), full['state'])
            m, t = s.decode(i)
            assert m['steps'] == 6 and t['rows'].shape[1] == 2
        # compact: the decided rows only (the block's undecided positions), fewer than the trace's S x G
        assert len(t['rows']) < 6 * 8


def test_a_row_cut_short_by_a_killed_writer_is_left_out():
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, 'run.dlset')
        ts = dlens.TraceSet(path)
        ts.append(base_trace())
        ts.close()
        with open(os.path.join(path, 'shards', ts.shard + '.jsonl'), 'a') as f:
            f.write('{"id": "half a ro')
        assert len(SetReader(path).rows()) == 1


def test_a_folder_with_another_set_json_is_refused():
    with tempfile.TemporaryDirectory() as d:
        open(os.path.join(d, 'set.json'), 'w').write(json.dumps({'format': 'something-else'}))
        with pytest.raises(dlens.TraceError, match='not a dlens-set/1'):
            dlens.TraceSet(d)
