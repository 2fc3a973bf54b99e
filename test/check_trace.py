#!/usr/bin/env python3
"""Independent check of a .dlens trace using only numpy and json (no safetensors package, no dlens code).

Usage: python3 test/check_trace.py FILE [FILE...]; exits non-zero naming the first violated invariant."""
import json, struct, sys
import numpy as np

DT = {'I32': np.int32, 'F16': np.float16, 'F32': np.float32, 'U8': np.uint8, 'I64': np.int64, 'F64': np.float64,
      'I8': np.int8, 'U16': np.uint16, 'I16': np.int16, 'U32': np.uint32, 'BOOL': np.bool_}


def load(path):
    raw = open(path, 'rb').read()
    n = struct.unpack('<Q', raw[:8])[0]
    header = json.loads(raw[8:8 + n])
    data = raw[8 + n:]
    meta = header.pop('__metadata__')
    t = {}
    for name, h in header.items():
        b0, b1 = h['data_offsets']
        t[name] = np.frombuffer(data[b0:b1], dtype=DT[h['dtype']]).reshape(h['shape'])
    return json.loads(meta['dlens']), t


def check(path):
    m, t = load(path)
    assert m['format'] in ('dlens-trace/1', 'dlens-trace/2'), 'format'
    v1 = m['format'] == 'dlens-trace/1'
    S, P, G = m['steps'], m['prompt_length'], m['gen_length']
    T = P + G
    state = t['state']
    assert state.shape == (S + 1, T), f'state shape {state.shape} != {(S + 1, T)}'
    if 'masked' in t:
        masked = t['masked'].astype(bool)
        assert masked.shape == (S + 1, T), 'masked shape'
    else:
        masked = state == m['mask_token_id']
    assert masked[0, P:].all() or m.get('branch'), 'state[0] must be masked over the generated region'
    assert (state[:, :P] == state[0, :P]).all() and not masked[:, :P].any(), 'prompt must never change'
    if m.get('complete', True):
        assert not masked[-1, P:].any(), 'complete trace has masked positions in its last state'
    if 'commit_step' in t or v1:
        cs = t['commit_step']
        assert cs.shape == (T,) and (cs[:P] == -1).all(), 'commit_step of the prompt must be -1'
        for i in range(P, T):
            c = cs[i]
            if c > 0:
                assert masked[c - 1, i] or state[c - 1, i] != state[c, i], f'position {i}: committed at step {c} but state disagrees'
                assert not masked[c:, i].any() and (state[c:, i] == state[c, i]).all(), f'position {i}: changed after its final commit'
            elif c == -1:
                assert masked[-1, i], f'position {i}: never committed but decided at the end'
    if 'edits' in t:
        for s, p, a, b in t['edits']:
            assert not masked[s, p] and state[s, p] == a and state[s + 1, p] == b, f'edit at step {s}, position {p} disagrees with state'
    if 'topk_ids' in t or v1:
        K = t['topk_ids'].shape[2]
        assert t['topk_ids'].shape == (S, G, K) and t['topk_probs'].shape == (S, G, K), 'top-k shapes'
        pr = t['topk_probs'].astype(np.float32)
        ok = ~np.isnan(pr)
        assert ((pr[ok] >= 0) & (pr[ok] <= 1.0005)).all(), 'probabilities outside [0, 1]'
        d = np.diff(np.where(np.isnan(pr), -1, pr), axis=2)
        assert (d <= 1e-3).all(), 'top-k probabilities not sorted descending'
        assert ((t['topk_ids'] == -1) == np.isnan(pr)).all(), 'topk_ids -1 exactly where topk_probs is NaN'
    if 'confidence' in t or v1:
        conf = t['confidence'].astype(np.float32)
        assert conf.shape == (S, G), 'confidence shape'
        assert (conf[~np.isnan(conf)] <= 1.0005).all(), 'confidence above 1'
    if 'entropy' in t or v1:
        assert t['entropy'].shape == (S, G), 'entropy shape'
    if 'block' in t or v1:
        assert t['block'].shape == (S, 2) and (t['block'][:, 0] <= t['block'][:, 1]).all(), 'block must be [start, end)'
    if 'step_ms' in t or v1:
        assert t['step_ms'].shape == (S,) and (t['step_ms'] >= 0).all(), 'step_ms'
    for name in ('saliency', 'cached'):
        if name in t or v1:
            x = t[name]
            assert x.ndim == 3 and x.shape[0] == S and x.shape[2] == T, f'{name} shape'
    if 'attn_block' in t:
        assert t['attn_block'].shape == (S, T) and (t['attn_block'] >= 0).all(), 'attn_block'
    for k in m.get('extras', {}):
        assert k in t, f'manifest describes {k} but the tensor is missing'
    return {'file': path, 'format': m['format'], 'source': (m.get('source') or {'kind': 'engine'})['kind'],
            'steps': S, 'gen_length': G, 'complete': m.get('complete', True)}


if __name__ == '__main__':
    bad = 0
    for p in sys.argv[1:]:
        try:
            print(json.dumps(check(p)))
        except AssertionError as e:
            print(f'{p}: FAILED: {e}', file=sys.stderr); bad += 1
    sys.exit(1 if bad else 0)
