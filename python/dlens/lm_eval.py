"""Record an lm-evaluation-harness run into a trace set, through the LM class researchers already use, unedited.

    lm = LLaDAEvalHarness(...)                         # LLaDA's eval_llada.py, Fast-dLLM's eval, a class like them
    ts = dlens.TraceSet('gsm8k.dlset')
    with dlens.lm_eval.record(lm, ts, mask_token_id=126336, tokenizer='tokenizer.json'):
        results = lm_eval.simple_evaluate(model=lm, tasks=['gsm8k'], log_samples=True)
    ts.close()
    # then: dlens set label gsm8k.dlset samples_gsm8k_*.jsonl

How: while the block runs, `lm.generate_until(requests)` is wrapped to note each request's (task_name, doc_id,
repeat) in the order lm-eval hands them (a request with repeats=N comes N times in a row: repeat 0..N-1), and the
decoding call the class makes per batch is wrapped to record it: one decode per row of the batch, keyed by the next
requests in order. The call is, in this order of choice:
- `method='diffusion_generate'` (a method of the model: Dream's eval.py),
- `function='generate'` (a function of the class's module: LLaDA's eval_llada.py imports generate.py's),
- `lm.sampler.sample(inputs=[prompts], config=...)` (dllm's harnesses: MDLM, Dream, A2D samplers), found by itself,
- the module's `generate`, found by itself.
Decoders that take Dream's `generation_logits_hook_func` / `generation_tokens_hook_func` (Dream's diffusion_generate,
dllm's Dream sampler) are recorded through those hooks, which see the logits after the decoder's own shift; the
others through `dlens.watch(model, ...)` (with `logits_shift=1` where a dllm sampler's config shifts the logits).
Each row's prompt length is the call's width for left-padded batches, and each row's first mask for a sampler's
per-row canvas (dllm's MDLM sampler puts every prompt at the left of its row). The class and the loop are not edited.

Requirements on the class (as LLaDA's eval_llada.py at ML-GSAI/LLaDA b7e6c356 and dllm's BaseEvalHarness at
ZHZisZZ/dllm ca176752 meet them): it decodes the requests in the order given, each prompt row once, and calls the
model once per step. Under accelerate or torchrun each rank records its own requests into its own shard.
"""
import contextlib
import inspect
import sys

from .dream import dream_hooks
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


def _accepts_hooks(fn, name):
    """Whether the decoder takes Dream's two hooks (Dream's diffusion_generate pops them from **kwargs; dllm's
    samplers name them): then they record it, seeing the logits after the decoder's own shift."""
    if name == 'diffusion_generate':
        return True
    try:
        return 'generation_logits_hook_func' in inspect.signature(fn).parameters
    except (TypeError, ValueError):
        return False


def _mask_id(model):
    """The model's own mask id where it says (Dream: generation_config.mask_token_id, else config.mask_token_id)."""
    for holder in (getattr(model, 'generation_config', None), getattr(model, 'config', None)):
        v = getattr(holder, 'mask_token_id', None)
        if isinstance(v, int):
            return v
    return None


def _target(lm, model, function, method):
    """(object, attribute name, kind) of the decoding call to wrap."""
    if method is not None:
        return model, method, 'method'
    if function is not None:
        return sys.modules[type(lm).__module__], function, 'function'
    sampler = getattr(lm, 'sampler', None)
    if sampler is not None and callable(getattr(sampler, 'sample', None)):
        return sampler, 'sample', 'sampler'  # dllm's harnesses: self.sampler.sample(inputs=[prompt tensors], ...)
    module = sys.modules[type(lm).__module__]
    if callable(getattr(module, 'generate', None)):
        return module, 'generate', 'function'
    raise ValueError(f'dlens.lm_eval.record: {type(lm).__name__} has no sampler and its module no generate(); name '
                     "the decoding call: function='...' (a function of its module) or method='...' (of the model)")


@contextlib.contextmanager
def record(lm, trace_set, *, function=None, method=None, model=None, **recorder_kwargs):
    """While active, every decode `lm.generate_until` makes goes into `trace_set`, keyed by lm-eval's task and doc_id.
    The decoding call wrapped: `method` of the model (Dream's 'diffusion_generate'), else `function` of the class's
    module, else `lm.sampler.sample` (dllm's harnesses), else the module's `generate` (LLaDA's eval_llada.py).
    `recorder_kwargs`: what Recorder takes (mask_token_id, tokenizer, top_k, block_length, ...); mask_token_id and
    block_length default to the call's `mask_id` and `block_length` keywords, or a sampler's tokenizer and config."""
    model = model if model is not None else getattr(lm, 'model', None)
    queue = _Queue()
    inner_until = lm.generate_until

    def generate_until(requests, *a, **kw):
        queue.fill(requests)
        return inner_until(requests, *a, **kw)

    owner, name, kind = _target(lm, model, function, method)
    if kind == 'sampler':
        model = model if model is not None else owner.model
    inner = getattr(owner, name)
    hooks = _accepts_hooks(inner, name)

    def decode(*args, **kw):
        opts = dict(recorder_kwargs)
        if kind == 'sampler':
            # Prompts of different lengths, each laid out by the sampler: each row's prompt ends at its first mask.
            prompts = kw.get('inputs', args[0] if args else None)
            n = len(prompts)
            config = kw.get('config', args[1] if len(args) > 1 else None)
            opts.setdefault('mask_token_id', getattr(getattr(owner, 'tokenizer', None), 'mask_token_id', None))
            block = kw.get('block_size', getattr(config, 'block_size', None))
            if block is not None and not hooks:
                opts.setdefault('block_length', int(block))
            if not hooks and kw.get('right_shift_logits', getattr(config, 'right_shift_logits', False)):
                opts.setdefault('logits_shift', 1)  # A2D models under the MDLM sampler: position i from row i − 1
            opts.setdefault('prompt_length', None)
        else:
            prompt = kw.get('prompt', kw.get('inputs', kw.get('input_ids')))
            if prompt is None:
                prompt = args[0] if kind == 'method' else args[1]
            n = prompt.shape[0] if prompt.dim() == 2 else 1
            opts.setdefault('mask_token_id', kw.get('mask_id', _mask_id(model)))
            if kw.get('block_length') is not None:
                opts.setdefault('block_length', kw['block_length'])
            opts.setdefault('prompt_length', prompt.shape[-1])  # left-padded batches share it
        rows = queue.take(n)
        recs = trace_set.batch([r['sample'] for r in rows], [r['prompt'] for r in rows], **opts)
        with recs:
            if hooks and not opts.get('saliency'):
                # Dream's samplers: their hooks see the logits after the shift, as the sampler decides from them.
                kw.update(dream_hooks(recs, kw.get('generation_logits_hook_func'),
                                      kw.get('generation_tokens_hook_func')))
                out = inner(*args, **kw)
            else:
                with watch(model, recs):
                    out = inner(*args, **kw)
            recs.finish(getattr(out, 'sequences', out))
        return out

    # Put back what was there: an attribute of the object itself (a module's function) is set again, one that came
    # from the class (a method) is removed, so the class's is seen again.
    saved = [(obj, attr, getattr(obj, attr), attr in getattr(obj, '__dict__', {}))
             for obj, attr in ((lm, 'generate_until'), (owner, name))]
    lm.generate_until = generate_until
    setattr(owner, name, decode)
    try:
        yield queue
    finally:
        for obj, attr, was, own in saved:
            if own:
                setattr(obj, attr, was)
            else:
                delattr(obj, attr)
