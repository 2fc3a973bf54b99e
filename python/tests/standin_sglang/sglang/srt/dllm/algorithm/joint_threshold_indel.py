"""Stand-in for sglang/srt/dllm/algorithm/joint_threshold_indel.py (sgl-project/sglang 0fbe7e46), written for the
tests and reduced to its interface: an algorithm with `delete_token_id` and `split_token_id` (what dlens.sglang looks
for to record a decode's moves). It decides as LowConfidence; moving tokens is the recorder's alignment, tested on its
own (test_indel.py)."""
from .low_confidence import LowConfidence


class JointThresholdInDel(LowConfidence):
    def __init__(self, config):
        super().__init__(config)
        self.delete_token_id, self.split_token_id = 60, 61


Algorithm = JointThresholdInDel
