"""Assemble a `.dlens` trace (format v2, docs/trace-format.md) from numpy arrays: the recorder and the importers
both end here, so every trace from Python follows one set of rules."""
import datetime
import json

import numpy as np

from . import __version__
from .safetensors_io import TraceError, encode, load, parse_json_checked, write_atomic
from .safetensors_io import is_count as _count
from .align import align_error, position_at


def commit_steps(state, masked, prompt_length, align=None):
    """Step of each position's final commit: the first state from which it keeps its final token decided (followed
    across moves when a v3 alignment is given)."""
    S1, T = state.shape
    out = np.full(T, -1, dtype=np.int32)
    for p in range(prompt_length, T):
        if masked[-1, p] or (align is not None and align[-1, p] < 0):
            continue
        c = S1 - 1
        while c > 0:
            q = position_at(align, c - 1, p)
            if q < 0 or masked[c - 1, q] or state[c - 1, q] != state[-1, p]:
                break
            c -= 1
        out[p] = c
    return out


def edits_of(state, masked, align=None):
    """Committed tokens that changed at a step (to another token, or back to noise): rows [step, position, from, to];
    with an alignment, `to` is what holds the token after the step wherever it moved (deleted tokens not followed)."""
    if align is not None:
        rows = []
        for s in range(state.shape[0] - 1):
            for p in np.nonzero((~masked[s]) & (align[s] >= 0))[0]:
                q = position_at(align, s + 1, int(align[s, p]))
                if masked[s + 1, q] or state[s, p] != state[s + 1, q]:
                    rows.append((s, p, state[s, p], state[s + 1, q]))
        return np.array(rows, np.int32).reshape(-1, 4)
    a, b = state[:-1], state[1:]
    changed = (~masked[:-1]) & ((a != b) | masked[1:])
    s, p = np.nonzero(changed)
    return np.stack([s, p, a[s, p], b[s, p]], axis=1).astype(np.int32) if len(s) else np.zeros((0, 4), np.int32)


def build(state, prompt_length, vocab, *, mask_token_id=None, masked=None, topk_ids=None, topk_probs=None,
          confidence=None, entropy=None, block=None, step_ms=None, saliency=None, attn_block=None, source=None,
          model_name='unknown', vocab_size=None, eos_token_id=None, prompt='', strategy=None, cache=None,
          block_length=None, complete=True, incomplete_reason=None, nfe=None, wall_ms=0.0, extra_manifest=None,
          align=None):
    """Bytes of a v2 trace (v3 with `align`, where each state's tokens sit in the final one: dlens.align). `state`
    [S+1, T] int; everything else optional (None: not recorded)."""
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
    if align is not None:
        align = np.asarray(align, dtype=np.int32)
        err = align_error(align, S, T) if align.shape == state.shape else 'align must have the shape of state'
        if err:
            raise ValueError(err)
    tensors = {'state': state, 'commit_step': commit_steps(state, masked_arr, P, align)}
    if masked is not None:
        tensors['masked'] = masked_arr.astype(np.uint8)
    if align is not None:
        tensors['align'] = align
    ed = edits_of(state, masked_arr, align)
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
        'format': 'dlens-trace/3' if align is not None else 'dlens-trace/2',
        'source': source or {'kind': 'python', 'tool': 'dlens-python', 'tool_version': __version__},
        'created': datetime.datetime.now(datetime.timezone.utc).isoformat(),
        'app': f'dlens-python {__version__}',
        'model': {'name': model_name, 'card': card},
        'prompt': prompt,
        'prompt_length': P,
        'gen_length': G,
        # A name alone is what most callers know (Recorder(strategy='low-confidence')): the manifest wants objects.
        'strategy': {'name': strategy, 'params': {}} if isinstance(strategy, str) else strategy or
        {'name': 'unknown', 'params': {}},
        'cache': {'mode': cache, 'params': {}} if isinstance(cache, str) else cache or {'mode': 'unknown', 'params': {}},
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


MAX_MANIFEST_CHARS = 48 * 1024 * 1024
MAX_MANIFEST_DEPTH = 32

