"""Record an lm-evaluation-harness run into a trace set, through the LM class researchers already use, unedited.

    lm = LLaDAEvalHarness(...)                         # LLaDA's eval_llada.py, Fast-dLLM's eval, a class like them
    ts = dlens.TraceSet('gsm8k.dlset')
    with dlens.lm_eval.record(lm, ts, mask_token_id=126336, tokenizer='tokenizer.json'):
        results = lm_eval.simple_evaluate(model=lm, tasks=['gsm8k'], log_samples=True)
    ts.close()
    # then: dlens set label gsm8k.dlset samples_gsm8k_*.jsonl

How: while the block runs, `lm.generate_until(requests)` is wrapped to note each request's (task_name, doc_id,
repeat) in the order lm-eval hands them (a request with repeats=N comes N times in a row: repeat 0..N-1), and the
decoding function the class calls per prompt — a module-level `generate(model, prompt, ...)` in the class's module
(LLaDA's eval_llada.py imports generate.py's) or a method of the model (`method='diffusion_generate'`) — is wrapped
to record each call: one decode per row of the prompt batch, keyed by the next requests in order, watched through
`dlens.watch(model, ...)`. The class and the loop are not edited.

Requirements on the class (as LLaDA's eval_llada.py at ML-GSAI/LLaDA b7e6c356 meets them): it decodes the requests in
the order given, each prompt row once, and calls the model once per step. Under accelerate or torchrun each rank
records its own requests into its own shard.
"""
import contextlib
import sys

from .watch import watch


class _Queue:
    def __init__(self):
        self.samples = []
        self.seen = {}

    def fill(self, requests):
        for req in requests:
            task, doc = getattr(req, 'task_name', None), getattr(req, 'doc_id', None)
            key = (task, doc)
            rep = self.seen.get(key, 0)
            self.seen[key] = rep + 1
            args = getattr(req, 'args', ())
            self.samples.append(dict(sample=dict(task=str(task), doc_id=doc, repeat=rep),
                                     prompt=args[0] if args and isinstance(args[0], str) else ''))

    def take(self, n):
        if len(self.samples) < n:
            raise RuntimeError(f'dlens.lm_eval.record: the LM decoded {n} prompt rows but only {len(self.samples)} '
                               'requests are waiting: does its generate_until decode each request once, in order?')
        out, self.samples = self.samples[:n], self.samples[n:]
        return out


@contextlib.contextmanager
def record(lm, trace_set, *, function='generate', method=None, model=None, **recorder_kwargs):
    """While active, every decode `lm.generate_until` makes goes into `trace_set`, keyed by lm-eval's task and doc_id.
    `recorder_kwargs`: what Recorder takes (mask_token_id, tokenizer, top_k, block_length, ...); mask_token_id and
    block_length default to the call's `mask_id` and `block_length` keywords when it passes them."""
    model = model if model is not None else lm.model
    queue = _Queue()
    inner_until = lm.generate_until

    def generate_until(requests, *a, **kw):
        queue.fill(requests)
        return inner_until(requests, *a, **kw)

    if method is not None:
        owner, name = model, method
    else:
        owner, name = sys.modules[type(lm).__module__], function
    inner = getattr(owner, name)

    def decode(*args, **kw):
        prompt = kw.get('prompt', kw.get('inputs', kw.get('input_ids')))
        if prompt is None:
            prompt = args[0] if method is not None else args[1]
        rows = queue.take(prompt.shape[0] if prompt.dim() == 2 else 1)
        opts = dict(recorder_kwargs)
        opts.setdefault('mask_token_id', kw.get('mask_id'))
        if kw.get('block_length') is not None:
            opts.setdefault('block_length', kw['block_length'])
        opts.setdefault('prompt_length', prompt.shape[-1])
        recs = trace_set.batch([r['sample'] for r in rows], [r['prompt'] for r in rows], **opts)
        with recs:
            with watch(model, recs):
                out = inner(*args, **kw)
            recs.finish(getattr(out, 'sequences', out))
        return out

    lm.generate_until = generate_until
    setattr(owner, name, decode)
    try:
        yield queue
    finally:
        setattr(owner, name, inner)
        try:
            del lm.generate_until  # back to the class's method
        except AttributeError:
            lm.generate_until = inner_until
