#!/usr/bin/env python3
"""dlens-tiny decoded in PyTorch by a LLaDA-style low-confidence loop (greedy, blocks, a fixed number of tokens per
step as LLaDA's generate.py schedules them), recorded by the Python recorder through dlens.watch: the loop is not
edited. The engine's test decodes the same ids with the same rule and compares the two traces.

    python3 test/support/record_tiny.py CHECKPOINT_DIR '[prompt ids]' GEN BLOCK STEPS OUT.dlens [--interrupt-at N]
"""
import json
import os
import sys
import types

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, '..', '..', 'python'))
sys.path.insert(0, os.path.join(HERE, '..', '..', 'assets', 'checkpoints', 'dlens-tiny', 'recipe'))
import numpy as np  # noqa: E402
import torch  # noqa: E402
import dlens  # noqa: E402
from model import ContractModel, load_checkpoint  # noqa: E402

MASK, EOS = 1, 0


class HFStyle(torch.nn.Module):
    """The recipe's module behind the call shape decoding loops use: model(x).logits. (Its contract pass, which
    Debian's torch 1.13 runs: the training pass needs scaled_dot_product_attention.)"""

    def __init__(self, m):
        super().__init__()
        self.m = ContractModel(m)

    def forward(self, input_ids):
        B, T = input_ids.shape
        c = self.m.m.c
        pos = torch.arange(T)[None].expand_as(input_ids)
        empty = torch.zeros(c.layers, B, c.heads, 0, c.head_dim)
        logits, _, _, _ = self.m(input_ids, pos, empty, empty, torch.ones(B, T))
        return types.SimpleNamespace(logits=logits)


def num_transfer_tokens(n, steps):
    base, rem = divmod(n, steps)
    return [base + (1 if i < rem else 0) for i in range(steps)]


@torch.no_grad()
def generate(model, prompt, steps, gen_length, block_length, interrupt_at=None):
    P = prompt.shape[1]
    x = torch.full((1, P + gen_length), MASK, dtype=torch.long)
    x[:, :P] = prompt
    blocks = gen_length // block_length
    per_block = steps // blocks
    calls = 0
    for b in range(blocks):
        s, e = P + b * block_length, P + (b + 1) * block_length
        sched = num_transfer_tokens(int((x[0, s:e] == MASK).sum()), per_block)
        for i in range(per_block):
            if interrupt_at is not None and calls == interrupt_at:
                raise KeyboardInterrupt
            calls += 1
            mask_index = x[0] == MASK
            logits = model(x).logits[0].float()
            logits[:, MASK] = float('-inf')  # the mask token is never a candidate (dlens's model contract v2)
            x0 = logits.argmax(-1)
            p = 1.0 / torch.exp(logits - logits.max(-1, keepdim=True).values).sum(-1)  # top-1 probability, 1 / s
            conf = torch.where(mask_index, p, torch.full_like(p, float('-inf')))
            conf[e:] = float('-inf')
            c = conf.numpy()
            order = np.lexsort((np.arange(len(c)), -c))[:sched[i]]  # highest first, leftmost on ties
            x[0, order] = x0[order]
    return x


if __name__ == '__main__':
    ckpt, ids, gen, block, steps, out = sys.argv[1], json.loads(sys.argv[2]), *map(int, sys.argv[3:6]), sys.argv[6]
    interrupt = int(sys.argv[sys.argv.index('--interrupt-at') + 1]) if '--interrupt-at' in sys.argv else None
    model = HFStyle(load_checkpoint(ckpt)).eval()
    prompt = torch.tensor([ids])
    tok = os.path.join(ckpt, 'tokenizer.json')
    try:
        with dlens.Recorder(out, mask_token_id=MASK, eos_token_id=EOS, prompt_length=len(ids), tokenizer=tok,
                            top_k=5, model_name='dlens-tiny', block_length=block,
                            strategy={'name': 'llada-low-confidence', 'params': {}}) as rec:
            with dlens.watch(model, rec):
                x = generate(model, prompt, steps, gen, block, interrupt)
            rec.finish(x)
    except KeyboardInterrupt:
        print(json.dumps({'interrupted': True}))
        sys.exit(130)
    print(json.dumps({'path': out, 'steps': len(rec.states) - 1}))
