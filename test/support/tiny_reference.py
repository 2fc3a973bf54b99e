#!/usr/bin/env python3
"""dlens-tiny's predictions from the PyTorch module that trained it (assets/checkpoints/dlens-tiny/recipe/model.py),
loaded from the bundled LLaDA-format checkpoint: a full pass over the ids, and the block [P, P + N) passed alone
against the keys and values of every other position (dual cache). Prints JSON {"full": [[...]], "cached": [[...]]}.

    python3 test/support/tiny_reference.py CHECKPOINT_DIR '[ids...]' P N
"""
import json
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..', 'assets', 'checkpoints',
                                'dlens-tiny', 'recipe'))
import torch  # noqa: E402
from model import ContractModel, load_checkpoint  # noqa: E402

ckpt, ids, P, N = sys.argv[1], json.loads(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
cm = ContractModel(load_checkpoint(ckpt)).eval()
c = cm.m.c
T = len(ids)
x = torch.tensor([ids])
pos = torch.arange(T)[None]
empty = torch.zeros(c.layers, 1, c.heads, 0, c.head_dim)
with torch.no_grad():
    full, keys, values, _ = cm(x, pos, empty, empty, torch.ones(1, T))
    others = [p for p in range(T) if p < P or p >= P + N]
    cached, _, _, _ = cm(x[:, P:P + N], pos[:, P:P + N], keys[:, :, :, others], values[:, :, :, others],
                         torch.ones(1, N))
print(json.dumps({'full': full[0].tolist(), 'cached': cached[0].tolist()}))
