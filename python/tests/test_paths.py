"""The Recorder's path and arguments are checked when it is made, by the rules of the command line's --out: a named
pipe, a device, a folder or a dangling link is refused (never replaced); a link to a file is written through."""
import os
import stat
import tempfile

import numpy as np
import pytest

from hostile_traces import base_trace  # noqa: F401  (puts python/ on the path first)

import dlens  # noqa: E402
from dlens.safetensors_io import write_atomic  # noqa: E402


@pytest.fixture
def folder():
    with tempfile.TemporaryDirectory() as d:
        yield d


@pytest.mark.parametrize('kind', ['fifo', 'device', 'folder', 'dangling'])
def test_special_paths_are_refused_and_left_as_they_were(folder, kind):
    p = os.path.join(folder, 'x.dlens')
    if kind == 'fifo':
        os.mkfifo(p)
    elif kind == 'device':
        p = '/dev/null'
    elif kind == 'folder':
        os.mkdir(p)
    else:
        os.symlink(os.path.join(folder, 'nowhere', 'y.dlens'), p)
    before = os.lstat(p).st_mode
    with pytest.raises(dlens.PathRefused, match='named pipe|device|folder|does not exist'):
        dlens.Recorder(p, mask_token_id=1)
    with pytest.raises(dlens.PathRefused):
        write_atomic(p, b'x')
    assert os.lstat(p).st_mode == before
    if kind == 'device':
        assert stat.S_ISCHR(os.stat(p).st_mode)


def test_a_link_to_a_file_is_written_through(folder):
    real, link = os.path.join(folder, 'real.dlens'), os.path.join(folder, 'link.dlens')
    open(real, 'wb').write(b'old')
    os.symlink(real, link)
    write_atomic(link, base_trace())
    assert os.path.islink(link)
    m, _ = dlens.read(real)
    assert m['steps'] == 6


@pytest.mark.parametrize('kw', [dict(prompt_length=-1), dict(prompt_length=2.5), dict(batch_index=-1),
                                dict(top_k=0), dict(block_length=0), dict(mask_token_id=-3)])
def test_arguments_are_checked_up_front(folder, kw):
    args = {'mask_token_id': 1, **kw}
    with pytest.raises(ValueError, match='must be a whole number'):
        dlens.Recorder(os.path.join(folder, 'x.dlens'), **args)


def test_a_batch_index_outside_the_batch_is_a_value_error(folder):
    rec = dlens.Recorder(os.path.join(folder, 'x.dlens'), mask_token_id=1, batch_index=5)
    with pytest.raises(ValueError, match='outside the batch of 1 rows'):
        rec.start(np.array([[1, 2]]))
