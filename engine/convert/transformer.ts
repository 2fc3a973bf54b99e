import type { GraphBuilder } from './onnx-graph.js';

/**
 * The graph of a pre-norm transformer under dlens's model contract v1 (docs/model-contract.md): token embedding,
 * per layer RMSNorm → attention with rotary positions over cached plus current keys → residual, RMSNorm → SwiGLU →
 * residual; final RMSNorm and the output head. Outputs the logits, this call's keys and values per layer, and the
 * attention each key received from the weighted queries (saliency). Architectures (llada.ts, …) supply the weights
 * by role; activations are float32, weights float32 or float16.
 *
 * Activations stay [N, D] (N = B·Q) so every linear layer is one Gemm against the checkpoint's [out, in] weight
 * (transB = 1): weights are copied as they are, never transposed.
 */
export interface TransformerDims {
  layers: number;
  heads: number;
  kvHeads: number;
  headDim: number;
  dModel: number;
  vocab: number;
  ropeTheta: number;
  normEps: number;
  /**
   * Dream predicts position i from output row i − 1 (an autoregressive model's shift kept by its diffusion
   * training): the graph shifts the rows back so that row j is position j's prediction (row 0 keeps its own).
   */
  shiftLogits?: boolean;
}

/** A linear layer's weight: a dense [out, in] tensor, or block-quantized for MatMulNBits (quantize.ts). */
export type LinearWeight = string | { q: string; scales: string; N: number; K: number; bits: 4 | 8; blockSize: number };

export interface LayerWeights {
  attnNorm: string;
  q: LinearWeight;
  k: LinearWeight;
  v: LinearWeight;
  o: LinearWeight;
  ffNorm: string;
  gate: LinearWeight;
  up: LinearWeight;
  down: LinearWeight;
  qBias?: string;
  kBias?: string;
  vBias?: string;
  /** Qwen3's RMSNorm of each query and key head before the rotation. */
  qNorm?: string;
  kNorm?: string;
}

export interface TransformerWeights {
  embed: string;
  layer(l: number): LayerWeights;
  finalNorm: string;
  head: LinearWeight;
}

