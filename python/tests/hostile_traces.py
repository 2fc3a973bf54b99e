"""Seeded hostile `.dlens` files for the Python reader's fuzz (test_reader_fuzz.py) and for the check that the
TypeScript reader and the Python reader give the same verdict on each (test/integration/reader-agreement.test.ts runs
`python3 python/tests/hostile_traces.py OUT_DIR N`).

A valid trace (numpy alone, through dlens.trace.build) is changed in one or two places: the 8-byte header length, the
header JSON (dtypes, shapes, offsets, duplicate keys, nesting, metadata), the manifest (counts, ids, nesting), tensor
values (token ids, commit steps, masks, blocks, edits), or the bytes themselves (flips, truncation).
"""
import json
import os
import random
import struct
import sys

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..'))
from dlens import trace as tracefile  # noqa: E402
from dlens.tokens import Vocab  # noqa: E402


def base_trace():
    """A small valid trace: 6 steps over 4 prompt and 8 generated positions, top-3, mask id 1, vocabulary 40."""
    rng = np.random.default_rng(1)
    S, P, G, K = 6, 4, 8, 3
    final = rng.integers(2, 40, size=P + G)
    state = np.tile(final, (S + 1, 1))
    for s in range(S + 1):
        undecided = P + np.arange(G)[np.arange(G) >= s * G // S]
        state[s, undecided] = 1
    ids = rng.integers(2, 40, size=(S, G, K))
    probs = np.sort(rng.random((S, G, K)), axis=-1)[..., ::-1].astype(np.float32)
    return tracefile.build(state, P, Vocab(None), mask_token_id=1, topk_ids=ids, topk_probs=probs,
                           confidence=probs[..., 0], entropy=rng.random((S, G)), block=[[P, P + G]] * S,
                           step_ms=np.ones(S), vocab_size=40, eos_token_id=0, block_length=8)


def split(raw):
    n = struct.unpack('<Q', raw[:8])[0]
    return json.loads(raw[8:8 + n]), raw[8 + n:]


def join(header, data, raw_header=None, length=None):
    text = raw_header if raw_header is not None else json.dumps(header).encode()
    return struct.pack('<Q', len(text) if length is None else length) + text + data


HOSTILE = [None, -1, 1.5, '4', [], {}, True, 2 ** 53, 2 ** 64, 1e300, 0]


def mutate(raw, rng):
    header, data = split(raw)
    names = [k for k in header if k != '__metadata__']
    kind = rng.randrange(9)
    if kind == 0:  # the header length
        return join(header, data, length=rng.choice([0, 1, len(raw), 2 ** 63, 7, len(raw) - 9]))
    if kind == 1:  # the header text
        return join(header, data, raw_header=rng.choice([b'null', b'[]', b'"x"', b'{', b'[' * 100_000, b'\xff\xfe{}',
                                                           b'{"a": 1, "a": 2}', b'root:x:0:0:root']))
    if kind == 2:  # one tensor entry
        name = rng.choice(names)
        e = header[name]
        field = rng.choice(['dtype', 'shape', 'data_offsets', None])
        if field is None:
            header[name] = rng.choice(HOSTILE)
        elif field == 'dtype':
            e['dtype'] = rng.choice(['F64', 'I64', 'U8', 'F16', 'I32', 'F32', 'Q4', 5, None])
        elif field == 'shape':
            e['shape'] = rng.choice([[-1], [1.5], ['4'], None, [2 ** 40], [], list(reversed(e['shape'])),
                                     e['shape'] + [1], [x + 1 for x in e['shape']]])
        else:
            b0, b1 = e['data_offsets']
            e['data_offsets'] = rng.choice([{}, [b0 + 0.5, b1 + 0.5], [-b1, -b0], [b1, b0], [0, b1 - b0],
                                            [b0, b1 + 4], [b0 + 4, b1 + 4], [b0], [float(b0), float(b1)]])
        return join(header, data)
    if kind == 3:  # metadata
        header['__metadata__'] = rng.choice([None, [], {'dlens': 5}, {'x': 'y'}, {'dlens': header['__metadata__']['dlens'],
                                                                                   'n': 1}])
        return join(header, data)
    if kind == 4:  # the manifest
        m = json.loads(header['__metadata__']['dlens'])
        field = rng.choice(['steps', 'prompt_length', 'gen_length', 'format', 'mask_token_id', 'model', 'top_k',
                            'extras', 'created', 'prompt', 'num_layers'])
        m[field] = rng.choice(HOSTILE + [m.get(field, 0) + 1 if isinstance(m.get(field), int) else 3])
        text = json.dumps(m)
        if rng.random() < 0.1:
            text = '{"format": "dlens-trace/2", "format": "dlens-trace/2"' + text[1:]
        if rng.random() < 0.05:
            text = text[:-1] + ', "deep": ' + '[' * 40 + ']' * 40 + '}'
        header['__metadata__']['dlens'] = text
        return join(header, data)
    if kind == 5:  # tensor values (the header stays right)
        name = rng.choice([n for n in names if header[n]['dtype'] in ('I32', 'U8')])
        b0, b1 = header[name]['data_offsets']
        buf = bytearray(data)
        size = 4 if header[name]['dtype'] == 'I32' else 1
        if b1 > b0:
            at = b0 + size * rng.randrange((b1 - b0) // size)
            v = rng.choice([-5, -1, 2, 39, 40, 10 ** 6, 2 ** 31 - 1]) if size == 4 else rng.choice([2, 255])
            buf[at:at + size] = v.to_bytes(size, 'little', signed=size == 4)
        return join(header, bytes(buf))
    if kind == 6:  # byte flips anywhere
        buf = bytearray(raw)
        for _ in range(rng.randrange(1, 5)):
            buf[rng.randrange(len(buf))] = rng.randrange(256)
        return bytes(buf)
    if kind == 7:  # truncated or grown
        return raw[:rng.randrange(len(raw))] if rng.random() < 0.7 else raw + b'\0' * rng.randrange(1, 9)
    # an unknown tensor, a dropped one, or an extra.* tensor
    op = rng.randrange(3)
    if op == 0:
        del header[rng.choice(names)]
    elif op == 1:
        header['bogus'] = dict(header[names[0]])
    else:
        header['extra.x'] = dict(header[names[0]])
    return join(header, data)


def cases(n, seed=20261203):
    rng = random.Random(seed)
    raw = base_trace()
    for i in range(n):
        out = raw
        for _ in range(1 if rng.random() < 0.8 else 2):
            try:
                out = mutate(out, rng)
            except (ValueError, KeyError, TypeError, IndexError, RecursionError, struct.error):
                pass  # the first change already broke what the second would edit: keep the first
        yield i, out


if __name__ == '__main__':
    folder, n = sys.argv[1], int(sys.argv[2])
    os.makedirs(folder, exist_ok=True)
    for i, b in cases(n):
        with open(os.path.join(folder, f'{i:05d}.dlens'), 'wb') as f:
            f.write(b)
