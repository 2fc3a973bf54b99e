"""dlens-tiny in PyTorch, rebuilt from the ONNX model dlens runs, behind the call shapes of the papers' decoding code.

The weights are read from the initialisers of assets/models/dlens-tiny/model.onnx (which keep the checkpoint's LLaDA
names; fp16 storage widened to fp32 as the graph's Cast does) into the recipe's module (the module that trained
dlens-tiny). Attention is computed with an explicit softmax: Debian's torch 1.13 has no scaled_dot_product_attention.

`TinyLLaDA` answers
- LLaDA's and Fast-dLLM's calls: `model(x, attention_mask=None, past_key_values=None, use_cache=False,
  replace_position=None)` with `.logits` and `.past_key_values` (per layer (keys, values), keys with rotary applied
  at their absolute positions); a call on `x[:, start:]` with a cache of `start` positions computes positions
  start.. (Fast-dLLM's prefix cache); `replace_position` writes the block's keys and values into the cache in place
  and attends to all of it (Fast-dLLM's dual cache), as Fast-dLLM's modeling_llada.py does;
- Sparse-dLLM's call: `model(x_or_block, position_offset, cache_state, customcache)`, doing what its LLaDABlock.attention
  does around the reference's own CustomCache (update_cache and filter_cache at cache_state 1, the block against the
  kept keys at 2);
and records every call (the whole sequence before it and the logits of the positions it computed), so the goldens
can say what each step saw.
"""
import json
import math
import os
import sys
import types

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, '..', '..', 'assets', 'checkpoints', 'dlens-tiny', 'recipe'))
from model import Config, from_llada_tensors  # noqa: E402


def load_from_onnx(model_dir):
    """The recipe's module with the weights of MODEL_DIR/model.onnx, and the model's card."""
    import onnx
    from onnx import numpy_helper
    card = json.load(open(os.path.join(model_dir, 'dlens-model.json')))
    g = onnx.load(os.path.join(model_dir, 'model.onnx'))  # reads model.onnx.data beside it
    w = {}
    for init in g.graph.initializer:
        name = init.name[:-len('__fp16')] if init.name.endswith('__fp16') else init.name
        if name.startswith('model.transformer.'):
            w[name] = torch.from_numpy(numpy_helper.to_array(init).astype('float32'))
    t = card['training']['config']
    c = Config(vocab_size=card['vocab_size'], dim=t['dim'], layers=card['num_layers'], heads=card['num_heads'],
               ffn=t['ffn'], max_positions=card['max_positions'], rope_theta=t['rope_theta'])
    return from_llada_tensors(c, w), card


class TinyLLaDA(torch.nn.Module):
    def __init__(self, m, block_len=32, keep_ratio=0.5, kernel_size=3, device='cpu'):
        super().__init__()
        self.m = m.to(device)
        self._device = torch.device(device)
        self.config = types.SimpleNamespace(n_layers=m.c.layers, block_len=block_len, keep_ratio=keep_ratio,
                                            kernel_size=kernel_size)
        self.calls = []

    @property
    def device(self):
        return self._device

    def _record(self, ids, q0, logits):
        # The decoders pass x or a view of it (x[:, start:], x[:, start:end]): its base is the whole sequence.
        whole = ids if ids._base is None else ids._base
        assert whole.shape[0] == 1 and ids.storage_offset() == q0, 'expected a view of the whole sequence'
        self.calls.append({'state': whole[0].clone().cpu(), 'q0': q0, 'logits': logits[0].detach().float().cpu()})

    def _attend(self, b, q, ka, va, x):
        B, _, Q, _ = q.shape
        p = torch.softmax(torch.matmul(q, ka.transpose(-1, -2)) / math.sqrt(self.m.c.head_dim), dim=-1)
        return b.mlp(x + b.o(torch.matmul(p, va).transpose(1, 2).reshape(B, Q, -1)))

    @torch.no_grad()
    def forward(self, input_ids, *sparse_args, attention_mask=None, past_key_values=None, use_cache=False,
                replace_position=None):
        if sparse_args:
            return self._sparse(input_ids, *sparse_args)
        Q = input_ids.shape[1]
        if replace_position is not None:
            pos = replace_position.nonzero(as_tuple=True)[1][None]
        else:
            past = 0 if past_key_values is None else past_key_values[0][0].shape[2]
            pos = torch.arange(past, past + Q, device=input_ids.device)[None]
        x = self.m.emb(input_ids)
        present = []
        for i, b in enumerate(self.m.blocks):
            q, k, v = b.qkv_heads(x, pos)
            if past_key_values is None:
                ka, va = k, v
            elif replace_position is None:
                ka, va = torch.cat([past_key_values[i][0], k], 2), torch.cat([past_key_values[i][1], v], 2)
            else:
                ka, va = past_key_values[i]
                ka[:, :, pos[0]] = k
                va[:, :, pos[0]] = v
            present.append((ka, va))
            x = self._attend(b, q, ka, va, x)
        logits = self.m.head(x)
        self._record(input_ids, int(pos[0, 0]), logits)
        return types.SimpleNamespace(logits=logits, past_key_values=tuple(present) if use_cache else None)

    def _sparse(self, ids, position_offset, cache_state, customcache):
        Q = ids.shape[1]
        q0 = position_offset if cache_state == 2 else 0
        pos = torch.arange(q0, q0 + Q, device=ids.device)[None]
        x = self.m.emb(ids)
        for i, b in enumerate(self.m.blocks):
            q, k, v = b.qkv_heads(x, pos)
            if cache_state == 1:
                customcache.update_cache(i, k, v)
                customcache.filter_cache(i, q[:, :, position_offset:position_offset + self.config.block_len, :],
                                         position_offset, self.config.block_len)
            elif cache_state == 2:
                cached = customcache.get_cache(i)
                k, v = torch.cat([cached['k'], k], 2), torch.cat([cached['v'], v], 2)
            x = self._attend(b, q, k, v, x)
        logits = self.m.head(x)
        self._record(ids, q0, logits)
        return types.SimpleNamespace(logits=logits)