# Tensors a trace may hold: dtype(s) and shape from (S, T, G, K, Ly), -1 any (docs/trace-format.md; the same table as
# engine/trace/trace.ts's EAGER and PER_STEP).
TENSORS = {
    'state': (('I32',), lambda S, T, G, K, L: [S + 1, T]),
    'masked': (('U8',), lambda S, T, G, K, L: [S + 1, T]),
    'commit_step': (('I32',), lambda S, T, G, K, L: [T]),
    'confidence': (('F32', 'F16'), lambda S, T, G, K, L: [S, G]),
    'entropy': (('F16',), lambda S, T, G, K, L: [S, G]),
    'block': (('I32',), lambda S, T, G, K, L: [S, 2]),
    'step_ms': (('F32',), lambda S, T, G, K, L: [S]),
    'edits': (('I32',), lambda S, T, G, K, L: [-1, 4]),
    'align': (('I32',), lambda S, T, G, K, L: [S + 1, T]),
    'topk_ids': (('I32',), lambda S, T, G, K, L: [S, G, K]),
    'topk_probs': (('F32', 'F16'), lambda S, T, G, K, L: [S, G, K]),
    'saliency': (('F16',), lambda S, T, G, K, L: [S, L, T]),
    'cached': (('U8',), lambda S, T, G, K, L: [S, L, T]),
    'attn_block': (('I32',), lambda S, T, G, K, L: [S, T]),
    'lens_ids': (('I32',), lambda S, T, G, K, L: [S, L, G]),
    'lens_probs': (('F16',), lambda S, T, G, K, L: [S, L, G]),
}
V1_REQUIRED = ('state', 'commit_step', 'topk_ids', 'topk_probs', 'confidence', 'entropy', 'block', 'step_ms',
               'saliency', 'cached')
DTYPE_CODE = {np.dtype(np.int32): 'I32', np.dtype(np.uint8): 'U8', np.dtype(np.float32): 'F32',
              np.dtype(np.float16): 'F16'}


def _int(x):
    return (type(x) is int or (type(x) is float and x.is_integer())) and abs(x) <= 2 ** 53 - 1


def _number(x):
    return type(x) in (int, float) and x == x and abs(x) != float('inf')


def _obj(x, **fields):
    return isinstance(x, dict) and all(k not in x or ok(x[k]) for k, ok in fields.items())


def _str(limit=None):
    return lambda x: isinstance(x, str) and (limit is None or len(x) <= limit)


CACHE_MODES = ('none', 'prefix', 'dual', 'sparse', 'unknown')
# The manifest's optional fields and what each must be (engine/trace/manifest.ts's schema).
OPTIONAL_FIELDS = (
    ('source', lambda x: _obj(x, tool=_str(200), tool_version=_str(200), format=_str(200), file=_str(4096)) and
     x.get('kind') in ('engine', 'python', 'import'), 'an object with kind engine, python or import'),
    ('strategy', lambda x: _obj(x) and isinstance(x.get('name'), str) and isinstance(x.get('params'), dict),
     'an object with a name and params'),
    ('cache', lambda x: _obj(x) and x.get('mode') in CACHE_MODES and isinstance(x.get('params'), dict),
     'an object with a known mode and params'),
    ('seed', lambda x: x is None or _int(x), 'a whole number or null'),
    ('output', _str(), 'a string'),
    ('nfe', _count, 'a whole number >= 0'),
    ('wall_ms', lambda x: _number(x) and x >= 0, 'a number >= 0'),
    ('task', lambda x: x is None or (_obj(x) and all(isinstance(x.get(k), str) for k in ('suite', 'id', 'reference'))
                                     and 'score' in x and (x['score'] is None or _number(x['score']))),
     'null or an object with suite, id, reference and score'),
    ('vocab', lambda x: isinstance(x, dict) and all(isinstance(v, str) for v in x.values()), 'an object of strings'),
    ('extras', lambda x: isinstance(x, dict) and all(
        isinstance(v, dict) and isinstance(v.get('label'), str) and isinstance(v.get('kind'), str)
        for v in x.values()), 'an object of {label, kind}'),
    ('attention', lambda x: x in ('bidirectional', 'block-causal'), 'bidirectional or block-causal'),
    ('complete', lambda x: type(x) is bool, 'true or false'),
    ('incomplete_reason', _str(), 'a string'),
    ('top_k', lambda x: _count(x) and x > 0, 'a whole number > 0'),
    ('block_length', lambda x: _count(x) and x > 0, 'a whole number > 0'),
    ('mask_token_id', _count, 'a token id'),
    ('eos_token_id', _count, 'a token id'),
    ('num_layers', _count, 'a whole number >= 0'),
    ('branch', lambda x: isinstance(x, dict) and isinstance(x.get('from'), str) and _count(x.get('at')) and
     isinstance(x.get('strategy'), str), 'an object with from, at and strategy'),
    ('refresh_steps', lambda x: isinstance(x, list) and all(_int(v) for v in x), 'a list of whole numbers'),
    ('no_saliency_reason', _str(500), 'a string of at most 500 characters'),
    ('peak_cache_bytes', lambda x: _number(x) and x >= 0, 'a number >= 0'),
)


