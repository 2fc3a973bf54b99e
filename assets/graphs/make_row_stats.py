"""Writes row-stats.onnx: per-row softmax statistics of a logits matrix, run by onnxruntime's vectorised kernels.

Recording every position at every step needs, per row of V logits, the top K (ids, probabilities), the entropy and
the log-partition; done in JavaScript this cost ~25 ns per logit, as much as 25 % of a decoding run. The graph does
the same in a few ns. Run: /usr/bin/python3 assets/graphs/make_row_stats.py  (needs python3-onnx; the output is committed).
Inputs: logits float32 [N, V], k int64 [1], bias float32 [V] (0, or -1e30 at ids that are never candidates: the mask
token). The bias keeps ids out of the top K only: probabilities, entropy and log-partition are those of the model's
softmax over the whole vocabulary, as the papers' decoders compute confidence.
Outputs: top_ids int64 [N, K], top_probs float32 [N, K] (exp(x - max) / sum), entropy float32 [N], log_z float32 [N] (max + log sum exp).
"""
import os
import onnx
from onnx import helper as h, TensorProto as T

nodes = [
    h.make_node('Add', ['logits', 'bias'], ['candidates']),
    h.make_node('TopK', ['candidates', 'k'], ['top_vals', 'top_ids'], axis=-1, largest=1, sorted=1),
    h.make_node('ReduceMax', ['logits'], ['m'], axes=[1], keepdims=1),
    h.make_node('Sub', ['logits', 'm'], ['d']),
    h.make_node('Exp', ['d'], ['e']),
    h.make_node('ReduceSum', ['e', 'axes'], ['s']),
    h.make_node('Log', ['s'], ['log_s']),
    h.make_node('Mul', ['e', 'd'], ['ed']),
    h.make_node('ReduceSum', ['ed', 'axes'], ['sum_ed']),
    h.make_node('Div', ['sum_ed', 's'], ['mean_d']),
    h.make_node('Sub', ['log_s', 'mean_d'], ['entropy_2d']),
    h.make_node('Squeeze', ['entropy_2d', 'axes'], ['entropy']),
    h.make_node('Add', ['m', 'log_s'], ['log_z_2d']),
    h.make_node('Squeeze', ['log_z_2d', 'axes'], ['log_z']),
    # exp(top - m) / s, not exp(top - log_z): in float32 m + log s rounds to m when s is within ~1e-7 of 1, which
    # made every probability above about 1 - 1e-6 exactly 1 (and ties of them).
    h.make_node('Sub', ['top_vals', 'm'], ['top_d']),
    h.make_node('Exp', ['top_d'], ['top_e']),
    h.make_node('Div', ['top_e', 's'], ['top_probs']),
]
graph = h.make_graph(
    nodes, 'row_stats',
    [h.make_tensor_value_info('logits', T.FLOAT, ['N', 'V']), h.make_tensor_value_info('k', T.INT64, [1]),
     h.make_tensor_value_info('bias', T.FLOAT, ['V'])],
    [h.make_tensor_value_info('top_ids', T.INT64, ['N', 'K']), h.make_tensor_value_info('top_probs', T.FLOAT, ['N', 'K']),
     h.make_tensor_value_info('entropy', T.FLOAT, ['N']), h.make_tensor_value_info('log_z', T.FLOAT, ['N'])],
    initializer=[h.make_tensor('axes', T.INT64, [1], [1])],
)
model = h.make_model(graph, opset_imports=[h.make_opsetid('', 13)], producer_name='dlens')
model.ir_version = 8
onnx.checker.check_model(model)
onnx.save(model, os.path.join(os.path.dirname(os.path.abspath(__file__)), 'row-stats.onnx'))
