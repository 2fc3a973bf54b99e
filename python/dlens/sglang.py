"""Record SGLang's dLLM runtime: an `Algorithm` that wraps the configured one and records each request's decode.

SGLang loads every module of its `sglang/srt/dllm/algorithm/` folder that defines `Algorithm` and picks one by class
name with `--dllm-algorithm` (python/sglang/srt/dllm/algorithm/__init__.py and base.py in sgl-project/sglang).
`python3 -m dlens.sglang install` puts a one-line module there (`dlens_record.py`: it imports this one); then

    python3 -m sglang.launch_server --model-path inclusionAI/LLaDA2.0-mini --dllm-algorithm DlensRecord \\
        --dllm-algorithm-config record.yaml --tp-size 2 ...

with record.yaml holding the wrapped algorithm's own options and a `dlens` section:

    dlens:
      wrap: LowConfidence       # the algorithm that decides (any name --dllm-algorithm takes)
      set: /data/gsm8k.dlset    # the trace set the decodes go into (each server process its own shard)
      top_k: 5                  # and what else dlens.Recorder takes (eos_token_id, model_name, ...)
    threshold: 0.95             # LowConfidence's own option, as without dlens

How a request is recorded: SGLang decodes a batch of requests block by block (`block_size` tokens each, the mask
token where undecided); every denoising step calls the algorithm's `step(forward_batch, logits, states)`, which
rewrites `forward_batch.input_ids` in place. The wrapper keeps each request's block before the step and the
statistics of its logits (on the device), lets the wrapped algorithm decide, and reads the block after. A request is
keyed by its `rid` (`forward_batch.rids`; a rid of the form `task:doc_id` becomes the sample id, so a client can
key decodes by its evaluation's documents), else by its slot in the request pool. Its decode is written when a block
holds the end-of-sequence token, when the request has been absent from 8 batches in a row (SGLang runs every
running request in each batch: it finished at its token limit), or when the server process exits. Only the first
tensor-parallel rank of each data-parallel group records (every TP rank sees the same tokens and logits).

With `wrap: JointThresholdInDel` (insertions and deletions inside a block) the decodes are traces of format v3, whose
`align` follows each token to where it ends (docs/trace-format.md).

What SGLang does not hand the algorithm is not recorded: the prompt's text and every prompt token before the first
block (the trace's prompt is the prompt's tail inside the first block), timings of the forward alone.
"""
import atexit
import os
import sys
import time

ABSENT_BATCHES = 8  # batches a running request may be missing from before its decode is taken as finished


def _tp_rank():
    """This process's tensor-parallel rank: SGLang's own when it is loaded, else torch.distributed's, else 0."""
    try:
        from sglang.srt.distributed import get_tensor_model_parallel_rank
        return get_tensor_model_parallel_rank()
    except Exception:  # not inside an SGLang worker (tests, other runtimes)
        pass
    try:
        import torch.distributed as dist
        if dist.is_available() and dist.is_initialized():
            return dist.get_rank()
    except ImportError:
        pass
    return int(os.environ.get('RANK', 0))


def _logits(out):
    """The [tokens, vocab] logits of a step: SGLang passes the tensor or a LogitsProcessorOutput holding it."""
    import torch
    if torch.is_tensor(out):
        return out
    for name in ('full_logits', 'next_token_logits'):
        v = getattr(out, name, None)
        if torch.is_tensor(v):
            return v
    raise TypeError('dlens.sglang: the step was given no logits tensor (compact consumer state is not recorded)')


def _sample(key):
    """A client's rid `task:doc_id` names its evaluation sample; any other rid is kept as the doc id."""
    if isinstance(key, str) and key.count(':') == 1:
        task, doc = key.split(':')
        return {'task': task, 'doc_id': int(doc) if doc.isdigit() else doc}
    return {'task': 'sglang', 'doc_id': key}


class _Request:
    """One request's decode so far: per step, its block before and after, the block's index and the statistics."""

    def __init__(self, key):
        self.key, self.steps, self.blocks, self.absent = key, [], 0, 0
        self.finals = []  # each finished block's tokens
        self.round, self.closed, self.nfe = None, False, 0