def _manifest(path, meta):
    raw = meta.get('dlens')
    if raw is None:
        raise TraceError(f'{path} is a safetensors file without a dlens manifest: not a .dlens trace')
    if len(raw) > MAX_MANIFEST_CHARS:
        raise TraceError(f'{path}: the manifest is {len(raw)} characters long; dlens reads up to {MAX_MANIFEST_CHARS}')
    m = parse_json_checked(raw, MAX_MANIFEST_DEPTH, f'{path}: the manifest')
    if not isinstance(m, dict):
        raise TraceError(f'{path}: the manifest is not a JSON object')
    if m.get('format') not in ('dlens-trace/1', 'dlens-trace/2', 'dlens-trace/3'):
        raise TraceError(f'{path}: the manifest\'s format is not dlens-trace/1, /2 or /3')
    for k in ('prompt_length', 'gen_length', 'steps'):
        if not _count(m.get(k)):
            raise TraceError(f'{path}: the manifest\'s "{k}" must be a whole number >= 0')
    for k in ('created', 'app', 'prompt'):
        if not isinstance(m.get(k), str):
            raise TraceError(f'{path}: the manifest\'s "{k}" must be a string')
    model = m.get('model')
    if not isinstance(model, dict) or not isinstance(model.get('name'), str) or not isinstance(model.get('card'), dict):
        raise TraceError(f'{path}: the manifest\'s "model" must hold a name and a card')
    for k, ok, what in OPTIONAL_FIELDS:
        if k in m and not ok(m[k]):
            raise TraceError(f'{path}: the manifest\'s "{k}" must be {what}')
    return m


def check(path, m, t):
    """The trace-level rules of dlens's reader: tensors known, with the dtypes and shapes the manifest implies, token
    ids inside the vocabulary, commit steps inside the steps."""
    st = t.get('state')
    if st is None or st.ndim != 2:
        raise TraceError(f'{path}: tensor "state" is missing or not 2-dimensional')
    if m['format'] == 'dlens-trace/1':
        for name in V1_REQUIRED:
            if name not in t:
                raise TraceError(f'{path}: required tensor "{name}" is missing (format v1)')
    S, T = st.shape[0] - 1, st.shape[1]
    P = int(m['prompt_length'])
    G = T - P
    if S < 0:
        raise TraceError(f'{path}: tensor "state" has no rows')
    if G < 0:
        raise TraceError(f'{path}: prompt_length {P} exceeds the {T} positions of "state"')
    if S != m['steps']:
        raise TraceError(f'{path}: the manifest says {m["steps"]} steps but "state" holds {S}')
    if G != m['gen_length']:
        raise TraceError(f'{path}: the manifest\'s gen_length {m["gen_length"]} is not the {G} generated positions')
    layered = t.get('saliency', t.get('cached', t.get('lens_ids')))
    K = t['topk_ids'].shape[2] if 'topk_ids' in t and t['topk_ids'].ndim == 3 else 0
    L = layered.shape[1] if layered is not None and layered.ndim >= 2 else 0
    for name, a in t.items():
        if name.startswith('extra.'):
            continue
        if name not in TENSORS:
            raise TraceError(f'{path}: tensor "{name[:80]}" is not part of the trace format (extensions are extra.*)')
        dtypes, shape = TENSORS[name]
        if DTYPE_CODE.get(a.dtype.newbyteorder('=')) not in dtypes:
            raise TraceError(f'{path}: tensor "{name}" has the wrong dtype (expected {" or ".join(dtypes)})')
        want = shape(S, T, G, K, L)
        if a.ndim != len(want) or any(w != -1 and v != w for v, w in zip(a.shape, want)):
            raise TraceError(f'{path}: tensor "{name}" has shape {list(a.shape)}, expected {want}')
    V = m['model']['card'].get('vocab_size')
    V = V if _count(V) else None
    if V is not None and st.size and (st.min() < 0 or st.max() >= V):
        raise TraceError(f'{path}: "state" holds a token id outside the model\'s vocabulary')
    if 'masked' not in t and m.get('mask_token_id') is None:
        raise TraceError(f'{path}: the trace names no mask_token_id and holds no "masked" tensor')
    c = t.get('commit_step')
    if c is not None and c.size and (c.min() < -1 or c.max() > S):
        raise TraceError(f'{path}: commit_step holds a step outside -1..{S}')
    for name in ('topk_ids', 'lens_ids'):
        a = t.get(name)
        if a is not None and a.size and (a.min() < -1 or (V is not None and a.max() >= V)):
            raise TraceError(f'{path}: {name} holds a token id outside the model\'s vocabulary (-1 marks none)')
    ab = t.get('attn_block')
    if ab is not None and ab.size and ab.min() < 0:
        raise TraceError(f'{path}: attn_block holds a negative block index')
    _agree(path, m, t, S, T, P, K, L, V)


