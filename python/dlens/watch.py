"""watch(model, rec): record any decoding loop that calls the model once per step, with no edit to the loop.

While the `with` block runs, the model's forward is wrapped: each call hands its input ids and the `.logits` of its
output to the recorder, which pairs the prediction of one call with the input of the next (the sequence the step
produced); `rec.finish(x)` gives the last step's result. A call with fewer positions than the sequence (a block
computed against a KV cache) is placed by Fast-dLLM's `replace_position` keyword when the loop passes one, else by
`positions=` (an int offset or a function of (args, kwargs) returning the positions). With `Recorder(saliency=True)`
the queries and keys of every `torch.nn.functional.scaled_dot_product_attention` call during the forward (one per
layer: LLaDA's modeling code, transformers' sdpa attention) give the attention each position receives from the
active block's queries, computed on the device.
"""
import math

import numpy as np


def _input_ids(args, kwargs):
    x = kwargs.get('input_ids', args[0] if args else None)
    if x is None:
        raise ValueError('dlens.watch: the model was called without input ids (positional or input_ids=)')
    return x


def _logits(out):
    if hasattr(out, 'logits'):
        return out.logits
    if isinstance(out, (tuple, list)):
        return out[0]
    return out


class watch:
    def __init__(self, model, rec, positions=None, block=None):
        self.model, self.rec, self.positions, self.block = model, rec, positions, block
        self.full = None
        self.calls = 0
        # A batch (a list of recorders, one per row: TraceSet.batch): one wrapper, and per row a watcher that keeps
        # its row's sequence and hands it to its recorder.
        batch = isinstance(rec, (list, tuple))
        self.rows = [watch(model, r, positions, block) for r in rec] if batch else [self]

    def __enter__(self):
        import torch
        model = self.model
        saliency = any(w.rec.want_saliency for w in self.rows)
        inner = model.forward
        self._inner = inner
        captured = []
        sdpa = getattr(torch.nn.functional, 'scaled_dot_product_attention', None)
        self._sdpa = sdpa

        def capture(q, k, v, *a, **kw):
            captured.append((q, k))
            return sdpa(q, k, v, *a, **kw)

        def forward(*args, **kwargs):
            x = _input_ids(args, kwargs)
            if saliency and sdpa is not None:
                captured.clear()
                torch.nn.functional.scaled_dot_product_attention = capture
                try:
                    out = inner(*args, **kwargs)
                finally:
                    torch.nn.functional.scaled_dot_product_attention = sdpa
            else:
                out = inner(*args, **kwargs)
            logits = _logits(out)
            for w in self.rows:
                w._record(x, logits, args, kwargs, out, captured)
            return out

        model.forward = forward
        return self

    def _record(self, x, logits, args, kwargs, out, captured):
        import torch
        rec = self.rec
        row = x[rec.b].detach() if x.dim() == 2 else x.detach()
        L = row.shape[0]
        pos = None
        if self.full is None or L == self.full.shape[0]:
            self.full = row.clone()  # stays on the device: a copy to the host would wait for the GPU every call
        else:
            rp = kwargs.get('replace_position')
            if rp is not None:
                rpr = rp[rec.b] if rp.dim() == 2 else rp
                pos = torch.nonzero(rpr.reshape(-1)).reshape(-1)
            elif self.positions is not None:
                p = self.positions(args, kwargs) if callable(self.positions) else self.positions
                pos = (torch.arange(L) + p if np.ndim(p) == 0 else torch.as_tensor(np.asarray(p)).reshape(-1))
                pos = pos.to(row.device)
            else:
                raise ValueError(
                    f'dlens.watch: the model was called with {L} positions of {self.full.shape[0]}: pass positions= '
                    '(an offset, or a function of (args, kwargs)) so the recorder knows where they lie')
            if len(pos) != L:
                raise ValueError(f'dlens.watch: {len(pos)} positions for a call with {L} tokens')
            self.full = self.full.clone()
            self.full[pos] = row
        blk = self.block(args, kwargs) if callable(self.block) else self.block
        bl = rec.meta.get('block_length')
        if blk is None and bl and pos is None and rec.mask_token_id is not None:
            # LLaDA's semi-autoregressive blocks: the active one holds the first undecided generated position. Its
            # query indices stay on the device (reading them on the host would wait for the GPU); the trace records
            # them as its `block` tensor whenever block_length is given, and saliency averages over their queries.
            und = (self.full[rec.P:] == rec.mask_token_id).int().argmax()
            start = rec.P + (und // bl) * bl
            blk = (start + torch.arange(bl, device=self.full.device)).clamp(max=self.full.shape[0] - 1)
        attentions = None
        if rec.want_saliency:
            if getattr(out, 'attentions', None) is not None:
                attentions = out.attentions
            elif captured:
                attentions = [_received(q, k, blk, rec, pos, self.full.shape[0]) for q, k in captured]
        rec.observe(self.full, logits, positions=pos, block=blk, attentions=attentions)

    def __exit__(self, *exc):
        self.model.forward = self._inner
        try:
            del self.model.forward  # back to the class's forward when the wrapper was an instance attribute
        except AttributeError:
            pass
        return False


def _received(q, k, block, rec, pos, T):
    """Attention each key receives, averaged over heads and the active block's queries: a [keys] vector, computed
    on the device; only block × keys scores are formed per layer."""
    import torch
    b = rec.b if q.shape[0] > rec.b else 0
    qb, kb = q[b], k[b]  # [H, Q, D], [Hk, N, D]
    if kb.shape[0] != qb.shape[0]:
        kb = kb.repeat_interleave(qb.shape[0] // kb.shape[0], dim=0)
    if pos is None:
        if torch.is_tensor(block):
            qb = qb.index_select(1, block)
        else:
            q0, q1 = block if block is not None else (rec.P, qb.shape[1])
            qb = qb[:, q0:q1]
    w = torch.softmax((qb.float() @ kb.float().transpose(-1, -2)) / math.sqrt(qb.shape[-1]), dim=-1)
    return w.mean(dim=(0, 1))
