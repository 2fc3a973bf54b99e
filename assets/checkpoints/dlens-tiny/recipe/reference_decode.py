#!/usr/bin/env python3
"""Python reference decode (LLaDA low-confidence remasking, greedy), independent of the TypeScript engine.

Loads the checkpoint (fp16 weights, the same values the ONNX graph holds) into the PyTorch model, decodes a few
prompts one token per step and writes the committed (position, token) of every step:
  python3 reference_decode.py CKPT TOKEN_IDS.json OUT.json
CKPT: a LLaDA-format checkpoint folder (assets/checkpoints/dlens-tiny) or a training ckpt.pt.
TOKEN_IDS.json: [{"prompt": str, "ids": [prompt token ids]}, ...] (tokenised by the engine's tokenizer),
so that this script needs only torch. test/integration/golden.test.ts checks the engine against OUT.json.
"""
import json, os, sys
import torch
from model import Config, DiffusionLM, ContractModel, load_checkpoint

MASK, EOS = 1, 0


def full_logits(cm, x, cfg):
    T = x.shape[1]
    empty = torch.zeros(cfg.layers, 1, cfg.heads, 0, cfg.head_dim)
    return cm(x, torch.arange(T)[None], empty, empty, torch.ones(1, T))[0][0]


def decode(cm, cfg, ids, gen, block, steps):
    P = len(ids)
    x = torch.tensor([ids + [MASK] * gen])
    per_block = steps // (gen // block)
    out = []
    for b in range(gen // block):
        s, e = P + b * block, P + (b + 1) * block
        n = int((x[0, s:e] == MASK).sum())
        sched = [n // per_block + (1 if i < n % per_block else 0) for i in range(per_block)]
        for k in range(per_block):
            with torch.no_grad():
                lg = full_logits(cm, x, cfg)
            lg[:, MASK] = float('-inf')
            p = torch.softmax(lg.double(), -1)
            conf, tok = p.max(-1)
            cand = torch.zeros_like(conf, dtype=torch.bool)
            cand[s:e] = x[0, s:e] == MASK
            conf = torch.where(cand, conf, torch.full_like(conf, -1.0))
            order = sorted(range(len(conf)), key=lambda i: (-float(conf[i]), i))[: sched[k]]
            step = []
            for i in order:
                x[0, i] = tok[i]
                step.append([i, int(tok[i]), round(float(conf[i]), 6)])
            out.append(step)
    return out


def main():
    ckpt, ids_path, out_path = sys.argv[1:4]
    if os.path.isdir(ckpt):
        m = load_checkpoint(ckpt)
    else:
        sd = torch.load(ckpt, map_location='cpu')
        m = DiffusionLM(Config(vocab_size=sd['emb.weight'].shape[0]))
        m.load_state_dict({k: v.float() for k, v in sd.items()})
    cfg = m.c
    cm = ContractModel(m.eval())
    cases = json.load(open(ids_path))
    res = []
    for c in cases:
        res.append({**c, 'gen_length': c.get('gen_length', 32), 'block_length': c.get('block_length', 16),
                    'steps': c.get('steps', 32),
                    'commits': decode(cm, cfg, c['ids'], c.get('gen_length', 32), c.get('block_length', 16), c.get('steps', 32))})
    json.dump(res, open(out_path, 'w'), separators=(',', ':'))


if __name__ == '__main__':
    main()
