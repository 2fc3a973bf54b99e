"""Stand-in for sglang/srt/dllm/algorithm/low_confidence.py (sgl-project/sglang 0564b521), written for the tests:
commit every masked position of the block whose top probability passes the threshold, else the most confident one;
report a block complete when the step found no mask in it."""
import torch

from .base import DllmAlgorithm


class LowConfidence(DllmAlgorithm):
    def __init__(self, config):
        super().__init__(config)
        self.threshold = config.algorithm_config.get('threshold', 0.95)

    def step(self, forward_batch, full_logits, states):
        n, B = forward_batch.batch_size, self.block_size
        logits = full_logits.view(n, B, -1)
        ids = forward_batch.input_ids.view(n, B)
        masked = ids == self.mask_id
        done = masked.sum(dim=1) == 0
        p, x = torch.softmax(logits.float(), -1).max(-1)
        p = torch.where(masked, p, torch.tensor(-float('inf')))
        pick = p > self.threshold
        top = torch.zeros_like(pick)
        top[torch.arange(n), p.argmax(1)] = True
        pick = torch.where(pick.any(1, keepdim=True), pick, top) & masked
        forward_batch.input_ids.copy_(torch.where(pick, x, ids).view(-1))
        return done.tolist()


Algorithm = LowConfidence
