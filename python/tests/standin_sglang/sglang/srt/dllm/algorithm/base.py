"""Stand-in for sglang/srt/dllm/algorithm/base.py (sgl-project/sglang 0929d6df), written for the tests: the
algorithm contract (`step` advances one denoising step of every request's block in place in
forward_batch.input_ids and returns which blocks were already complete; `run` loops forward → step until all are)
and its synchronous and first-done-first-out loops."""


class DllmAlgorithm:
    def __init__(self, config):
        self.block_size = config.block_size
        self.mask_id = config.mask_id
        self.fdfo = config.first_done_first_out_mode

    def init_step_state(self, forward_batch):
        return [None] * forward_batch.batch_size

    def prepare_inputs(self, model_runner, forward_batch, states):
        pass

    def max_steps(self, block_size):
        return block_size + 1

    def step(self, forward_batch, logits_output, states):
        raise NotImplementedError

    def run(self, model_runner, forward_batch, algo_states=None):
        n, B = forward_batch.batch_size, self.block_size
        if self.fdfo:
            states = [s if s is not None else None for s in (algo_states or [None] * n)]
            out = model_runner.forward(forward_batch)
            done = self.step(forward_batch, out.logits_output, states)
            ids = forward_batch.input_ids.view(n, B).tolist()
            return out.logits_output, ids, [B if d else 0 for d in done], [None if d else s for d, s in
                                                                           zip(done, states)], out.can_run_graph
        start = (forward_batch.input_ids.view(n, B) != self.mask_id).sum(dim=1).tolist()
        states = self.init_step_state(forward_batch)
        out = model_runner.forward(forward_batch)
        if all(s == B for s in start):
            return out.logits_output, [], None, None, out.can_run_graph
        for _ in range(self.max_steps(B)):
            if all(self.step(forward_batch, out.logits_output, states)):
                break
            out = model_runner.forward(forward_batch)
        ids = forward_batch.input_ids.view(n, B)
        return out.logits_output, [ids[i, start[i]:] for i in range(n)], None, None, out.can_run_graph
