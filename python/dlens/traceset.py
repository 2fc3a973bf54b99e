"""Trace sets where evaluations run (docs/trace-set.md): many decodes in one set, one shard per writer.

    ts = dlens.TraceSet('gsm8k.dlset')          # under torchrun/accelerate: this rank's own shard, no coordination
    with ts.recorder(sample_id=('gsm8k', doc_id), prompt=text, mask_token_id=126336, prompt_length=P,
                     tokenizer='tokenizer.json', block_length=32) as rec:
        with dlens.watch(model, rec):
            out = generate(model, prompt_ids, ...)
        rec.finish(out)

A batch of prompts is recorded as one decode per row: `ts.batch(samples, prompts, ...)` gives a recorder per row
(`watch` takes the batch). Each decode is written when its recorder closes: its compact bytes to the shard, flushed,
then its index row; a killed process leaves every finished decode readable. numpy alone reads a set
(`TraceSet.open(path).rows()`, `.decode(id)`), and `dlens set …` reads what this writes.
"""
import datetime
import json
import os
import secrets
import socket
import stat

import numpy as np

from .recorder import Recorder
from .safetensors_io import PathRefused, TraceError, encode, loads, parse_json_checked, read_regular

SET_FORMAT = 'dlens-set/1'
DECODE_FORMAT = 'dlens-set-decode/1'


def _rank():
    """This process's rank: torch.distributed's when it is initialised, else RANK (torchrun, accelerate), else 0."""
    try:
        import torch.distributed as dist
        if dist.is_available() and dist.is_initialized():
            return dist.get_rank()
    except ImportError:
        pass
    return int(os.environ.get('RANK', os.environ.get('LOCAL_RANK', 0)))


def _sample(sample_id):
    if sample_id is None:
        return None
    if isinstance(sample_id, dict):
        s = dict(sample_id)
    else:
        s = dict(zip(('task', 'doc_id', 'repeat'), sample_id))
    if 'task' not in s or 'doc_id' not in s:
        raise ValueError(f'sample_id must give a task and a doc_id, got {sample_id!r}')
    s['task'] = str(s['task'])
    s.setdefault('repeat', 0)
    return s


class TraceSet:
    """A trace set at `path` (made if new), with this process's own shard for writing. `keep`: the per-step
    statistics of the rows a step decides from ('decided', the default) or of every recorded row ('all');
    `saliency`: keep the attention each position received (off: it is most of a trace's size)."""

    def __init__(self, path, keep='decided', saliency=False):
        if keep not in ('decided', 'all'):
            raise ValueError(f"keep must be 'decided' or 'all', got {keep!r}")
        self.path = os.fspath(path)
        self.keep, self.saliency = keep, bool(saliency)
        _make_set(self.path)
        host = ''.join(c if c.isalnum() or c in '.-' else '_' for c in socket.gethostname())
        self.shard = f'r{_rank()}-{host}-{os.getpid()}-{secrets.token_hex(3)}'
        self._data = self._index = None
        self._offset = 0

    # -- writing ----------------------------------------------------------------------------------------------

    def recorder(self, sample_id=None, prompt='', reference=None, correct=None, **kw):
        """A Recorder (the arguments Recorder takes) whose trace goes into this set when it closes."""
        meta = dict(sample=_sample(sample_id), reference=reference, correct=correct)
        return Recorder(None, prompt=prompt, sink=lambda data: self.append(data, **meta), **kw)

    def batch(self, samples, prompts=(), references=(), **kw):
        """One recorder per row of a batch (batch_index 0..B-1), each its own decode; `dlens.watch(model, batch)`
        records them all, `batch.finish(x)` ends them all."""
        n = len(samples)
        prompts = list(prompts) or [''] * n
        references = list(references) or [None] * n
        return Batch([self.recorder(sample_id=samples[i], prompt=prompts[i], reference=references[i], batch_index=i,
                                    **kw) for i in range(n)])

    def append(self, trace_bytes, sample=None, reference=None, correct=None):
        """Adds one decode (the bytes of a `.dlens` trace) and returns its set-unique id."""
        meta, t = loads(trace_bytes, 'the trace')
        m = json.loads(meta['dlens'])
        blob = compact(m, t, self.keep, self.saliency)
        if self._data is None:
            self._data = _create(os.path.join(self.path, 'shards', f'{self.shard}.dlshard'))
            self._index = _create(os.path.join(self.path, 'shards', f'{self.shard}.jsonl'))
        # Bytes first, then the row, each one write(2): a process killed at any point leaves every decode whose row
        # is there (the page cache outlives the process). fsync waits for the disk: once, at close, not per decode
        # (sixteen decodes a batch, two waits each, would hold the GPU idle).
        _write_all(self._data, blob)
        decode_id = secrets.token_hex(8)
        G, S = m['gen_length'], m['steps']
        row = dict(id=decode_id, shard=self.shard, offset=self._offset, length=len(blob), sample=sample,
                   prompt=m.get('prompt', ''), output=m.get('output', ''), reference=reference,
                   correct=None if correct is None else bool(correct), model=m['model']['name'],
                   strategy=m.get('strategy', {}).get('name', 'unknown'), cache=m.get('cache', {}).get('mode', 'unknown'),
                   gen_length=G, steps=S, nfe=m.get('nfe', S), tpf=G / m['nfe'] if m.get('nfe') else 0,
                   complete=m.get('complete', True))
        self._offset += len(blob)
        _write_all(self._index, (json.dumps(row, ensure_ascii=False) + '\n').encode())
        return decode_id

    def close(self):
        for fd in (self._data, self._index):
            if fd is not None:
                os.fsync(fd)
                os.close(fd)
        self._data = self._index = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False

    # -- reading ----------------------------------------------------------------------------------------------

    @staticmethod
    def open(path):
        return SetReader(path)


