"""Dream's `diffusion_generate` takes two hooks; these record its decode without touching its sampler.

    hooks = dlens.dream_hooks(rec)
    out = model.diffusion_generate(input_ids, attention_mask=..., **hooks, ...)

The logits hook sees the logits after Dream's shift (position i predicted from i − 1: what the sampler uses) and
returns them unchanged; the tokens hook sees the sequence after each step (and, with step None, before the first).
"""


def dream_hooks(rec, logits_hook=None, tokens_hook=None):
    """generation_logits_hook_func and generation_tokens_hook_func for Dream; chain your own hooks through
    `logits_hook` / `tokens_hook` (called first, their results recorded). `rec` is a Recorder or a batch of them
    (dlens.TraceSet.batch: one decode per row)."""
    recs = list(rec) if isinstance(rec, (list, tuple)) else [rec]
    seen = {}

    def on_logits(step, x, logits):
        if logits_hook is not None:
            logits = logits_hook(step, x, logits)
        for r in recs:
            if not r.states:
                r.start(x)
        seen['logits'] = logits
        return logits

    def on_tokens(step, x, logits):
        if tokens_hook is not None:
            x = tokens_hook(step, x, logits)
        if step is None:  # Dream calls the tokens hook once before the loop
            for r in recs:
                if not r.states:
                    r.start(x)
            return x
        lg = seen.pop('logits', logits)
        for r, st in zip(recs, type(recs[0]).stats_batch(recs, lg)):
            r.step(x, lg, stats=st)
        return x

    return {'generation_logits_hook_func': on_logits, 'generation_tokens_hook_func': on_tokens}
