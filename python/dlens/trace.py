"""Assemble a `.dlens` trace (format v2, docs/trace-format.md) from numpy arrays: the recorder and the importers
both end here, so every trace from Python follows one set of rules."""
import datetime
import json

import numpy as np

from . import __version__
from .safetensors_io import encode, write_atomic, load


def commit_steps(state, masked, prompt_length):
    """Step of each position's final commit: the first state from which it keeps its final token decided."""
    S1, T = state.shape
    out = np.full(T, -1, dtype=np.int32)
    for p in range(prompt_length, T):
        if masked[-1, p]:
            continue
        c = S1 - 1
        while c > 0 and not masked[c - 1, p] and state[c - 1, p] == state[-1, p]:
            c -= 1
        out[p] = c
    return out


def edits_of(state, masked):
    """Committed tokens that changed at a step (to another token, or back to noise): rows [step, position, from, to]."""
    a, b = state[:-1], state[1:]
    changed = (~masked[:-1]) & ((a != b) | masked[1:])
    s, p = np.nonzero(changed)
    return np.stack([s, p, a[s, p], b[s, p]], axis=1).astype(np.int32) if len(s) else np.zeros((0, 4), np.int32)


def build(state, prompt_length, vocab, *, mask_token_id=None, masked=None, topk_ids=None, topk_probs=None,
          confidence=None, entropy=None, block=None, step_ms=None, saliency=None, attn_block=None, source=None,
          model_name='unknown', vocab_size=None, eos_token_id=None, prompt='', strategy=None, cache=None,
          block_length=None, complete=True, incomplete_reason=None, nfe=None, wall_ms=0.0, extra_manifest=None):
    """Bytes of a v2 trace. `state` [S+1, T] int; everything else optional (None: not recorded)."""
    state = np.asarray(state, dtype=np.int32)
    if state.ndim != 2 or state.shape[0] < 1:
        raise ValueError(f'state must be [steps + 1, positions], got shape {state.shape}')
    S, T = state.shape[0] - 1, state.shape[1]
    P = int(prompt_length)
    if not 0 <= P <= T:
        raise ValueError(f'prompt_length {P} is outside 0..{T} (the sequence length)')
    if masked is None:
        if mask_token_id is None:
            raise ValueError('give mask_token_id, or a masked array for a model without a mask token')
        masked_arr = state == mask_token_id
    else:
        masked_arr = np.asarray(masked, dtype=bool)
        if masked_arr.shape != state.shape:
            raise ValueError(f'masked has shape {masked_arr.shape}, state {state.shape}: they must agree')
    G = T - P
    tensors = {'state': state, 'commit_step': commit_steps(state, masked_arr, P)}
    if masked is not None:
        tensors['masked'] = masked_arr.astype(np.uint8)
    ed = edits_of(state, masked_arr)
    if len(ed):
        tensors['edits'] = ed
    K = 0
    if topk_ids is not None:
        topk_ids = np.asarray(topk_ids, dtype=np.int32)
        K = topk_ids.shape[2]
        if topk_ids.shape != (S, G, K):
            raise ValueError(f'topk_ids has shape {topk_ids.shape}, expected {(S, G, K)}')
        tensors['topk_ids'] = topk_ids
        tensors['topk_probs'] = np.asarray(topk_probs, dtype=np.float32)
    # confidence and top-k probabilities in float32 (trace v2): 0.9999996 must not round to 1; entropy in float16
    for name, x, shape, dt in (('confidence', confidence, (S, G), np.float32), ('entropy', entropy, (S, G), np.float16)):
        if x is not None:
            x = np.asarray(x, dtype=dt)
            if x.shape != shape:
                raise ValueError(f'{name} has shape {x.shape}, expected {shape}')
            tensors[name] = x
    if block is not None:
        tensors['block'] = np.asarray(block, dtype=np.int32).reshape(S, 2)
    if step_ms is not None:
        tensors['step_ms'] = np.asarray(step_ms, dtype=np.float32).reshape(S)
    Ly = 0
    if saliency is not None:
        saliency = np.asarray(saliency, dtype=np.float16)
        Ly = saliency.shape[1]
        tensors['saliency'] = saliency
    if attn_block is not None:
        tensors['attn_block'] = np.asarray(attn_block, dtype=np.int32).reshape(S, T)
    ids = set(np.unique(state).tolist())
    if topk_ids is not None:
        ids |= set(np.unique(topk_ids).tolist())
    ids.discard(-1)
    if vocab_size is None:
        vocab_size = max(ids) + 1 if ids else 1
    final = state[-1, P:]
    end = next((i for i, t in enumerate(final) if eos_token_id is not None and t == eos_token_id), len(final))
    out_ids = [t for t, m in zip(final[:end], masked_arr[-1, P:P + end]) if not m]
    card = {'vocab_size': int(vocab_size)}
    if mask_token_id is not None:
        card['mask_token_id'] = int(mask_token_id)
    if eos_token_id is not None:
        card['eos_token_id'] = int(eos_token_id)
    manifest = {
        'format': 'dlens-trace/2',
        'source': source or {'kind': 'python', 'tool': 'dlens-python', 'tool_version': __version__},
        'created': datetime.datetime.now(datetime.timezone.utc).isoformat(),
        'app': f'dlens-python {__version__}',
        'model': {'name': model_name, 'card': card},
        'prompt': prompt,
        'prompt_length': P,
        'gen_length': G,
        'strategy': strategy or {'name': 'unknown', 'params': {}},
        'cache': cache or {'mode': 'unknown', 'params': {}},
        'seed': None,
        'output': vocab.join(out_ids),
        'steps': S,
        'nfe': int(S if nfe is None else nfe),
        'wall_ms': float(wall_ms),
        'vocab': {str(i): vocab.text(i) for i in sorted(ids)},
        'extras': {},
        'complete': bool(complete),
    }
    if not complete:
        manifest['incomplete_reason'] = incomplete_reason or 'incomplete'
    if K:
        manifest['top_k'] = K
    if Ly:
        manifest['num_layers'] = Ly
    if block_length:
        manifest['block_length'] = int(block_length)
    if mask_token_id is not None:
        manifest['mask_token_id'] = int(mask_token_id)
    if eos_token_id is not None:
        manifest['eos_token_id'] = int(eos_token_id)
    if attn_block is not None:
        manifest['attention'] = 'block-causal'
    manifest.update(extra_manifest or {})
    return encode(tensors, {'dlens': json.dumps(manifest, ensure_ascii=False)})


def save(path, data):
    return write_atomic(path, data)


def read(path):
    """(manifest, tensors) of a trace: what Python users load to analyse one."""
    meta, tensors = load(path)
    if 'dlens' not in meta:
        raise ValueError(f'{path} is a safetensors file without a dlens manifest: not a .dlens trace')
    return json.loads(meta['dlens']), tensors
