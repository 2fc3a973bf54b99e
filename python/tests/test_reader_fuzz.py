"""dlens.read on 10,000 seeded hostile files (hostile_traces.py): each is read or refused with dlens.TraceError (a
ValueError) and a message that quotes nothing of the file; never KeyError, AttributeError or a hang. Special files
(a named pipe, a device, a folder) are refused without blocking."""
import os
import resource
import tempfile

import pytest

from hostile_traces import base_trace, cases  # (puts python/ on the path first)

import dlens  # noqa: E402

N = int(os.environ.get('DLENS_FUZZ_CASES', 10_000))


def test_the_base_trace_reads():
    with tempfile.TemporaryDirectory() as d:
        p = os.path.join(d, 'ok.dlens')
        open(p, 'wb').write(base_trace())
        m, t = dlens.read(p)
        assert m['steps'] == 6 and t['state'].shape == (7, 12)


def test_hostile_files_are_read_or_refused_with_trace_error():
    read = refused = 0
    with tempfile.TemporaryDirectory() as d:
        p = os.path.join(d, 'x.dlens')
        for i, raw in cases(N):
            with open(p, 'wb') as f:
                f.write(raw)
            try:
                dlens.read(p)
                read += 1
            except dlens.TraceError as e:
                assert isinstance(e, ValueError)
                msg = str(e)
                assert 'root:x' not in msg and '\n' not in msg, (i, msg)
                refused += 1
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024
    print(f'python reader fuzz: {N} cases, {read} read, {refused} refused; peak RSS {peak} MiB')
    assert read > N // 50 and refused > N // 2
    assert peak < 2048


@pytest.mark.parametrize('kind', ['fifo', 'device', 'folder', 'missing'])
def test_special_files_are_refused_without_blocking(kind):
    with tempfile.TemporaryDirectory() as d:
        p = os.path.join(d, 'x.dlens')
        if kind == 'fifo':
            os.mkfifo(p)
        elif kind == 'device':
            p = '/dev/zero'
        elif kind == 'folder':
            os.mkdir(p)
        with pytest.raises(dlens.TraceError, match='named pipe|device|folder|does not exist'):
            dlens.read(p)
