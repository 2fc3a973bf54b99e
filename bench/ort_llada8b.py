#!/usr/bin/env python3
"""Times dlens's LLaDA-8B graph (bench/llada8b-graph.ts) with onnxruntime on a GPU machine: fills the graph's external
data with random values (speed does not depend on them: fp16 weights U(-0.02, 0.02), norm gains 1, int4 blocks random
with small scales), then per provider the two passes the engine makes — a 32-token block against C cached positions
(prefix/dual cache) and a full pass over prompt + generation (cache none) — fetching what the engine fetches (token
statistics, keys, values, saliency; not the logits). Inputs are host arrays, as onnxruntime-node passes them.

    python3 bench/ort_llada8b.py GRAPH_DIR [GRAPH_DIR...] > results.json
"""
import json
import os
import sys
import time

import numpy as np
import onnx
import onnxruntime as ort


def fill(graph_dir):
    m = onnx.load(os.path.join(graph_dir, 'model.onnx'), load_external_data=False)
    path = os.path.join(graph_dir, 'model.onnx.data')
    rng = np.random.default_rng(0)
    chunk16 = (rng.random(1 << 24, dtype=np.float32) * 0.04 - 0.02).astype(np.float16).tobytes()  # 32 MB
    chunk8 = rng.integers(0, 256, 1 << 25, dtype=np.uint8).tobytes()
    t0 = time.time()
    with open(path, 'wb') as f:
        for t in m.graph.initializer:
            if t.data_location != onnx.TensorProto.EXTERNAL:
                continue
            ext = {e.key: e.value for e in t.external_data}
            off, length = int(ext['offset']), int(ext['length'])
            f.seek(off)
            if t.data_type == onnx.TensorProto.FLOAT and len(t.dims) == 1 and not t.name.endswith('__scales'):
                data = np.ones(length // 4, np.float32).tobytes()  # norm gains
            elif t.name.endswith('__scales'):
                data = np.full(length // 4, 0.002, np.float32).tobytes()
            else:
                src = chunk8 if t.data_type == onnx.TensorProto.UINT8 else chunk16
                data = (src * (length // len(src) + 1))[:length]
            f.write(data)
    return os.path.getsize(path), time.time() - t0


def feeds(Q, C, start):
    L, H, Dh = 32, 32, 128
    return {
        'input_ids': np.full((1, Q), 126336, np.int64),
        'position_ids': np.arange(start, start + Q, dtype=np.int64)[None],
        'past_keys': np.zeros((L, 1, H, C, Dh), np.float16),
        'past_values': np.zeros((L, 1, H, C, Dh), np.float16),
        'query_weights': np.ones((1, Q), np.float32),
    }


def time_runs(sess, f, reps):
    outs = ['top_ids', 'top_probs', 'entropy', 'log_z', 'keys', 'values', 'saliency']
    sess.run(outs, f)  # warm-up
    ms = []
    for _ in range(reps):
        t = time.time()
        sess.run(outs, f)
        ms.append((time.time() - t) * 1000)
    return sorted(ms)[len(ms) // 2]


def main():
    res = {'onnxruntime': ort.__version__, 'providers': ort.get_available_providers(), 'runs': []}
    for d in sys.argv[1:]:
        size, secs = fill(d)
        for prov, threads, reps in (('CUDAExecutionProvider', 0, 10), ('CPUExecutionProvider', 16, 3)):
            if prov not in res['providers']:
                continue
            so = ort.SessionOptions()
            if threads:
                so.intra_op_num_threads = threads
            run = {'graph': d, 'weights_bytes': size, 'fill_s': round(secs, 1), 'provider': prov, 'threads': threads}
            t = time.time()
            try:
                sess = ort.InferenceSession(os.path.join(d, 'model.onnx'), so, providers=[prov])
            except Exception as e:  # e.g. an operator this provider lacks: recorded, not fatal
                run['error'] = str(e)[:400]
                res['runs'].append(run)
                continue
            run['load_s'] = round(time.time() - t, 1)
            run['block32_vs_1024_cached_ms'] = round(time_runs(sess, feeds(32, 1024, 1024), reps), 1)
            run['block32_vs_4096_cached_ms'] = round(time_runs(sess, feeds(32, 4064, 4064), reps), 1) if prov.startswith('CUDA') else None
            run['full_pass_1024_ms'] = round(time_runs(sess, feeds(1024, 0, 0), max(2, reps // 3)), 1)
            res['runs'].append(run)
            print(json.dumps(run), file=sys.stderr, flush=True)
            del sess
    print(json.dumps(res, indent=1))


if __name__ == '__main__':
    main()
