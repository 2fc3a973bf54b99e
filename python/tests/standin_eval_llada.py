"""A stand-in for LLaDA's eval_llada.py (ML-GSAI/LLaDA b7e6c356), which imports lm_eval, accelerate, datasets and
transformers (none installable here): the same shape, written for this test — a class whose generate_until decodes
lm-eval's requests one by one, in order, with a module-level `generate(model, prompt, steps=, gen_length=,
block_length=, temperature=, cfg_scale=, remasking=, mask_id=)` as LLaDA's generate.py defines it, then decodes and
cuts at the stop sequences. The model is a small random torch module over a character vocabulary."""
from dataclasses import dataclass, field

import numpy as np
import torch

MASK = 1
VOCAB = ['<eos>', '<mask>'] + [chr(c) for c in range(32, 127)]


def encode(text):
    return [VOCAB.index(c) if c in VOCAB else VOCAB.index('?') for c in text]


def decode(ids):
    return ''.join(VOCAB[i] for i in ids if i > 1)


class Toy(torch.nn.Module):
    """Logits from a random embedding and a random mixing of the sequence (every position sees every other)."""

    def __init__(self, seed=0):
        super().__init__()
        g = torch.Generator().manual_seed(seed)
        self.emb = torch.nn.Parameter(torch.randn(len(VOCAB), 16, generator=g))
        self.mix = torch.nn.Parameter(torch.randn(16, 16, generator=g) / 4)
        self.out = torch.nn.Parameter(torch.randn(16, len(VOCAB), generator=g))

    def forward(self, input_ids):
        h = self.emb[input_ids]
        h = h + torch.tanh(h.mean(dim=1, keepdim=True) @ self.mix)
        return type('Out', (), {'logits': h @ self.out})()


@torch.no_grad()
def generate(model, prompt, attention_mask=None, steps=16, gen_length=16, block_length=16, temperature=0.,
             cfg_scale=0., remasking='low_confidence', mask_id=MASK):
    """Low-confidence remasking, greedy, semi-autoregressive blocks: LLaDA's rule, one token per step here."""
    B, P = prompt.shape
    x = torch.full((B, P + gen_length), mask_id, dtype=torch.long)
    x[:, :P] = prompt
    per_block = steps // (gen_length // block_length)
    for b in range(gen_length // block_length):
        e = P + (b + 1) * block_length
        for _ in range(per_block):
            logits = model(x).logits
            logits[:, :, mask_id] = float('-inf')
            p = torch.softmax(logits, -1)
            x0 = p.argmax(-1)
            conf = torch.where(x == mask_id, p.max(-1).values, torch.tensor(float('-inf')))
            conf[:, e:] = float('-inf')
            for r in range(B):
                i = int(np.argmax(conf[r].numpy()))
                if conf[r, i] > float('-inf'):
                    x[r, i] = x0[r, i]
    return x


@dataclass
class Instance:
    """lm-eval's Instance (lm_eval/api/instance.py at 4e7e0d47): metadata unpacks to task_name, doc_id, repeats."""
    request_type: str
    doc: dict
    arguments: tuple
    idx: int
    metadata: tuple = (None, None, None)
    resps: list = field(default_factory=list)
    task_name: str = None
    doc_id: int = None
    repeats: int = None

    def __post_init__(self):
        self.task_name, self.doc_id, self.repeats = self.metadata

    @property
    def args(self):
        return self.arguments if isinstance(self.arguments, tuple) else (self.arguments,)


class LLaDAEvalHarness:
    def __init__(self, steps=16, gen_length=16, block_length=16):
        self.model = Toy().eval()
        self.steps, self.gen_length, self.block_length = steps, gen_length, block_length

    def generate_until(self, requests):
        out = []
        for req in requests:
            prompt = torch.tensor([encode(req.args[0])])
            answer = generate(self.model, prompt, steps=self.steps, gen_length=self.gen_length,
                              block_length=self.block_length, temperature=0, cfg_scale=0., remasking='low_confidence',
                              mask_id=MASK)
            text = decode(answer[0][prompt.shape[1]:].tolist())
            for stop in req.args[1]['until']:
                text = text.split(stop)[0]
            out.append(text)
        return out