class Recording:
    """The recording state of one wrapped algorithm: the set, the requests in flight, and how to write them."""

    def __init__(self, set_path, block_size, mask_id, recorder_kwargs):
        from .traceset import TraceSet
        self.set = TraceSet(set_path)
        self.B, self.mask = block_size, mask_id
        self.kw = dict(recorder_kwargs)
        self.eos = self.kw.get('eos_token_id')
        self.live = {}
        from .recorder import Recorder
        # A recorder that only computes statistics (the same code a decode's own recorder runs).
        self.stats = Recorder(None, mask_token_id=mask_id, sink=lambda data: None, top_k=self.kw.get('top_k', 5))
        self.written = 0
        self._last = None  # when the last step ended: a step's time is the interval (its forward included)
        self.round, self.seen = 0, set()

    def keys(self, fb):
        rids = getattr(fb, 'rids', None)
        if rids is not None:
            return list(rids)
        return [int(i) for i in fb.req_pool_indices.tolist()]

    def before_step(self, fb, logits):
        """Each request's block before the step and the statistics of its logits (on the device, no copy)."""
        import torch
        n = fb.batch_size
        blocks = fb.input_ids.view(n, self.B).clone()
        lg = _logits(logits).view(n * self.B, -1)
        return blocks, self.stats._reduce(torch.arange(self.B, device=lg.device).repeat(n), lg)

    def after_step(self, fb, seen, done):
        """Pairs each request's block after the step with what it saw; only [block, k] numbers are kept."""
        from .recorder import chosen_confidence
        blocks, st = seen
        n = fb.batch_size
        after = fb.input_ids.view(n, self.B).clone()
        conf = chosen_confidence(st, (blocks == self.mask).reshape(-1), (after == self.mask).reshape(-1),
                                 after.reshape(-1).long())
        now = time.perf_counter()
        ms, self._last = (now - self._last) * 1000.0 if self._last else 0.0, now
        had_masks = (blocks == self.mask).any(dim=1).tolist()  # one wait per step (the algorithm's done waits too)
        for i, key in enumerate(self.keys(fb)):
            r = self.live.get(key)
            if r is None:
                r = self.live[key] = _Request(key)
            self.seen.add(key)
            if r.round != self.round:  # this round's first step: a closed block's successor starts
                r.round, r.closed = self.round, False
            r.nfe += 1  # every row is computed at every step, a finished block's too
            if r.closed:
                continue  # its block is done; it waits for the batch's other rows
            if had_masks[i]:
                rows = slice(i * self.B, (i + 1) * self.B)
                part = dict(pos=st['pos'][rows], ids=st['ids'][rows], probs=st['probs'][rows],
                            entropy=st['entropy'][rows], conf=conf[rows])
                r.steps.append((r.blocks, blocks[i], after[i], part, ms))
            if done[i]:
                r.finals.append(after[i])
                r.blocks += 1
                r.closed = True
                if self.eos is not None and bool((after[i] == self.eos).any()):
                    self.finish(key)

    def begin_round(self):
        """A call of the algorithm's run: one block per request (one step in FDFO mode). Requests missing from
        ABSENT_BATCHES rounds in a row have finished."""
        self.round += 1
        for key in list(self.live):
            if key not in self.seen:
                self.live[key].absent += 1
                if self.live[key].absent >= ABSENT_BATCHES:
                    self.finish(key)
            else:
                self.live[key].absent = 0
        self.seen = set()

    def finish(self, key):
        """Writes the request's decode: its blocks laid end to end, one state per step."""
        import torch
        r = self.live.pop(key)
        if not r.steps:
            return
        first = r.steps[0][1]
        P = int((first != self.mask).sum())  # the prompt's tail inside the first block
        n = max(r.blocks, r.steps[-1][0] + 1)
        blank = torch.full((self.B,), self.mask, dtype=first.dtype, device=first.device)
        done = list(r.finals) + [None] * (n - len(r.finals))

        def whole(block, x):  # the sequence: finished blocks, this block as given, masks after
            return torch.cat([done[b] if b < block else x if b == block else blank for b in range(n)])

        rec = self.set.recorder(sample_id=_sample(key), prompt_length=P, mask_token_id=self.mask,
                                block_length=self.B, **self.kw)
        with rec:
            rec.start(whole(0, first))
            for block, x0, x1, st, ms in r.steps:
                pos = st['pos'] + block * self.B
                keep = pos >= P  # the first block's prompt tail has no statistics
                st = {k: v[keep] for k, v in dict(st, pos=pos).items()}
                rec.step(whole(block, x1), None, block=(block * self.B, (block + 1) * self.B), stats=st)
                rec.ms[-1] = ms
            rec.nfe = r.nfe
        self.written += 1

    def close(self):
        for key in list(self.live):
            self.finish(key)
        self.set.close()


