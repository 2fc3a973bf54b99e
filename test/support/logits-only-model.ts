import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { GraphBuilder } from '../../engine/convert/onnx-graph.js';
import { Rng } from '../../engine/util/rng.js';
import { FIXTURE } from '../helpers.js';

/**
 * A model folder whose graph maps input_ids (and an attention_mask it ignores) to logits and nothing else, as
 * onnxruntime's own masked-diffusion exports do: each position's embedding plus the sequence's mean, through a head.
 * The fixture's tokenizer and card (vocabulary 260, mask 1, EOS 0).
 */
export function logitsOnlyModel(dir: string) {
  mkdirSync(dir, { recursive: true });
  const rng = new Rng(3);
  const V = 260,
    D = 16;
  const g = new GraphBuilder(join(dir, 'model.onnx.data'), 'model.onnx.data');
  const ids = g.input('input_ids', 'int64', ['B', 'Q']);
  g.input('attention_mask', 'int64', ['B', 'Q']);
  const emb = g.weight('embed', () => Float32Array.from({ length: V * D }, () => rng.next() - 0.5), [V, D], 'fp32');
  const head = g.weight(
    'head',
    () => Float32Array.from({ length: V * D }, () => 4 * (rng.next() - 0.5)),
    [V, D],
    'fp32',
  );
  const x = g.op('Gather', [emb, ids], { axis: 0 }); // [B, Q, D]
  const mixed = g.op('Add', [x, g.op('ReduceMean', [x], { axes: [1], keepdims: 1 })]);
  const logits = g.op('MatMul', [mixed, g.op('Transpose', [head], { perm: [1, 0] })]);
  g.output(logits, 'logits', 'float', ['B', 'Q', V]);
  return g.writeWeights().then(() => {
    writeFileSync(join(dir, 'model.onnx'), g.finish({}));
    copyFileSync(join(FIXTURE, 'tokenizer.json'), join(dir, 'tokenizer.json'));
    const card = JSON.parse(readFileSync(join(FIXTURE, 'dlens-model.json'), 'utf8'));
    writeFileSync(join(dir, 'dlens-model.json'), JSON.stringify({ ...card, name: 'logits-only' }));
  });
}
