"""Traces from other tools' records that are torch objects (so read here, where torch is): dllm's sampler
`histories` and d2Cache's `DecodeRecord`. The command line imports the file formats (`dlens import --from …`)."""
import numpy as np

from . import trace as tracefile
from .tokens import Vocab


def _rows(x, batch_index):
    a = x.detach().cpu().numpy() if hasattr(x, 'detach') else np.asarray(x)
    return a[batch_index] if a.ndim == 2 else a


def from_dllm_histories(histories, path, *, prompt_length, mask_token_id, tokenizer=None, batch_index=0,
                        eos_token_id=None, model_name='unknown', prompt='', sampler='unknown', block_length=None):
    """dllm's samplers (`return_dict=True`) give `histories`: the canvas [B, T] before the first step and after
    each one. `prompt_length` is the prompt's length in row `batch_index` (dllm pads prompts to the longest)."""
    if not histories:
        raise ValueError('histories is empty: run the sampler with return_dict=True to get them')
    try:
        state = np.stack([_rows(h, batch_index) for h in histories]).astype(np.int32)
    except ValueError as e:
        raise ValueError(f'histories hold canvases of different lengths ({e}): dlens needs one length per decode') from None
    data = tracefile.build(
        state, prompt_length, Vocab(tokenizer), mask_token_id=mask_token_id, eos_token_id=eos_token_id,
        model_name=model_name, prompt=prompt, block_length=block_length,
        strategy={'name': sampler, 'params': {}},
        source={'kind': 'import', 'tool': 'dllm', 'format': 'dllm-histories'})
    return tracefile.save(path, data)


def from_d2cache(record, path, *, mask_token_id, tokenizer=None, batch_index=0, eos_token_id=None,
                 model_name='unknown', prompt='', strategy='unknown', top_k=5):
    """d2Cache's `DecodeRecord` (src/frame.py): its frames (prompt + generated tokens per step) become the states;
    each delta's `confidence` (aligned with the generated tokens) the confidence, its `probs` (when kept) the top-k
    and entropy. Deltas that insert or delete tokens change the length: such records are refused."""
    frames = list(record.frames)
    if not frames:
        raise ValueError('the DecodeRecord has no frames')
    states = []
    for i, f in enumerate(frames):
        prompt_ids = _rows(f.prompts, batch_index)
        gen = _rows(f.generated_tokens, batch_index)
        states.append(np.concatenate([prompt_ids, gen]).astype(np.int32))
        if len(states[-1]) != len(states[0]):
            raise ValueError(f'frame {i} holds {len(states[-1])} positions, frame 0 {len(states[0])}: '
                             'records with insertions or deletions are not supported')
    P = len(_rows(frames[0].prompts, batch_index))
    state = np.stack(states)
    S, G = len(frames) - 1, state.shape[1] - P
    deltas = list(record.deltas)
    conf = ids = probs = ent = None
    if deltas and all(getattr(d, 'confidence', None) is not None for d in deltas):
        conf = np.stack([_conf_row(d.confidence, batch_index, G) for d in deltas])
    if deltas and all(getattr(d, 'probs', None) is not None for d in deltas):
        import torch
        ids, probs, ent = [], [], []
        for d in deltas:
            p = d.probs[batch_index] if d.probs.dim() == 3 else d.probs  # [G, V]
            p = p.float()
            top = torch.topk(p, min(top_k, p.shape[-1]), dim=-1)
            ids.append(top.indices.cpu().numpy().astype(np.int32))
            probs.append(top.values.cpu().numpy())
            ent.append((-(p * torch.log(p.clamp_min(1e-30))).sum(-1)).cpu().numpy())
        ids, probs, ent = np.stack(ids), np.stack(probs), np.stack(ent)
    data = tracefile.build(
        state, P, Vocab(tokenizer), mask_token_id=mask_token_id, eos_token_id=eos_token_id, model_name=model_name,
        prompt=prompt, topk_ids=ids, topk_probs=probs, confidence=conf, entropy=ent,
        block_length=getattr(record, 'block_length', None), strategy={'name': strategy, 'params': {}},
        source={'kind': 'import', 'tool': 'd2Cache', 'format': 'd2cache-decode-record'})
    return tracefile.save(path, data)


def _conf_row(c, b, G):
    a = c.detach().float().cpu().numpy() if hasattr(c, 'detach') else np.asarray(c, np.float32)
    a = a[b] if a.ndim == 2 else a
    a = a.astype(np.float32)[:G]
    a[~np.isfinite(a)] = np.nan  # d2Cache marks positions without a candidate −inf
    return a