def _agree(path, m, t, S, T, P, K, L, V):
    """The manifest and the tensors tell one story (engine/trace/trace.ts: checkManifestAgainstTensors)."""
    def same(field, has, what):
        if field in m and m[field] != has:
            raise TraceError(f'{path}: the manifest\'s {field} is {m[field]} but {what} {has}')
    if 'saliency' in t or 'cached' in t:
        same('num_layers', L, 'the layered tensors hold')
    if 'saliency' in t and 'cached' in t and t['cached'].shape[1] != L:
        raise TraceError(f'{path}: tensor "cached" holds another number of layers than "saliency"')
    if 'topk_ids' in t:
        same('top_k', K, 'tensor "topk_ids" holds')
    if ('lens_ids' in t) != ('lens_probs' in t):
        raise TraceError(f'{path}: tensors "lens_ids" and "lens_probs" come together (the logit lens)')
    if 'lens_ids' in t:
        same('num_layers', L, 'tensor "lens_ids" holds')
    if ('topk_ids' in t) != ('topk_probs' in t) or ('topk_probs' in t and t['topk_probs'].shape[2] != K):
        raise TraceError(f'{path}: tensors "topk_ids" and "topk_probs" come together, with the same shape')
    mask, card = m.get('mask_token_id'), m['model']['card']
    if mask is not None and V is not None and mask >= V:
        raise TraceError(f'{path}: the manifest\'s mask_token_id is outside the model\'s vocabulary')
    if mask is not None and type(card.get('mask_token_id')) in (int, float) and card['mask_token_id'] != mask:
        raise TraceError(f'{path}: the manifest\'s mask_token_id is not the model card\'s')
    extras = m.get('extras', {})
    if not isinstance(extras, dict):
        raise TraceError(f'{path}: the manifest\'s extras must be an object')
    for name in extras:
        if name not in t:
            raise TraceError(f'{path}: the manifest\'s extras name a tensor the file does not hold')
    b = t.get('block')
    if b is not None and len(b) and not ((P <= b[:, 0]) & (b[:, 0] <= b[:, 1]) & (b[:, 1] <= T)).all():
        raise TraceError(f'{path}: a step\'s block lies outside the generated positions {P}..{T}')
    st = t['state']
    if 'masked' in t:
        masked = t['masked']
        if masked.size and masked.max() > 1:
            raise TraceError(f'{path}: masked holds a value other than 0 or 1')
    else:
        masked = (st == mask).astype(np.uint8)
    al = t.get('align')
    if al is not None:
        if m['format'] != 'dlens-trace/3':
            raise TraceError(f'{path}: tensor "align" is part of format v3, and the manifest says {m["format"]}')
        err = align_error(al, S, T)
        if err:
            raise TraceError(f'{path}: {err}')
    ed = t.get('edits')
    for s, p, a, z in (ed if ed is not None else []):
        if not (0 <= s < S and 0 <= p < T):
            raise TraceError(f'{path}: an edit names a step or position outside the trace')
        if st[s, p] != a or (al is None and st[s + 1, p] != z) or masked[s, p]:
            raise TraceError(f'{path}: an edit disagrees with "state": a committed token must change there')


def read(path):
    """(manifest, tensors) of a trace: what Python users load to analyse one. Raises dlens.TraceError (a ValueError)
    with a message for a file that is not a well-formed trace, after the checks dlens's own reader makes."""
    meta, tensors = load(path)
    m = _manifest(path, meta)
    check(path, m, tensors)
    return m, tensors
