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
        from .recorder import Recorder
        model, rows = self.model, self.rows
        saliency = any(w.rec.want_saliency for w in rows)
        inner = self._inner = model.forward
        sdpa = self._sdpa = getattr(torch.nn.functional, 'scaled_dot_product_attention', None)
        call = {}  # this call's saliency plan, and what each attention layer gave

        def reduce_held():
            if call['held']:
                qs, ks = zip(*call['held'])
                call['received'].append(_received_by_layer(qs, ks, call['plan'], call['scale']))
                call['held'], call['held_bytes'] = [], 0

        def capture(q, k, v, *a, **kw):
            if call['plan'] is not None:
                # Layers are held and reduced together (a dozen launches a step instead of a dozen per layer, which a
                # batch-1 step cannot hide), up to HOLD_BYTES of queries and keys: all of them would be a KV cache.
                if call['held'] and kw.get('scale') != call['scale']:
                    reduce_held()
                call['scale'] = kw.get('scale')
                call['held'].append((q, k))
                call['held_bytes'] += q.numel() * q.element_size() + k.numel() * k.element_size()
                if call['held_bytes'] > HOLD_BYTES:
                    reduce_held()
            else:
                call['captured'].append((q, k))
            return sdpa(q, k, v, *a, **kw)

        def forward(*args, **kwargs):
            x = _input_ids(args, kwargs)
            placed = [w._place(x, args, kwargs) for w in rows]
            call.update(plan=_plan(rows, placed, x.device) if saliency else None, received=[], captured=[], held=[],
                        held_bytes=0, scale=None)
            if saliency and sdpa is not None:
                torch.nn.functional.scaled_dot_product_attention = capture
                try:
                    out = inner(*args, **kwargs)
                finally:
                    torch.nn.functional.scaled_dot_product_attention = sdpa
                reduce_held()
            else:
                out = inner(*args, **kwargs)
            logits = _logits(out)
            whole = all(pos is None for pos, _ in placed)
            # Each row's active block comes from this call's input: the recorders' last state is the previous call's.
            stats = (Recorder.stats_batch([w.rec for w in rows], logits, blocks=[b for _, b in placed],
                                          inputs=[w.full for w in rows]) if whole else [None] * len(rows))
            received = torch.cat(call['received'], dim=1) if call['received'] else None  # [rows, layers, keys]
            for i, (w, (pos, blk), st) in enumerate(zip(rows, placed, stats)):
                att = None
                if w.rec.want_saliency:
                    att = received[i] if received is not None else getattr(out, 'attentions', None)
                    if att is None and call['captured']:
                        att = [_received(q, k, blk, w.rec, pos, w.full.shape[0]) for q, k in call['captured']]
                w.rec.observe(w.full, logits, positions=pos, block=blk, attentions=att, stats=st)
            return out

        model.forward = forward
        return self

    def _place(self, x, args, kwargs):
        """This row's sequence after the call's input is placed in it, the positions the call computed (None: all)
        and the active block's query indices."""
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
        if not rec.states:
            rec.start(self.full)  # the prompt length may be found from the first sequence
        blk = self.block(args, kwargs) if callable(self.block) else self.block
        bl = rec.meta.get('block_length')
        if blk is None and bl and pos is None and rec.mask_token_id is not None:
            # LLaDA's semi-autoregressive blocks: the active one holds the first undecided generated position. Its
            # query indices stay on the device (reading them on the host would wait for the GPU); the trace records
            # them as its `block` tensor whenever block_length is given, and saliency averages over their queries.
            und = (self.full[rec.P:] == rec.mask_token_id).int().argmax()
            start = rec.P + (und // bl) * bl
            blk = (start + torch.arange(bl, device=self.full.device)).clamp(max=self.full.shape[0] - 1)
        return pos, blk

    def __exit__(self, *exc):
        self.model.forward = self._inner
        try:
            del self.model.forward  # back to the class's forward when the wrapper was an instance attribute
        except AttributeError:
            pass
        return False


def _plan(rows, placed, device):
    """Which batch rows and which of their queries the saliency of this call averages over, when one computation
    per layer covers the whole batch (per row it would be rows × layers small launches, more than the CPU issues
    while the GPU runs a step): (row indices, query indices [rows, Q]). None when it cannot (a block call, a block
    given as a span, prompts of different lengths without blocks): the per-row path takes those. The row indices are
    a host list."""
    import torch
    if any(pos is not None for pos, _ in placed):
        return None
    # The rows stay a host list: a device tensor made from a list, or compared on the device and read back, waits for
    # the GPU, and a wait per layer left the CPU unable to queue the forward ahead (+65 % at batch 1).
    sel = [w.rec.b for w in rows]
    if all(torch.is_tensor(b) for _, b in placed) and len({b.shape[0] for _, b in placed}) == 1:
        return sel, torch.stack([b for _, b in placed]).to(device)  # each row's active block
    if all(b is None for _, b in placed) and len({w.rec.P for w in rows}) == 1:
        # no blocks: every generated query (Dream, and the left-padded batches of evaluations share the prompt length)
        T = rows[0].full.shape[0]
        return sel, torch.arange(rows[0].rec.P, T, device=device).expand(len(rows), -1)
    return None


# Queries and keys held for one reduction of several layers (see capture in watch.__enter__).
HOLD_BYTES = 256 << 20


def _received_by_layer(qs, ks, plan, scale=None):
    """Attention layers' contributions: the attention each key receives, averaged over heads and the planned queries,
    for every planned row and each layer given: [rows, layers, keys]. Grouped-query heads share their key head without
    a copy; queries go in chunks that keep the float32 weights under 1 GiB."""
    import torch
    sel, queries = plan
    B = qs[0].shape[0]
    if max(sel) >= B:
        raise ValueError(f'dlens.watch: batch row {max(sel)} is outside the attention batch of {B}')
    q = torch.stack(qs) if len(qs) > 1 else qs[0][None]  # [layers, batch, heads, positions, dim]
    k = torch.stack(ks) if len(ks) > 1 else ks[0][None]
    if sel != list(range(B)):  # some rows only (a guidance batch's conditional half): one copy of the list
        idx = torch.as_tensor(sel, device=q.device)
        q, k = q.index_select(1, idx), k.index_select(1, idx)
    L, R, H, _, D = q.shape
    Hk, N = k.shape[2], k.shape[3]
    Q = queries.shape[1]
    scale = scale if scale is not None else 1.0 / math.sqrt(D)
    chunk = max(1, (1 << 28) // max(1, L * R * H * N))
    kt = k.float().transpose(-1, -2)  # scores in float32, as the per-row path computes them
    total = None
    for c0 in range(0, Q, chunk):
        idx = queries[:, c0:c0 + chunk]
        qb = q.gather(3, idx[None, :, None, :, None].expand(L, -1, H, -1, D)).float().mul_(scale)
        w = torch.softmax(qb.reshape(L, R, Hk, -1, D) @ kt, dim=-1)
        part = w.sum(dim=3).sum(dim=2)  # [layers, rows, keys]
        total = part if total is None else total + part
    return (total / (H * Q)).transpose(0, 1)


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