class Batch(list):
    """The recorders of a batch's rows: a context manager over all of them."""

    def finish(self, x, masked=None):
        for r in self:
            r.finish(x, masked)

    def __enter__(self):
        for r in self:
            r.__enter__()
        return self

    def __exit__(self, *exc):
        for r in self:
            r.__exit__(*exc)
        return False


def _make_set(path):
    os.makedirs(os.path.join(path, 'shards'), exist_ok=True)
    head = os.path.join(path, 'set.json')
    if not os.path.lexists(head):
        tmp = f'{head}.tmp-{os.getpid()}-{secrets.token_hex(3)}'
        with open(tmp, 'w') as f:
            json.dump({'format': SET_FORMAT, 'created': datetime.datetime.now(datetime.timezone.utc).isoformat()}, f)
        try:
            os.link(tmp, head)  # never replaces: another rank may have made it first
        except FileExistsError:
            pass
        finally:
            os.unlink(tmp)
    h = json.loads(read_regular(head))
    if not isinstance(h, dict) or h.get('format') != SET_FORMAT:
        raise TraceError(f'{path} is not a {SET_FORMAT} trace set')


def _create(path):
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_APPEND, 0o644)
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise PathRefused(f'cannot write {path}: not a regular file')
    return fd


def _write_all(fd, data):
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


