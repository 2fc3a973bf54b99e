"""Stand-ins for dllm's evaluation harness and samplers (ZHZisZZ/dllm ca176752: dllm/core/eval/base.py,
dllm/core/samplers/mdlm.py, dllm/pipelines/dream/sampler.py), whose packages import lm_eval, accelerate and
transformers (none installable here): the same interfaces and canvas layouts, written for these tests.

- The harness's generate_until tokenizes each request's context and calls
  `self.sampler.sample(inputs=[1-D prompt tensors], config=self.sampler_config, return_dict=False)` once per batch.
- MDLMSampler (LLaDA, A2D): each prompt at the left of its row, its `max_new_tokens` masks right after it, EOS after
  that (rows with shorter prompts end in EOS); blocks of `block_size` start at each row's own prompt end; the model
  is called `model(x, attention_mask=...)`; `right_shift_logits` shifts the logits right by one.
- DreamSampler: every row's masks at the right end, prompts left-padded with EOS; `model(x, attention_mask, pos_id)`,
  logits shifted right by one, then `generation_logits_hook_func(i, x, logits)`; after each step
  `generation_tokens_hook_func(i, x, logits)` (and once with None before the loop); neg-entropy confidence.

`load_real(src)` loads dllm's own MDLMSampler and DreamSampler from a checkout (`DLENS_DLLM_SRC`) when one is given,
with stand-ins only for the imports that cannot load here (transformers' type names, Dream's top-k/top-p filters).
"""
import importlib.util
import os
import sys
import types
from dataclasses import dataclass

import torch

from standin_eval_llada import MASK, Toy, decode, encode

EOS = 0


class Tokenizer:
    mask_token_id, eos_token_id, bos_token_id = MASK, EOS, EOS

    def __call__(self, text):
        return {'input_ids': encode(text)}


class Model(Toy):
    """The stand-in LM with the call shapes the samplers use; padding (attention mask 0) is not seen, so a row of a
    padded batch decodes as its prompt alone (position ids: it has no positions)."""

    device = torch.device('cpu')

    def forward(self, input_ids, attention_mask=None, position_ids=None):
        h = self.emb[input_ids]
        seen = torch.ones(input_ids.shape) if attention_mask is None else attention_mask.float()
        mean = (h * seen[..., None]).sum(1, keepdim=True) / seen.sum(1, keepdim=True)[..., None]
        return type('Out', (), {'logits': (h + torch.tanh(mean @ self.mix)) @ self.out})()


@dataclass
class MDLMSamplerConfig:
    max_new_tokens: int = 8
    block_size: int = 4
    steps: int = 8
    right_shift_logits: bool = False
    return_dict: bool = False


