#!/usr/bin/env python3
"""An evaluation-shaped run where evaluations run: dlens-tiny in PyTorch decodes a list of prompts with LLaDA's
low-confidence rule, BATCHED, under torch.distributed (gloo: run it with `python3 -m torch.distributed.run
--nproc_per_node=2`), each rank taking its share of the prompts, and records every row of every batch as its own
decode into one trace set (each rank its own shard, no coordination). The loop is record_tiny.py's, batched as
LLaDA's generate.py batches: per row, the highest-confidence masked positions of the block.

    python3 -m torch.distributed.run --nproc_per_node=2 test/support/eval_set_tiny.py CKPT PROMPTS.json SET \
        [--batch 4] [--kill-after N]

PROMPTS.json: [{"task": ..., "doc_id": ..., "prompt": ..., "ids": [...], "reference": ...}]; a batch holds prompts of
one length (LLaDA's generate.py batches without padding).
--kill-after N: SIGKILL this process in the middle of its Nth decode's write (bytes written, row not yet): a crash.
"""
import json
import os
import signal
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.distributed as dist  # noqa: E402
from record_tiny import HFStyle, MASK, EOS, num_transfer_tokens, load_checkpoint  # noqa: E402
import dlens  # noqa: E402  (record_tiny put python/ on the path)


@torch.no_grad()
def generate(model, prompt, steps, gen_length, block_length):
    B, P = prompt.shape
    x = torch.full((B, P + gen_length), MASK, dtype=torch.long)
    x[:, :P] = prompt
    per_block = steps // (gen_length // block_length)
    for b in range(gen_length // block_length):
        s, e = P + b * block_length, P + (b + 1) * block_length
        sched = [num_transfer_tokens(int((x[r, s:e] == MASK).sum()), per_block) for r in range(B)]
        for i in range(per_block):
            mask_index = x == MASK
            logits = model(x).logits.float()
            logits[:, :, MASK] = float('-inf')
            x0 = logits.argmax(-1)
            p = 1.0 / torch.exp(logits - logits.max(-1, keepdim=True).values).sum(-1)
            conf = torch.where(mask_index, p, torch.full_like(p, float('-inf')))
            conf[:, e:] = float('-inf')
            for r in range(B):
                c = conf[r].numpy()
                order = np.lexsort((np.arange(len(c)), -c))[:sched[r][i]]
                x[r, order] = x0[r, order]
    return x


def main():
    ckpt, prompts_file, out = sys.argv[1:4]
    batch = int(sys.argv[sys.argv.index('--batch') + 1]) if '--batch' in sys.argv else 4
    kill_after = int(sys.argv[sys.argv.index('--kill-after') + 1]) if '--kill-after' in sys.argv else None
    if 'WORLD_SIZE' in os.environ:
        dist.init_process_group('gloo')
    rank, world = (dist.get_rank(), dist.get_world_size()) if dist.is_initialized() else (0, 1)
    prompts = json.load(open(prompts_file))[rank::world]
    model = HFStyle(load_checkpoint(ckpt)).eval()
    ts = dlens.TraceSet(out)
    if kill_after is not None:
        appended = [0]
        write = ts.append

        def append(data, **kw):
            appended[0] += 1
            if appended[0] == kill_after:  # the crash lands between the decode's bytes and its index row
                blob_len = len(data)
                ts._data = ts._data or os.open(os.path.join(out, 'shards', f'{ts.shard}.dlshard'),
                                               os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
                os.write(ts._data, b'\0' * (blob_len // 2))
                os.kill(os.getpid(), signal.SIGKILL)
            return write(data, **kw)
        ts.append = append
    tok = os.path.join(ckpt, 'tokenizer.json')
    groups = {}
    for r in prompts:
        groups.setdefault(len(r['ids']), []).append(r)
    batches = [g[i:i + batch] for g in groups.values() for i in range(0, len(g), batch)]
    for rows in batches:
        recs = ts.batch([(r['task'], r['doc_id']) for r in rows], [r['prompt'] for r in rows],
                        [r.get('reference') for r in rows], mask_token_id=MASK, eos_token_id=EOS,
                        prompt_length=len(rows[0]['ids']), tokenizer=tok, top_k=5, model_name='dlens-tiny',
                        block_length=32, strategy={'name': 'llada-low-confidence', 'params': {}})
        with recs:
            with dlens.watch(model, recs):
                x = generate(model, torch.tensor([r['ids'] for r in rows]), 32, 32, 32)
            recs.finish(x)
    ts.close()
    print(json.dumps({'rank': rank, 'world': world, 'decodes': len(prompts), 'shard': ts.shard}))
    if dist.is_initialized():
        dist.barrier()
        dist.destroy_process_group()


if __name__ == '__main__':
    main()