export function buildTransformer(g: GraphBuilder, d: TransformerDims, w: TransformerWeights) {
  const { layers: Ly, heads: H, kvHeads: Hkv, headDim: Dh, dModel: D, vocab: V } = d;
  const ids = g.input('input_ids', 'int64', ['B', 'Q']);
  const pos = g.input('position_ids', 'int64', ['B', 'Q']);
  const pastK = g.input('past_keys', 'float', [Ly, 'B', H, 'C', Dh]);
  const pastV = g.input('past_values', 'float', [Ly, 'B', H, 'C', Dh]);
  const qw = g.input('query_weights', 'float', ['B', 'Q']);

  const shapeBQ = g.op('Shape', [ids]);
  const toHeads = (x: string, heads: number) => {
    const shape = g.op('Concat', [shapeBQ, g.const([heads, Dh], 'int64')], { axis: 0 });
    return g.op('Transpose', [g.op('Reshape', [x, shape])], { perm: [0, 2, 1, 3] }); // [B, h, Q, Dh]
  };
  const flat = (x: string, cols: number) => g.op('Reshape', [x, g.const([-1, cols], 'int64')]);
  const linear = (x: string, weight: LinearWeight, bias?: string) => {
    if (typeof weight === 'string') return g.op('Gemm', bias ? [x, weight, bias] : [x, weight], { transB: 1 });
    const { q, scales, N, K, bits, blockSize } = weight;
    // accuracy_level 4: the activations are quantized to int8 per block too, onnxruntime's fastest CPU path for
    // quantized weights (bench:convert; with float activations int8 ran 4.6x slower than fp32 there); the accuracy
    // it keeps is measured by bench:quantization.
    const y = g.msOp('MatMulNBits', [x, q, scales], { K, N, bits, block_size: blockSize, accuracy_level: 4 });
    return bias ? g.op('Add', [y, bias]) : y;
  };
  const eps = g.const([d.normEps], 'float', []);
  const rmsNorm = (x: string, weight: string) => {
    const ms = g.op('ReduceMean', [g.op('Mul', [x, x])], { axes: [-1], keepdims: 1 });
    return g.op('Mul', [g.op('Div', [x, g.op('Sqrt', [g.op('Add', [ms, eps])])]), weight]);
  };

  // Rotary positions, rotate-half convention (LLaDA, Llama, Qwen): angles from the absolute positions.
  const invFreq = Array.from({ length: Dh / 2 }, (_, i) => 1 / d.ropeTheta ** ((2 * i) / Dh));
  const ang = g.op('Mul', [
    g.op('Unsqueeze', [g.op('Cast', [pos], { to: 1 }), g.const([-1], 'int64')]),
    g.const(invFreq, 'float'),
  ]);
  const both = (x: string) => g.op('Unsqueeze', [g.op('Concat', [x, x], { axis: -1 }), g.const([1], 'int64')]); // [B, 1, Q, Dh]
  const cos = both(g.op('Cos', [ang])),
    sin = both(g.op('Sin', [ang]));
  const half = g.const([Dh / 2], 'int64'),
    zero = g.const([0], 'int64'),
    end = g.const([Dh], 'int64'),
    last = g.const([-1], 'int64');
  const rope = (x: string) => {
    const x1 = g.op('Slice', [x, zero, half, last]),
      x2 = g.op('Slice', [x, half, end, last]);
    const rotated = g.op('Concat', [g.op('Neg', [x2]), x1], { axis: -1 });
    return g.op('Add', [g.op('Mul', [x, cos]), g.op('Mul', [rotated, sin])]);
  };
  // Grouped-query attention under contract v1: key/value heads repeated to the query heads.
  const repeatKv = (x: string) => {
    if (Hkv === H) return x;
    const tiled = g.op('Tile', [
      g.op('Unsqueeze', [x, g.const([2], 'int64')]),
      g.const([1, 1, H / Hkv, 1, 1], 'int64'),
    ]);
    return g.op('Reshape', [tiled, g.const([0, H, -1, Dh], 'int64')]);
  };
  // Query weights normalised over the queries, as [B, 1, 1, Q] for the saliency product.
  const qwSum = g.op('Max', [
    g.op('ReduceSum', [qw, g.const([-1], 'int64')], { keepdims: 1 }),
    g.const([1e-9], 'float', []),
  ]);
  const wq = g.op('Unsqueeze', [g.op('Div', [qw, qwSum]), g.const([1, 2], 'int64')]);

  let x = flat(g.op('Gather', [w.embed, ids], { axis: 0 }), D);
  const keys: string[] = [],
    values: string[] = [],
    sal: string[] = [];
  for (let l = 0; l < Ly; l++) {
    const lw = w.layer(l);
    const h = rmsNorm(x, lw.attnNorm);
    const headNorm = (x: string, w?: string) => (w ? rmsNorm(x, w) : x);
    const q = rope(headNorm(toHeads(linear(h, lw.q, lw.qBias), H), lw.qNorm));
    const k = repeatKv(rope(headNorm(toHeads(linear(h, lw.k, lw.kBias), Hkv), lw.kNorm)));
    const v = repeatKv(toHeads(linear(h, lw.v, lw.vBias), Hkv));
    const li = g.const([l], 'int64', []);
    const ka = g.op('Concat', [g.op('Gather', [pastK, li], { axis: 0 }), k], { axis: 2 });
    const va = g.op('Concat', [g.op('Gather', [pastV, li], { axis: 0 }), v], { axis: 2 });
    const scores = g.op('Mul', [
      g.op('MatMul', [q, g.op('Transpose', [ka], { perm: [0, 1, 3, 2] })]),
      g.const([1 / Math.sqrt(Dh)], 'float', []),
    ]);
    const p = g.op('Softmax', [scores], { axis: -1 }); // [B, H, Q, C+Q]
    sal.push(g.op('Squeeze', [g.op('MatMul', [wq, p]), g.const([2], 'int64')])); // [B, H, C+Q]
    const att = flat(g.op('Transpose', [g.op('MatMul', [p, va])], { perm: [0, 2, 1, 3] }), H * Dh);
    x = g.op('Add', [x, linear(att, lw.o)]);
    const f = rmsNorm(x, lw.ffNorm);
    const gate = linear(f, lw.gate);
    const act = g.op('Mul', [g.op('Mul', [gate, g.op('Sigmoid', [gate])]), linear(f, lw.up)]);
    x = g.op('Add', [x, linear(act, lw.down)]);
    keys.push(k);
    values.push(v);
  }
  const logits2d = linear(rmsNorm(x, w.finalNorm), w.head);
  let logits = g.op('Reshape', [logits2d, g.op('Concat', [shapeBQ, g.const([V], 'int64')], { axis: 0 })]);
  if (d.shiftLogits) {
    const row = (a: number, b: number) =>
      g.op('Slice', [logits, g.const([a], 'int64'), g.const([b], 'int64'), g.const([1], 'int64')]);
    logits = g.op('Concat', [row(0, 1), row(0, -1)], { axis: 1 });
  }
  const stack = (xs: string[]) =>
    g.op(
      'Concat',
      xs.map((t) => g.op('Unsqueeze', [t, g.const([0], 'int64')])),
      { axis: 0 },
    );
  g.output(logits, 'logits', 'float', ['B', 'Q', V]);
  g.output(stack(keys), 'keys', 'float', [Ly, 'B', H, 'Q', Dh]);
  g.output(stack(values), 'values', 'float', [Ly, 'B', H, 'Q', Dh]);
  g.output(stack(sal), 'saliency', 'float', [Ly, 'B', H, 'CQ']);
}