class DlensRecord:
    """SGLang's `Algorithm` contract (step, run, init_step_state, prepare_inputs, max_steps, ...) met by the wrapped
    algorithm; this class records around its `step`. SGLang's runtime calls `run`, whose loop calls `step`."""

    def __init__(self, config):
        opts = dict((getattr(config, 'algorithm_config', None) or {}).get('dlens') or {})
        wrap, path = opts.pop('wrap', None), opts.pop('set', None)
        if not wrap or not path:
            raise ValueError("dlens.sglang: the algorithm config needs a 'dlens' section with 'wrap' (the algorithm "
                             "that decides, e.g. LowConfidence) and 'set' (the trace set to write)")
        from sglang.srt.dllm.algorithm import algo_name_to_cls  # filled by the time SGLang builds an algorithm
        if wrap not in algo_name_to_cls or wrap == type(self).__name__:
            raise ValueError(f'dlens.sglang: no dLLM algorithm named {wrap!r}; SGLang has '
                             f'{", ".join(sorted(n for n in algo_name_to_cls if n != type(self).__name__))}')
        self.inner = algo_name_to_cls[wrap](config)
        self.rec = None
        if _tp_rank() == 0:
            opts.setdefault('strategy', wrap)
            # JointThresholdInDel (LLaDA 2.2) deletes and inserts positions inside a block: record where tokens
            # move (trace v3's alignment) rather than read the shifts as edits.
            if getattr(self.inner, 'delete_token_id', None) is not None:
                opts.setdefault('indel', True)
            self.rec = Recording(path, config.block_size, config.mask_id, opts)
            atexit.register(self.rec.close)
        inner_step = self.inner.step

        def step(forward_batch, logits_output, states):
            if self.rec is None:
                return inner_step(forward_batch, logits_output, states)
            seen = self.rec.before_step(forward_batch, logits_output)
            done = inner_step(forward_batch, logits_output, states)
            self.rec.after_step(forward_batch, seen, done)
            return done

        # The base class's run loops call self.step: on the wrapped instance, so its own run (sync or FDFO) is used.
        self.inner.step = step

    def __getattr__(self, name):  # everything else is the wrapped algorithm's
        return getattr(self.__dict__['inner'], name)

    def run(self, *args, **kwargs):
        if self.rec is not None:
            self.rec.begin_round()
        return self.inner.run(*args, **kwargs)

    def step(self, *args, **kwargs):
        return self.inner.step(*args, **kwargs)


Algorithm = DlensRecord

MODULE = 'dlens_record.py'
SHIM = '# Written by `python3 -m dlens.sglang install`: SGLang loads the algorithms of this folder.\n' \
       'from dlens.sglang import Algorithm  # noqa: F401\n'


def _folder():
    import importlib.util
    spec = importlib.util.find_spec('sglang.srt.dllm.algorithm')
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit('dlens.sglang: SGLang is not installed in this Python (sglang.srt.dllm.algorithm not found)')
    return list(spec.submodule_search_locations)[0]


def main(argv):
    if argv[:1] not in (['install'], ['uninstall']):
        print('usage: python3 -m dlens.sglang install|uninstall   (puts dlens_record.py in SGLang\'s dLLM algorithm '
              'folder, or removes it)', file=sys.stderr)
        return 2
    from .safetensors_io import PathRefused, write_atomic
    path = os.path.join(_folder(), MODULE)
    try:
        if argv[0] == 'install':
            # The package's atomic writer: a FIFO, a device or a dangling link at the path is refused, never replaced.
            write_atomic(path, SHIM.encode())
            print(f'{path}: --dllm-algorithm DlensRecord records (see the module docstring of dlens.sglang)')
        elif os.path.lexists(path):
            if not os.path.isfile(path) or os.path.islink(path):
                raise PathRefused(f'cannot remove {path}: it is not the regular file install writes; remove it by hand')
            os.unlink(path)
            print(f'removed {path}')
    except (PathRefused, OSError) as e:
        print(f'dlens.sglang: {e}', file=sys.stderr)
        return 2
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
