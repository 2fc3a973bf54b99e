"""Writes a large trace in format v1 with numpy alone, as a researcher's own script would (issue 33, item 15).

32 layers x 4,096 positions x 2,048 steps by default (about 1.1 GB): every v1 tensor, F16 statistics (v1 stored
confidence and top-k probabilities in float16), written a step at a time so that memory stays small. Values are
plausible, not a model's: two positions decided per step in a shuffled order within blocks of 32. The same decode
bench/large-trace.ts writes in v2 (same shape and schedule), so bench/ui.ts compares the two formats side by side.

    python3 bench/large_trace_v1.py OUT.dlens [--layers 32] [--positions 4096] [--steps 2048]
"""

import argparse
import json
import os
import struct
import sys

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'python'))
from dlens.safetensors_io import PathRefused, write_target  # noqa: E402

P, V, MASK, EOS, K = 96, 126464, 126336, 126081, 5


def write(out, layers=32, positions=4096, steps=2048):
    Ly, T, S = layers, positions, steps
    G = T - P
    rng = np.random.default_rng(12345)
    order = np.concatenate([b + rng.permutation(min(32, G - b)) for b in range(0, G, 32)])
    per = -(-G // S)
    commit_at = np.empty(G, np.int32)
    commit_at[order] = np.minimum(S, np.arange(G) // per + 1)
    g = np.arange(G)
    token_of = 1000 + (g * 7919) % 30000
    prompt = 500 + np.arange(P, dtype=np.int32)

    def block(s):
        start = P + (int(order[min(G - 1, 2 * s)]) >> 5 << 5)
        return np.array([start, min(T, start + 32)], np.int32)

    def undecided(s):
        return commit_at > s

    def confidence(s):
        c = 0.2 + 0.8 * np.minimum(1, s / commit_at)
        return np.where(undecided(s), c, np.nan).astype(np.float16)

    def entropy(s):
        return np.where(undecided(s), 3 * (1 - s / commit_at), np.nan).astype(np.float16)

    lp = np.arange(T)[None, :]
    ll = np.arange(Ly)[:, None]

    def saliency(s):
        return ((1 + np.sin(lp / 37 + ll + s / 50)) / T).astype(np.float16)

    def cached(s):
        return (lp < P + 2 * s - 512 * (ll % 3)).astype(np.uint8)

    def state(s):
        return np.concatenate([prompt, np.where(commit_at <= s, token_of, MASK).astype(np.int32)])

    kk = np.arange(K)[None, :]

    def topk_ids(s):
        ids = np.where(kk == 0, token_of[:, None], 2000 + (g[:, None] + kk * 13 + s) % 500)
        return np.where(undecided(s)[:, None], ids, -1).astype(np.int32)

    def topk_probs(s):
        p = (0.2 + 0.8 * np.minimum(1, s / commit_at))[:, None] / (kk + 1)
        return np.where(undecided(s)[:, None], p, np.nan).astype(np.float16)

    commit_step = np.concatenate([np.full(P, -1, np.int32), commit_at])
    # name, dtype, shape, rows (each a function of the step, or one array)
    tensors = [
        ('block', 'I32', [S, 2], block, S),
        ('cached', 'U8', [S, Ly, T], cached, S),
        ('commit_step', 'I32', [T], lambda _: commit_step, 1),
        ('confidence', 'F16', [S, G], confidence, S),
        ('entropy', 'F16', [S, G], entropy, S),
        ('saliency', 'F16', [S, Ly, T], saliency, S),
        ('state', 'I32', [S + 1, T], state, S + 1),
        ('step_ms', 'F32', [S], lambda s: np.array([40 + s % 7], np.float32), S),
        ('topk_ids', 'I32', [S, G, K], topk_ids, S),
        ('topk_probs', 'F16', [S, G, K], topk_probs, S),
    ]
    ids = set(prompt.tolist()) | {MASK} | set(token_of.tolist()) | set(range(2000, 2500))
    manifest = {
        'format': 'dlens-trace/1',
        'created': '2025-06-01T00:00:00Z',
        'app': 'a numpy script (bench/large_trace_v1.py)',
        'model': {'name': 'synthetic (LLaDA-8B vocabulary)',
                  'card': {'vocab_size': V, 'mask_token_id': MASK, 'eos_token_id': EOS}},
        'prompt': 'a synthetic v1 trace of issue 33 item 15',
        'prompt_length': P, 'gen_length': G,
        'strategy': {'name': 'synthetic', 'params': {}}, 'cache': {'mode': 'sparse', 'params': {}},
        'seed': 0, 'output': '', 'steps': S, 'nfe': S, 'wall_ms': S * 43,
        'vocab': {str(i): '<|mdm_mask|>' if i == MASK else f' t{i}' for i in sorted(ids)},
        'extras': {}, 'complete': True, 'top_k': K, 'block_length': 32,
        'mask_token_id': MASK, 'eos_token_id': EOS, 'num_layers': Ly,
    }
    size = {'I32': 4, 'F16': 2, 'U8': 1, 'F32': 4}
    header = {'__metadata__': {'dlens': json.dumps(manifest)}}
    off = 0
    for name, dt, shape, _, _ in tensors:
        n = int(np.prod(shape)) * size[dt]
        header[name] = {'dtype': dt, 'shape': shape, 'data_offsets': [off, off + n]}
        off += n
    text = json.dumps(header).encode()
    text += b' ' * (-len(text) % 8)
    target = write_target(out)  # --out's rules: through a link to a file, never over a folder, device or pipe
    tmp = f'{target}.tmp-{os.getpid()}'
    with open(tmp, 'wb') as f:
        f.write(struct.pack('<Q', len(text)))
        f.write(text)
        for _, _, _, row, n in tensors:
            for s in range(n):
                f.write(np.ascontiguousarray(row(s)).tobytes())
    os.replace(tmp, target)
    return 8 + len(text) + off


if __name__ == '__main__':
    a = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    a.add_argument('out')
    a.add_argument('--layers', type=int, default=32)
    a.add_argument('--positions', type=int, default=4096)
    a.add_argument('--steps', type=int, default=2048)
    o = a.parse_args()
    if min(o.layers, o.positions, o.steps) < 1 or o.positions <= P:
        a.error(f'--layers and --steps must be at least 1, --positions more than the {P} prompt positions')
    try:
        n = write(o.out, o.layers, o.positions, o.steps)
    except PathRefused as e:
        print(e, file=sys.stderr)
        sys.exit(2)
    print(f'{n / 2**30:.2f} GiB written to {o.out}')
