"""The Python recorder: one decode, step by step, into a `.dlens` trace (format v2).

Per step it keeps the sequence after the step and what the model predicted for the generated positions: the top-k
tokens and their probabilities, the confidence of the chosen token and the entropy, computed where the logits live
(the GPU) so that only [gen, k] numbers cross to the host. Statistics follow dlens's model contract v2: the mask token
is never a candidate, probabilities are the model's softmax over the whole vocabulary (as the papers' decoders compute
confidence), the entropy that of the whole distribution.
"""
import signal
import time

import numpy as np

from . import trace as tracefile
from .tokens import Vocab
from .safetensors_io import write_target
from .align import align_states
from .row_stats import row_stats


def _np(x):
    if hasattr(x, 'detach'):
        return x.detach().to('cpu').numpy()
    return np.asarray(x)


def _joined(parts):
    """Per-step tensors of different lengths as one host array: one concatenation on their device, one copy."""
    import torch
    if all(torch.is_tensor(p) for p in parts) and len({p.device for p in parts}) == 1:
        return _np(torch.cat([p.reshape(-1, *p.shape[1:]) for p in parts]))
    return np.concatenate([_np(p) for p in parts])


def _stacked(parts):
    """Per-step tensors of one shape as one host array [steps, ...]: one stack on their device, one copy."""
    import torch
    if all(torch.is_tensor(p) for p in parts) and len({p.device for p in parts}) == 1:
        return _np(torch.stack(parts))
    return np.stack([_np(p) for p in parts])


def chosen_confidence(st, was_masked, now_masked, chosen):
    """Confidence is the chosen token's probability: the top one, unless the step committed another (sampling)."""
    import torch
    other = was_masked & ~now_masked & (chosen != st['ids'][:, 0])
    picked = torch.exp(st['rows'].gather(1, chosen[:, None])[:, 0].float() - st['lse'])
    return torch.where(other, picked, st['probs'][:, 0])