@dataclass
class MDLMSampler:
    model: object
    tokenizer: object

    @torch.no_grad()
    def sample(self, inputs, config=None, **kwargs):
        c = config or MDLMSamplerConfig()
        lens = [len(p) for p in inputs]
        G, bs = c.max_new_tokens, c.block_size
        T = G + max(lens)
        x = torch.full((len(inputs), T), self.tokenizer.eos_token_id, dtype=torch.long)
        for i, p in enumerate(inputs):
            x[i, :lens[i]] = torch.as_tensor(p)
            x[i, lens[i]:lens[i] + G] = MASK
        am = (torch.arange(T)[None] < torch.tensor([n + G for n in lens])[:, None]).long()
        per_block = c.steps // (G // bs)
        for b in range(G // bs):
            for _ in range(per_block):
                logits = self.model(x, attention_mask=am).logits
                if c.right_shift_logits:
                    logits = torch.cat([logits[:, :1], logits[:, :-1]], 1)
                p = torch.softmax(logits, -1)
                conf, x0 = p.max(-1)
                conf = torch.where(x == MASK, conf, torch.tensor(-float('inf')))
                for j in range(len(inputs)):
                    conf[j, lens[j] + (b + 1) * bs:] = -float('inf')
                    k = min(bs // per_block, int((conf[j] > -float('inf')).sum()))
                    sel = torch.topk(conf[j], k).indices
                    x[j, sel] = x0[j, sel]
        return x


@dataclass
class DreamSamplerConfig:
    max_new_tokens: int = 8
    steps: int = 4
    alg: str = 'entropy'  # the stand-in's only rule (dllm's default, 'origin', is refused by its sampler)
    temperature: float = 0.0
    top_k: int = None
    return_dict: bool = False


@dataclass
class DreamSampler:
    model: object
    tokenizer: object

    @torch.no_grad()
    def sample(self, inputs, config=None, generation_tokens_hook_func=lambda step, x, logits: x,
               generation_logits_hook_func=lambda step, x, logits: logits, **kwargs):
        c = config or DreamSamplerConfig()
        G = c.max_new_tokens
        T = G + max(len(p) for p in inputs)
        x = torch.full((len(inputs), T), self.tokenizer.eos_token_id, dtype=torch.long)
        for i, p in enumerate(inputs):
            x[i, T - G - len(p):T - G] = torch.as_tensor(p)
            x[i, T - G:] = MASK
        am = (x != self.tokenizer.eos_token_id).long()
        x = generation_tokens_hook_func(None, x, None)
        for i in range(c.steps):
            logits = self.model(x, am, None).logits
            logits = torch.cat([logits[:, :1], logits[:, :-1]], 1)
            logits = generation_logits_hook_func(i, x, logits)
            p = torch.softmax(logits, -1)
            neg_ent = (p * torch.log(p + 1e-10)).sum(-1)
            conf = torch.where(x == MASK, neg_ent, torch.tensor(-float('inf')))
            for j in range(len(inputs)):
                sel = torch.topk(conf[j], G // c.steps).indices
                x[j, sel] = p[j].argmax(-1)[sel]
            x = generation_tokens_hook_func(i, x, logits)
        return x


class EvalHarness:
    """dllm's BaseEvalHarness.generate_until: batches of requests, per-row prompt tensors, one sample() per batch,
    answers cut at the prompt's end (sample_trim) and at the stop sequences."""

    def __init__(self, sampler, config, batch_size=2):
        self.sampler, self.sampler_config, self.batch_size = sampler, config, batch_size
        self.tokenizer = sampler.tokenizer

    def generate_until(self, requests):
        out = []
        for b0 in range(0, len(requests), self.batch_size):
            batch = requests[b0:b0 + self.batch_size]
            prompts = [torch.tensor(self.tokenizer(r.args[0])['input_ids'], dtype=torch.long) for r in batch]
            ids = self.sampler.sample(inputs=prompts, config=self.sampler_config, return_dict=False)
            for row, p, r in zip(ids.tolist(), prompts, batch):
                text = decode(_trim(row, p.tolist()))
                for stop in r.args[1]['until']:
                    text = text.split(stop)[0]
                out.append(text)
        return out


def _trim(row, prompt):
    """The generated tokens of a row, wherever the sampler put its prompt (dllm.utils.sample_trim)."""
    for s in range(len(row) - len(prompt) + 1):
        if row[s:s + len(prompt)] == prompt:
            return row[s + len(prompt):]
    return row


def load_real(src):
    """dllm's MDLMSampler, MDLMSamplerConfig, DreamSampler, DreamSamplerConfig from the checkout at `src`, their
    package __init__ files skipped (they import the trainers and lm_eval)."""
    for name in ('dllm', 'dllm.core', 'dllm.core.samplers', 'dllm.pipelines', 'dllm.pipelines.dream',
                 'dllm.pipelines.dream.models'):
        pkg = types.ModuleType(name)
        pkg.__path__ = [os.path.join(src, *name.split('.'))]
        sys.modules[name] = pkg
    if 'transformers' not in sys.modules:
        tf = types.ModuleType('transformers')
        tf.PreTrainedModel = tf.PreTrainedTokenizer = object  # type hints of the sampler's dataclass fields only
        sys.modules['transformers'] = tf
    gu = types.ModuleType('dllm.pipelines.dream.models.generation_utils')

    def unused(*a, **k):
        raise NotImplementedError('top-k / top-p filtering is off in these tests (top_k=None, top_p=1)')
    gu.top_k_logits = gu.top_p_logits = unused
    sys.modules[gu.__name__] = gu

    def load(name):
        spec = importlib.util.spec_from_file_location(name, os.path.join(src, *name.split('.')) + '.py')
        mod = importlib.util.module_from_spec(spec)
        sys.modules[name] = mod
        spec.loader.exec_module(mod)
        return mod

    sched = types.ModuleType('dllm.core.schedulers')
    sched.__path__ = [os.path.join(src, 'dllm', 'core', 'schedulers')]
    sys.modules['dllm.core.schedulers'] = sched
    alpha = load('dllm.core.schedulers.alpha')
    sched.BaseAlphaScheduler, sched.LinearAlphaScheduler = alpha.BaseAlphaScheduler, alpha.LinearAlphaScheduler
    mdlm = load('dllm.core.samplers.mdlm')
    dream = load('dllm.pipelines.dream.sampler')
    return mdlm.MDLMSampler, mdlm.MDLMSamplerConfig, dream.DreamSampler, dream.DreamSamplerConfig


class DreamModel(Model):
    """Dream's model as DreamLM/Dream's eval/eval.py (fac0a7f2) calls it: `diffusion_generate(prompt_ids,
    attention_mask=..., max_new_tokens=, steps=, output_history=, return_dict_in_generate=, ...)` on a left-padded
    batch, the hooks popped from **kwargs as Dream's generation_utils does; masks appended on the right, logits shifted
    right by one, neg-entropy confidence. Returns an object with `.sequences`."""

    generation_config = types.SimpleNamespace(mask_token_id=MASK)

    @torch.no_grad()
    def diffusion_generate(self, inputs, attention_mask=None, max_new_tokens=8, steps=4, output_history=False,
                           return_dict_in_generate=True, **kwargs):
        tokens_hook = kwargs.pop('generation_tokens_hook_func', lambda step, x, logits: x)
        logits_hook = kwargs.pop('generation_logits_hook_func', lambda step, x, logits: logits)
        B = inputs.shape[0]
        x = torch.cat([inputs, torch.full((B, max_new_tokens), MASK)], 1)
        am = torch.cat([attention_mask.long(), torch.ones(B, max_new_tokens, dtype=torch.long)], 1)
        x = tokens_hook(None, x, None)
        for i in range(steps):
            logits = self(x, am).logits
            logits = logits_hook(i, x, torch.cat([logits[:, :1], logits[:, :-1]], 1))
            p = torch.softmax(logits, -1)
            conf = torch.where(x == MASK, (p * torch.log(p + 1e-10)).sum(-1), torch.tensor(-float('inf')))
            for j in range(B):
                sel = torch.topk(conf[j], max_new_tokens // steps).indices
                x[j, sel] = p[j].argmax(-1)[sel]
            x = tokens_hook(i, x, logits)
        return types.SimpleNamespace(sequences=x)


class DreamEvalHarness:
    """eval/eval.py's DreamEvalHarness.generate_until: batches, the prompts tokenized left-padded (pad = EOS here),
    one diffusion_generate per batch, answers cut after the prompt and at the stop sequences."""

    def __init__(self, batch_size=2):
        self.model, self.batch_size = DreamModel().eval(), batch_size

    def generate_until(self, requests):
        out = []
        for b0 in range(0, len(requests), self.batch_size):
            batch = requests[b0:b0 + self.batch_size]
            ids = [encode(r.args[0]) for r in batch]
            P = max(len(i) for i in ids)
            prompt_ids = torch.tensor([[EOS] * (P - len(i)) + i for i in ids])
            gen = self.model.diffusion_generate(prompt_ids, attention_mask=prompt_ids.ne(EOS), max_new_tokens=8,
                                                output_history=False, return_dict_in_generate=True, steps=4)
            for g, r in zip(gen.sequences, batch):
                text = decode(g[P:].tolist())
                for stop in r.args[1]['until']:
                    text = text.split(stop)[0]
                out.append(text)
        return out
