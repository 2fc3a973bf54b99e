"""Per-row statistics of logits where they live (the GPU): the top-k candidates and their probabilities, the entropy
of the whole distribution and its log-normaliser, for the rows a step decides from.

On a GPU with torch.compile, the log-normaliser and the entropy come from one fused reduction that reads the logits
once or twice in their own dtype; eagerly, a log-softmax in float32 and its exponential write and read four float32
copies of every row (Dream-7B at batch 16: 4,096 undecided rows × 152k a step, 2.5 GB each), which is what made
recording cost 8-16 % of Dream's decode. DLENS_COMPILE=0 keeps the eager path; where compiling fails (no Triton, an
unsupported device) or its first result differs from the eager one by more than 1e-3, the eager path is used, with
one line on stderr. Both compute the same float32 quantities.
"""
import os
import sys

_compiled = {}


def _eager(r):
    """log Σ exp(x) and the entropy −Σ p log p of each row, in float32, from a log-softmax: few kernels, but four
    float32 copies of the rows written and read."""
    import torch
    lp = torch.log_softmax(r, -1, dtype=torch.float32)
    h = -torch.bmm(lp.exp().unsqueeze(1), lp.unsqueeze(2)).reshape(-1)
    i0 = r.argmax(-1, keepdim=True)
    return (r.gather(1, i0).float() - lp.gather(1, i0))[:, 0], h


def _fused(r):
    """The same as one reduction (compiled): lse = m + log Σ exp(x − m), entropy = lse − Σ p·x."""
    import torch
    x = r.float()
    m = x.amax(-1, keepdim=True)
    e = torch.exp(x - m)
    s = e.sum(-1)
    lse = m.squeeze(-1) + torch.log(s)
    return lse, lse - (e * x).sum(-1) / s


def lse_entropy(r):
    """Compiled on CUDA (once per process, dynamic in the number of rows, which changes every step), eager elsewhere,
    with DLENS_COMPILE=0, or where compiling fails. The first compiled result is checked against the eager one."""
    import torch
    if r.device.type != 'cuda' or os.environ.get('DLENS_COMPILE') == '0' or not hasattr(torch, 'compile'):
        return _eager(r)
    f = _compiled.get('cuda')
    if f is None:
        # The first compilation takes tens of seconds: say so, rather than look stalled on the first step.
        print('dlens: compiling the per-step statistics for this GPU (once per process; DLENS_COMPILE=0 skips it)',
              file=sys.stderr)
        want = _eager(r)
        try:
            f = torch.compile(_fused, dynamic=True)
            got = f(r)
            worst = max(float((g - w).abs().max()) for g, w in zip(got, want)) if r.shape[0] else 0.0
            if not worst <= 1e-3:
                raise ValueError(f'it differs from the eager statistics by {worst:.3g}')
        except Exception as e:  # noqa: BLE001 - any compiler failure: the eager path computes the same values
            print(f'dlens: compiled statistics unavailable ({e.__class__.__name__}: {str(e)[:200]}); computing them '
                  'eagerly', file=sys.stderr)
            f, got = _eager, want
        _compiled['cuda'] = f
        return got
    return f(r)


def row_stats(rows, k, mask=None):
    """ids [n, k] (int32), probs [n, k], entropy [n], lse [n] of logits rows [n, V]. `mask`: a token id that is
    never a candidate (model contract v2); probabilities stay the softmax over the whole vocabulary, as the papers'
    decoders compute confidence."""
    import torch
    n, V = rows.shape
    if not n:
        z = torch.zeros(0, device=rows.device)
        return dict(ids=torch.zeros(0, k, dtype=torch.int32, device=rows.device), probs=torch.zeros(0, k,
                    device=rows.device), entropy=z, lse=z)
    mask = mask if mask is not None and mask < V else None
    # Chunks bound the eager path's float32 temporaries (two of [chunk, V]) to 1 GiB.
    step = max(1, (1 << 27) // max(1, V))
    lse, ent = map(torch.cat, zip(*(lse_entropy(rows[r0:r0 + step]) for r0 in range(0, n, step))))
    top = torch.topk(rows, min(k + (mask is not None), V), dim=-1)
    ti, tv = top.indices, top.values
    if mask is not None:
        order = torch.argsort((ti == mask).to(torch.int8), dim=-1, stable=True)[:, :k]
        ti, tv = ti.gather(1, order), tv.gather(1, order)
    return dict(ids=ti.int(), probs=torch.exp(tv.float() - lse[:, None]), entropy=ent, lse=lse)