class Recorder:
    """Context manager recording one decode into `path`; see the module and docs/python.md.

    mask_token_id: the model's mask id (None for models without one: give `masked` to each step instead).
    prompt_length: positions before the generated ones (None: the first masked position of the first sequence, for
    batches whose rows have prompts of different lengths, as dllm's samplers lay them out). tokenizer: tokenizer.json's path or a loaded tokenizer.
    top_k: candidates kept per position. saliency: record attention received per layer (pass `attentions`).
    batch_index: which row of a batch to record (LLaDA's classifier-free guidance batches the unconditional row after;
    dlens.TraceSet.batch records every row, each as its own decode). sink: what takes the trace's bytes instead of
    writing `path` (a trace set's).
    rows: which positions' predictions to keep per step: 'block' (the default when block_length is given: the active
    block's undecided positions, what a semi-autoregressive step decides from; the cheapest), 'undecided' (every
    undecided generated position), or 'all'.
    logits_shift: 1 for models whose output at position i predicts position i + 1 (Dream, A2D: their samplers shift
    the logits right before deciding); the recorder reads row i − 1 for position i instead of copying the logits.
    """

    # Logits elements (rows × vocabulary) from which a step's statistics cover only its undecided rows.
    SELECT_UNDECIDED = 1 << 26

    def __init__(self, path, mask_token_id=None, prompt_length=0, tokenizer=None, top_k=5, saliency=False, *,
                 eos_token_id=None, model_name='unknown', prompt='', strategy=None, cache=None, block_length=None,
                 batch_index=0, rows='block', sink=None, logits_shift=0, indel=False):
        def whole(name, v, lo=0):
            if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < lo:
                raise ValueError(f'{name} must be a whole number >= {lo}, got {v!r}')
            return int(v)
        if prompt_length is not None:
            whole('prompt_length', prompt_length)
        elif mask_token_id is None:
            raise ValueError('prompt_length is needed for a model without a mask token (it cannot be found)')
        if logits_shift not in (0, 1):
            raise ValueError(f'logits_shift must be 0 or 1, got {logits_shift!r}')
        self.shift = int(logits_shift)
        # Loops that insert or delete positions (LLaDA 2.2, SGLang's joint_threshold_indel) move tokens inside a
        # sequence of the same length; a sequence that changes length says so itself. Either way the trace records
        # where each state's tokens sit in the final one (format v3, dlens.align).
        self.indel = bool(indel)
        whole('batch_index', batch_index)
        whole('top_k', top_k, 1)
        if top_k > 64:
            raise ValueError(f'top_k must be 1..64, got {top_k}')
        if block_length is not None:
            whole('block_length', block_length, 1)
        for name, v in (('mask_token_id', mask_token_id), ('eos_token_id', eos_token_id)):
            if v is not None:
                whole(name, v)
        # The path is checked now, not after the decode: a folder, a device or a named pipe at it is refused (the
        # rules of the command line's --out), before any GPU time is spent.
        if path is None and sink is None:
            raise ValueError('give the path of the trace to write (or record into a set: dlens.TraceSet.recorder)')
        if path is not None:
            write_target(path)
        self.path = path
        self.sink = sink  # a trace set's: takes the trace's bytes instead of a file
        self.mask_token_id = mask_token_id
        self.P = None if prompt_length is None else int(prompt_length)
        self.vocab = Vocab(tokenizer)
        self.K = int(top_k)
        self.want_saliency = bool(saliency)
        self.eos_token_id = eos_token_id
        self.meta = dict(model_name=model_name, prompt=prompt, strategy=strategy, cache=cache, block_length=block_length)
        self.b = batch_index
        if rows not in ('block', 'undecided', 'all'):
            raise ValueError(f"rows must be 'block', 'undecided' or 'all', got {rows!r}")
        # 'block' needs block_length; without it the undecided rows are kept.
        self.rows = 'undecided' if rows == 'block' and not block_length else rows
        self.states, self.masked, self.ids, self.probs, self.conf, self.ent = [], [], [], [], [], []
        self.blocks, self.ms, self.sal, self.attn_blocks, self.pos = [], [], [], [], []
        self.vocab_size = None
        self.T = 0
        self.nfe = 0
        self.finished = False
        self._pending = None  # watch(): the prediction of a step whose resulting sequence is not known yet
        self._t0 = self._last = None
        self.written = None

    # -- the record -------------------------------------------------------------------------------------------

    def start(self, x, masked=None):
        """The sequence before the first step (optional: the first step's input is used when watch() records)."""
        if self.states:
            raise RuntimeError('start() comes before the first step')
        self._push_state(x, masked)
        self._t0 = self._last = time.perf_counter()

    def step(self, x, logits, block=None, attentions=None, masked=None, positions=None, attn_block=None, stats=None):
        """Record one decoding step: `x` the sequence after it, `logits` the prediction it used ([B, T, V] or [T, V];
        or only the rows of `positions` when the step computed a block). `block` the active (start, end);
        `attentions` per layer [B, H, Q, T] when saliency is on; `masked` (models without a mask token) the
        undecided positions after the step; `attn_block` [T] block-causal block of each position."""
        if not self.states:
            raise RuntimeError('call start(x0) with the sequence before the first step, or record through watch()')
        stats = stats if stats is not None else self._stats(logits, positions)
        self._finish_step(stats, x, block, attentions, masked, attn_block)

    def finish(self, x, masked=None):
        """The final sequence, when the loop is recorded through watch() (its last step's result is not seen by the
        model): completes the last step. Not needed with step()."""
        if self._pending is not None:
            stats, block, attentions, attn_block = self._pending
            self._pending = None
            self._finish_step(stats, x, block, attentions, masked, attn_block)
        self.finished = True

    # -- watch() calls this per forward -----------------------------------------------------------------------

    def observe(self, x_in, logits, positions=None, block=None, attentions=None, attn_block=None, stats=None):
        """A forward call seen by watch(): `x_in` the state the model was given (the whole sequence), `logits` its
        output. The previous call's step completes with this input as its resulting sequence."""
        if not self.states:
            self.start(x_in)
        elif self._pending is not None:
            pstats, pblock, patt, pab = self._pending
            self._finish_step(pstats, x_in, pblock, patt, None, pab)
        stats = stats if stats is not None else self._stats(logits, positions)
        self._pending = (stats, block, attentions if self.want_saliency else None, attn_block)

    # -- internals --------------------------------------------------------------------------------------------

    def _push_state(self, x, masked):
        import torch
        row = x if torch.is_tensor(x) else torch.as_tensor(np.asarray(x))
        if row.dim() not in (1, 2):
            raise ValueError(f'the sequence must be [positions] or [batch, positions], got shape {tuple(row.shape)}')
        if row.dim() == 2 and self.b >= row.shape[0]:
            raise ValueError(f'batch_index {self.b} is outside the batch of {row.shape[0]} rows')
        row = (row[self.b] if row.dim() == 2 else row).detach().clone()
        self.T = max(self.T, row.shape[0])  # the longest state: a v3 trace's width
        if self.P is None:  # the first masked position: read once per decode, before the first step
            m = row == self.mask_token_id
            self.P = int(m.int().argmax()) if bool(m.any()) else self.T
        if self.P > self.T:
            raise ValueError(f'prompt_length {self.P} exceeds the {self.T} positions of the sequence')
        if masked is None and self.mask_token_id is None:
            raise ValueError('this model has no mask token: pass masked= (the undecided positions) to each step')
        # Kept on the device until the trace is written: copying each step to the host would wait for the GPU.
        self.states.append(row)
        if masked is None:
            self.masked.append(row == self.mask_token_id)
        else:
            m = masked if torch.is_tensor(masked) else torch.as_tensor(np.asarray(masked))
            self.masked.append((m[self.b] if m.dim() == 2 else m).to(device=row.device, dtype=torch.bool))

    def _stats(self, logits, positions):
        """Top-k, entropy and the pieces of the confidence for the rows `self.rows` asks for, on the logits' device
        and without a copy to the host (that would wait for the GPU each step)."""
        return self._reduce(*self._select(logits, positions))

    @staticmethod
    def stats_batch(recs, logits, positions=None, blocks=None, inputs=None):
        """The statistics of one call for every recorder of a batch (one per row), computed over all their rows at
        once: per row, the CPU would issue rows × operations that a batch-16 step cannot hide behind the GPU.
        `blocks`: each row's active block (query indices on the device) when the caller found it from this call's
        input, and `inputs` each row's sequence given to this call (watch() does: the recorder's last state is the
        previous call's until the step completes)."""
        blocks = blocks if blocks is not None else [None] * len(recs)
        inputs = inputs if inputs is not None else [None] * len(recs)
        chosen = [r._select(logits, positions, b, x) for r, b, x in zip(recs, blocks, inputs)]
        same = len({(r.K, r.mask_token_id) for r in recs}) == 1
        size = sum(rows.numel() * rows.element_size() for _, rows in chosen)
        # Past 1 GiB of rows (Dream's every undecided row at batch 16) the copy would cost more than the launches.
        if len(recs) == 1 or not same or size > 1 << 30:
            return [r._reduce(pos, rows) for r, (pos, rows) in zip(recs, chosen)]
        import torch
        whole = recs[0]._reduce(None, torch.cat([rows for _, rows in chosen]))
        out, at = [], 0
        for pos, rows in chosen:
            n = rows.shape[0]
            out.append({k: v if k == 'pos' else v[at:at + n] for k, v in whole.items()} | {'pos': pos})
            at += n
        return out

    def _select(self, logits, positions, block=None, x=None):
        """The positions this step's statistics cover and their logits' rows (views where possible). `block`: the
        active block's positions; `x`: the sequence the call was given (default: the last one recorded)."""
        import torch
        self.nfe += 1
        lg = logits if torch.is_tensor(logits) else torch.as_tensor(np.asarray(logits))
        if lg.dim() == 3 and self.b >= lg.shape[0]:
            raise ValueError(f'batch_index {self.b} is outside the logits\' batch of {lg.shape[0]} rows')
        lg = (lg[self.b] if lg.dim() == 3 else lg).detach()
        V = lg.shape[-1]
        self.vocab_size = V
        T = self.states[-1].shape[0]  # the state this call was given (a loop may change the sequence's length)
        if positions is None:
            if lg.shape[0] != T:
                raise ValueError(f'logits cover {lg.shape[0]} positions but the sequence has {T}: pass positions=')
            pos = torch.arange(lg.shape[0], device=lg.device)
        else:
            if self.shift:
                raise ValueError('logits_shift is for calls over the whole sequence, not a block (positions=)')
            pos = torch.as_tensor(positions, device=lg.device).long().reshape(-1)
        sh = self.shift
        bl = self.meta.get('block_length')
        if positions is None and self.rows == 'block' and bl:
            # The active block (LLaDA's semi-autoregressive blocks): the one holding the first undecided generated
            # position, found on the device; only its rows decide this step.
            if torch.is_tensor(block):
                idx = block.to(lg.device)
            else:
                und = self.masked[-1][self.P:].to(lg.device).int().argmax()
                idx = (self.P + (und // bl) * bl + torch.arange(bl, device=lg.device)).clamp(max=T - 1)
            pos, rows = idx, lg.index_select(0, (idx - sh).clamp(min=0))
        elif positions is None:
            p0 = max(self.P - sh, 0)
            pos, rows = pos[self.P:], lg[p0:p0 + T - self.P]
            if rows.shape[0] < T - self.P:  # a shift at position 0 (no prompt): Dream repeats row 0
                rows = torch.cat([lg[:1], rows])
            if self.rows == 'undecided' and self.mask_token_id is not None and rows.numel() >= self.SELECT_UNDECIDED:
                # Long generations (Dream's 1,024 positions): the undecided rows alone, half of them over a decode.
                # Choosing them waits for the GPU, which the samplers that decide from every undecided row do anyway.
                cur = x if x is not None else self.states[-1]
                keep = torch.nonzero(cur.to(lg.device)[self.P:] == self.mask_token_id).reshape(-1)
                pos, rows = pos.index_select(0, keep), rows.index_select(0, keep)
        else:
            idx = torch.nonzero(pos >= self.P).reshape(-1)  # a block call: its rows are few, the sync cheap
            pos, rows = pos[idx], lg[idx]
        # Rows already decided before the step are blanked when the trace is written ('block', 'undecided'), not
        # dropped here: choosing rows by a value on the device would wait for the GPU (the CPU could not run ahead).
        return pos, rows

    def _reduce(self, pos, rows):
        return dict(pos=pos, rows=rows, **row_stats(rows, self.K, self.mask_token_id))

    def _finish_step(self, st, x_after, block, attentions, masked, attn_block):
        import torch
        now = time.perf_counter()
        prev_masked = self.masked[-1]
        self._push_state(x_after, masked)
        pos = st['pos']
        if 'conf' in st:  # computed by the caller when the step was taken (dlens.sglang: no logits kept)
            conf = st['conf']
        else:
            after = self.states[-1].to(pos.device)
            now_masked = self.masked[-1].to(pos.device)
            if after.shape[0] != prev_masked.shape[0]:
                # The loop changed the sequence's length: read the chosen tokens at the same indices, within it.
                at = pos.clamp(max=after.shape[0] - 1)
                conf = chosen_confidence(st, prev_masked.to(pos.device)[pos], now_masked[at], after[at].long())
            else:
                conf = chosen_confidence(st, prev_masked.to(pos.device)[pos], now_masked[pos], after[pos].long())
        self.ids.append(st['ids'])
        self.probs.append(st['probs'])
        self.conf.append(conf)
        self.ent.append(st['entropy'])
        self.pos.append(pos)
        self.blocks.append(block)
        self.ms.append((now - (self._last or now)) * 1000.0)
        self._last = now
        if self.want_saliency:
            self.sal.append(self._saliency(attentions, block))
        self.attn_blocks.append(None if attn_block is None else _np(attn_block).reshape(-1))

    def _saliency(self, attentions, block):
        """Attention each position receives, averaged over heads and over the active block's queries."""
        import torch
        T = self.T
        if attentions is None:
            return None
        if torch.is_tensor(attentions) and attentions.dim() == 2:  # [layers, keys]: watch() computed the batch's
            return [attentions]
        out = []
        for a in attentions:
            if a.dim() == 1:  # already the attention each key receives (watch() computes it per layer)
                out.append(a.float())
                continue
            a = a[self.b] if a.dim() == 4 else a  # [H, Q, K]
            if hasattr(block, 'dim'):
                block = (int(block[0]), int(block[-1]) + 1)
            q0, q1 = (block if block is not None else (self.P, a.shape[1]))
            q1 = min(q1, a.shape[1])
            out.append(a[:, q0:q1, :].float().mean(dim=(0, 1)) if q1 > q0 else a.float().mean(dim=(0, 1)))
        if out and all(o.dim() == 1 and o.shape == out[0].shape for o in out):
            return [torch.stack(out)]  # one copy to the host per step when the trace is written
        return out  # per layer, on the device; placed into [T] rows when the trace is written

    # -- writing ----------------------------------------------------------------------------------------------

    def __enter__(self):
        self._t_enter = time.perf_counter()
        return self

    def __exit__(self, kind, err, tb):
        reason = None
        if kind is not None:
            reason = 'interrupted (Ctrl+C)' if issubclass(kind, KeyboardInterrupt) else f'{kind.__name__}: {err}'
        elif self._pending is not None:
            reason = 'the final sequence was not given: call rec.finish(x) after a loop recorded with watch()'
        self._pending = None
        # A second Ctrl+C must not cut the write short: the partial trace is what the person keeps.
        old = None
        try:
            old = signal.signal(signal.SIGINT, signal.SIG_IGN)
        except ValueError:
            pass  # not the main thread
        try:
            if self.states:
                try:
                    self.save(complete=reason is None and self._complete(), reason=reason)
                except Exception:
                    if kind is None:
                        raise
                    # the decode's own error is what the person needs to see; the partial trace could not be made
        finally:
            if old is not None:
                signal.signal(signal.SIGINT, old)
        return False

    def _complete(self):
        return not bool(self.masked[-1][self.P:].any())

    def save(self, complete=True, reason=None):
        S = len(self.states) - 1
        G = self.T - self.P
        K = self.ids[0].shape[1] if self.ids else self.K
        ids = np.full((S, G, K), -1, np.int32)
        probs = np.full((S, G, K), np.nan, np.float32)
        conf = np.full((S, G), np.nan, np.float32)
        ent = np.full((S, G), np.nan, np.float32)
        if S:
            # One copy to the host per kind of record, not one per step: each copy waits for the GPU and costs a
            # launch (a 256-step decode made 1,800 of them).
            g = _joined(self.pos) - self.P
            if len(g) and (g.min() < 0 or g.max() >= G):
                raise ValueError(f'statistics were given for positions outside the generated ones ({self.P}..'
                                 f'{self.T - 1}): positions= must name generated positions')
            at = np.repeat(np.arange(S), [len(p) for p in self.pos])
            ids[at, g] = _joined(self.ids)
            probs[at, g] = _joined(self.probs)
            conf[at, g] = _joined(self.conf)
            ent[at, g] = _joined(self.ent)
        align = None
        if self.indel or len({int(x.shape[0]) for x in self.states}) > 1:
            pad = self.eos_token_id if self.eos_token_id is not None else 0
            states, masked, align = align_states([_np(x) for x in self.states], pad, [_np(m) for m in self.masked])
            masked = masked.astype(bool)
        else:
            states = _stacked(self.states).astype(np.int32, copy=False)
            masked = _stacked(self.masked)
        if self.rows in ('undecided', 'block'):
            decided = ~masked[:S, self.P:]  # before each step
            ids[decided] = -1
            probs[decided] = np.nan
            conf[decided] = np.nan
            ent[decided] = np.nan
        kinds = {tuple(b.shape) if hasattr(b, 'dim') else None for b in self.blocks}
        if S and len(kinds) == 1 and None not in kinds and len(next(iter(kinds))) == 1:
            # watch()'s query indices, one tensor per step on the device: one copy for the decode, not one per step
            v = _stacked(self.blocks)
            block = np.stack([v[:, 0], v[:, -1] + 1], axis=1).astype(np.int32)
        elif S and any(b is not None for b in self.blocks):
            def span(b):  # (start, end), or the query indices watch() inferred on the device
                if b is None:
                    return (self.P, self.T)
                if hasattr(b, 'dim'):
                    v = _np(b)
                    return (int(v[0]), int(v[-1]) + 1)
                return tuple(int(_np(v)) for v in b)
            block = np.array([span(b) for b in self.blocks], np.int32)
        else:
            block = None
        sal = None
        if self.want_saliency and S:
            Ly = max((x[0].shape[0] if len(x) == 1 and x[0].dim() == 2 else len(x) for x in self.sal if x),
                     default=0)
            sal = np.full((S, Ly, self.T), np.nan, np.float32)
            whole = [x[0] for x in self.sal if x and len(x) == 1 and x[0].dim() == 2]
            if len(whole) == S and len({tuple(v.shape) for v in whole}) == 1:  # one copy for the decode
                v = _stacked([w.float() for w in whole])[:, :, :self.T]
                sal[:, :v.shape[1], :v.shape[2]] = v
            else:
                for s, layers in enumerate(self.sal):
                    if layers and len(layers) == 1 and layers[0].dim() == 2:
                        v = _np(layers[0].float())[:, :self.T]
                        sal[s, :v.shape[0], :v.shape[1]] = v
                        continue
                    for li, v in enumerate(layers or []):
                        v = _np(v.float())[:self.T]
                        sal[s, li, :len(v)] = v
        ab = None
        if S and any(x is not None for x in self.attn_blocks):
            ab = np.stack([x if x is not None else np.zeros(self.T, np.int32) for x in self.attn_blocks])
        no_mask = self.mask_token_id is None
        data = tracefile.build(
            states, self.P, self.vocab,
            mask_token_id=self.mask_token_id,
            # padding of shorter states is neither noise nor the mask token: v3 traces say what is masked
            masked=masked if no_mask or align is not None else None,
            align=align,
            topk_ids=ids, topk_probs=probs, confidence=conf, entropy=ent,
            block=block, step_ms=np.array(self.ms, np.float32), saliency=sal, attn_block=ab,
            vocab_size=self.vocab_size, eos_token_id=self.eos_token_id,
            complete=complete, incomplete_reason=reason, nfe=self.nfe,
            wall_ms=(time.perf_counter() - self._t0) * 1000.0 if self._t0 else 0.0,
            **self.meta,
        )
        self.written = self.sink(data) if self.sink is not None else tracefile.save(self.path, data)
        return self.written