def compact(m, t, keep='decided', saliency=False):
    """The compact bytes of one decode (docs/trace-set.md), from a trace's manifest and tensors."""
    state = t['state']
    S, T = state.shape[0] - 1, state.shape[1]
    P, G = m['prompt_length'], m['gen_length']
    masked = t['masked'].astype(bool) if 'masked' in t else state == m.get('mask_token_id')
    out = {'state0': state[0].astype(np.int32)}
    if 'masked' in t:
        out['masked0'] = t['masked'][0].astype(np.uint8)
    s, p = np.nonzero((state[1:] != state[:-1]) | (masked[1:] != masked[:-1]))
    if 4 * len(s) < S * T:
        out['changes'] = np.stack([s, p, state[s + 1, p], masked[s + 1, p]], axis=1).astype(np.int32).reshape(-1, 4)
    else:
        out['state'] = state.astype(np.int32)
    for k in ('commit_step', 'block', 'step_ms', 'align'):  # align: a v3 decode's moves (dlens.align)
        if k in t:
            out[k] = t[k]
    K = t['topk_ids'].shape[2] if 'topk_ids' in t else 0
    conf = t['confidence'].astype(np.float32) if 'confidence' in t else np.full((S, G), np.nan, np.float32)
    recorded = t['topk_ids'][:, :, 0] >= 0 if K else ~np.isnan(conf)
    if keep == 'decided':
        block = t['block'] if 'block' in t else np.tile([P, T], (S, 1))
        pos = P + np.arange(G)
        in_block = (pos[None, :] >= block[:, :1]) & (pos[None, :] < block[:, 1:])
        recorded &= in_block & masked[:S, P:]
    rs, rg = np.nonzero(recorded)
    out['rows'] = np.stack([rs, rg], axis=1).astype(np.int32).reshape(-1, 2)
    if K:
        out['topk_ids'] = t['topk_ids'][rs, rg].astype(np.int32)
        out['topk_probs'] = t['topk_probs'][rs, rg].astype(np.float32)
    out['confidence'] = conf[rs, rg]
    ent = t['entropy'] if 'entropy' in t else np.full((S, G), np.nan, np.float16)
    out['entropy'] = ent[rs, rg].astype(np.float16)
    for k in ('attn_block', 'lens_ids', 'lens_probs', 'cached', 'saliency'):
        if k not in t or (k == 'saliency' and not saliency) or (k == 'cached' and not t[k].any()):
            continue
        out[k] = t[k]
    out.update({k: v for k, v in t.items() if k.startswith('extra.')})
    return encode(out, {'format': DECODE_FORMAT, 'dlens': json.dumps(m, ensure_ascii=False), 'rows': keep,
                        'K': str(K), 'P': str(P), 'G': str(G)})


class SetReader:
    """A set's index rows (labels and derived metrics joined) and its decodes, with numpy alone."""

    def __init__(self, path):
        self.path = os.fspath(path)
        h = parse_json_checked(read_regular(os.path.join(self.path, 'set.json')).decode(), 8, 'set.json')
        if not isinstance(h, dict) or h.get('format') != SET_FORMAT:
            raise TraceError(f'{self.path} is not a {SET_FORMAT} trace set')
        self._rows = {}
        shards = os.path.join(self.path, 'shards')
        for f in sorted(os.listdir(shards)):
            if not f.endswith('.jsonl'):
                continue
            shard = f[:-len('.jsonl')]
            size = os.path.getsize(os.path.join(shards, shard + '.dlshard'))
            lines = read_regular(os.path.join(shards, f)).decode().split('\n')
            for line in lines:
                try:
                    r = json.loads(line)
                except ValueError:
                    continue  # an empty line, or the last one of a killed writer
                if isinstance(r, dict) and r.get('shard') == shard and r['offset'] + r['length'] <= size:
                    self._rows[r['id']] = r
        for name in ('derived.jsonl', 'labels.jsonl'):
            p = os.path.join(self.path, name)
            if not os.path.exists(p):
                continue
            for line in read_regular(p).decode().split('\n'):
                try:
                    o = json.loads(line)
                except ValueError:
                    continue
                r = self._rows.get(o.get('id')) if isinstance(o, dict) else None
                if r is not None:
                    r.update({k: v for k, v in o.items() if k not in ('id', 'shard', 'offset', 'length')})

    def rows(self):
        return list(self._rows.values())

    def decode(self, decode_id):
        """(manifest, tensors) of one decode, compact: state0 and changes (or state), the kept rows' statistics."""
        r = self._rows[decode_id]
        path = os.path.join(self.path, 'shards', r['shard'] + '.dlshard')
        fd = os.open(path, os.O_RDONLY | getattr(os, 'O_NONBLOCK', 0))  # a named pipe is refused, never waited on
        try:
            if not stat.S_ISREG(os.fstat(fd).st_mode):
                raise TraceError(f'{path} is not a regular file')
            raw = os.pread(fd, r['length'], r['offset'])
        finally:
            os.close(fd)
        meta, t = loads(raw, f'decode {decode_id}')
        return json.loads(meta['dlens']), t

    def states(self, decode_id):
        """[steps + 1, positions] token ids of one decode, rebuilt from its changes."""
        m, t = self.decode(decode_id)
        if 'state' in t:
            return t['state']
        S = m['steps']
        out = np.repeat(t['state0'][None, :], S + 1, axis=0)
        for s, p, tok, _ in t.get('changes', np.zeros((0, 4), np.int32)):
            out[s + 1:, p] = tok
        return out


__all__ = ['TraceSet', 'SetReader', 'Batch', 'compact']
