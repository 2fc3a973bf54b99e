import type { GraphBuilder } from './onnx-graph.js';

/**
 * The graph of a pre-norm transformer under dlens's model contract v2 (docs/model-contract.md): token embedding,
 * per layer RMSNorm → attention with rotary positions over cached plus current keys → residual, RMSNorm → SwiGLU →
 * residual; final RMSNorm and the output head. Outputs this call's keys and values per layer (per key/value head:
 * grouped-query attention is computed natively, not by repeating heads), the attention each key received from the
 * weighted queries (saliency) and their mean score q·k/√d before the softmax (key_scores, what Sparse-dLLM's cache
 * ranks by), and the token statistics of every row (top-K ids and probabilities, entropy, log
 * partition; the mask token excluded) so that no [Q, V] logits need to leave onnxruntime; `logits` stay available
 * for sampling. With `lens`, also each layer's logit lens (its residual stream through the final norm and the output
 * head: top-1 and probability per row). Architectures (llada.ts, …) supply the weights by role; activations are
 * float32, weights float32, float16 or block-quantized.
 *
 * Activations stay [N, D] (N = B·Q) so every linear layer is one Gemm against the checkpoint's [out, in] weight
 * (transB = 1): weights are copied as they are, never transposed.
 */
/**
 * The revision of the graph this file builds, recorded in each converted model's card: bump it when outputs or their
 * numerics change, and the bundled models are converted again on their next use (engine/model/bundled.ts).
 * 2: key_scores output (Sparse-dLLM's selection); top_probs as exp(x − m) / s over the whole vocabulary.
 * 3: optional logit lens (`--lens`: input lens_rows, outputs lens_ids, lens_probs); the bundled models have it.
 */
export const GRAPH_REVISION = 3;

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

/** Choices of the exported graph that are not the checkpoint's: they go on the card. */
export interface GraphOptions {
  /** Keys and values as the cache holds them (float16 halves the cache). */
  kvDtype: 'float32' | 'float16';
  /** Block-causal attention (BD3LM): key j is visible to query i iff block(j) ≤ block(i) (query_blocks, key_blocks). */
  blockCausal: boolean;
  /** Top candidates per row in the graph's statistics. */
  topK: number;
  /** Never a prediction: never among the top ids. */
  maskId: number;
  /** Whether the mask token stays in the softmax (the papers' decoders) or the rest is renormalised without it. */
  maskInSoftmax: boolean;
  /**
   * The logit lens: after every layer, the residual stream through the final norm and the output head, reduced to
   * each row's top-1 (never the mask token) and its probability (lens_ids, lens_probs [Ly, R]) for the rows the
   * caller names (lens_rows [R], flat indices into the B·Q rows; R ≥ 1). It costs one output head per layer for
   * each row named: a caller that does not want it names one row.
   */
  lens?: boolean;
}

/** A linear layer's weight: a dense [out, in] tensor, or block-quantized for MatMulNBits (quantize.ts). */
export type LinearWeight = string | { q: string; scales: string; N: number; K: number; bits: 4 | 8; blockSize: number };

/** A SwiGLU feed-forward block: down(silu(gate(x)) · up(x)). */
export interface SwiGLUWeights {
  gate: LinearWeight;
  up: LinearWeight;
  down: LinearWeight;
}

/**
 * A routed mixture of SwiGLU experts (LLaDA-MoE, OLMoE's block): router softmax over the experts, the top `topK`
 * chosen per token, their outputs summed weighted by the router probabilities — not renormalised over the chosen
 * (LLaDA-MoE's block sets norm_topk_prob False whatever its config says) —, plus a shared expert when there is one.
 */
export interface MoEWeights {
  router: LinearWeight;
  /** Added to the router probabilities before the choice, and kept in the weights (moe_router_enable_expert_bias). */
  expertBias?: string;
  topK: number;
  experts: SwiGLUWeights[];
  shared?: SwiGLUWeights;
}

export interface LayerWeights {
  attnNorm: string;
  q: LinearWeight;
  k: LinearWeight;
  v: LinearWeight;
  o: LinearWeight;
  ffNorm: string;
  ffn: SwiGLUWeights | MoEWeights;
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

export function buildTransformer(g: GraphBuilder, d: TransformerDims, w: TransformerWeights, o: GraphOptions) {
  const { layers: Ly, heads: H, kvHeads: Hkv, headDim: Dh, dModel: D, vocab: V } = d;
  const G = H / Hkv;
  const kvType = o.kvDtype === 'float16' ? 'float16' : 'float';
  const ids = g.input('input_ids', 'int64', ['B', 'Q']);
  const pos = g.input('position_ids', 'int64', ['B', 'Q']);
  const pastK = g.input('past_keys', kvType, [Ly, 'B', Hkv, 'C', Dh]);
  const pastV = g.input('past_values', kvType, [Ly, 'B', Hkv, 'C', Dh]);
  const qw = g.input('query_weights', 'float', ['B', 'Q']);
  const toFloat = (x: string) => (kvType === 'float' ? x : g.op('Cast', [x], { to: 1 }));
  const toKv = (x: string) => (kvType === 'float' ? x : g.op('Cast', [x], { to: 10 }));
  // Block-causal attention: -1e9 added to the scores of keys in later blocks (every query sees its own block).
  let blockBias: string | null = null;
  if (o.blockCausal) {
    const qb = g.input('query_blocks', 'int64', ['B', 'Q']);
    const kb = g.input('key_blocks', 'int64', ['B', 'CQ']);
    const later = g.op('Greater', [
      g.op('Unsqueeze', [kb, g.const([1, 2], 'int64')]), // [B, 1, 1, C+Q]
      g.op('Unsqueeze', [qb, g.const([1, 3], 'int64')]), // [B, 1, Q, 1]
    ]);
    blockBias = g.op('Where', [later, g.const([-1e9], 'float', []), g.const([0], 'float', [])]);
  }
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
  // Grouped-query attention: the G = H / Hkv query heads of a group share one key/value head. Queries become
  // [B, Hkv, G, Q, Dh] and keys [B, Hkv, 1, N, Dh], so MatMul broadcasts over the group without copying keys.
  const headTail = G === 1 ? [] : [g.const([2], 'int64'), g.const([4], 'int64')];
  const grouped = (x: string) =>
    G === 1
      ? x
      : g.op('Reshape', [
          x,
          g.op('Concat', [g.const([0, Hkv, G], 'int64'), g.op('Slice', [g.op('Shape', [x]), ...headTail])], {
            axis: 0,
          }),
        ]);
  const oneGroup = (x: string) => (G === 1 ? x : g.op('Unsqueeze', [x, g.const([2], 'int64')]));
  // [B, Hkv, G, Q, X] → [B, H, Q, X] (X is C+Q for scores: dynamic, so the target shape is built from the input's)
  const groupTail = G === 1 ? [] : [g.const([3], 'int64'), g.const([5], 'int64')];
  const ungrouped = (x: string) =>
    G === 1
      ? x
      : g.op('Reshape', [
          x,
          g.op('Concat', [g.const([0, H], 'int64'), g.op('Slice', [g.op('Shape', [x]), ...groupTail])], { axis: 0 }),
        ]);
  const swiglu = (x: string, w: SwiGLUWeights) => {
    const gate = linear(x, w.gate);
    return linear(g.op('Mul', [g.op('Mul', [gate, g.op('Sigmoid', [gate])]), linear(x, w.up)]), w.down);
  };
  // Sparse on purpose: each expert runs only on the rows routed to it (NonZero → Gather → SwiGLU → ScatterND add), so
  // a 64-expert model with 8 chosen costs the chosen experts, not all of them.
  const moe = (x: string, w: MoEWeights) => {
    let probs = g.op('Softmax', [linear(x, w.router)], { axis: -1 }); // [N, E]
    if (w.expertBias) probs = g.op('Add', [probs, w.expertBias]);
    const [topW, topI] = g.opN('TopK', [probs, g.const([w.topK], 'int64')], 2, { axis: -1 }); // [N, k]
    let out = g.op('Mul', [x, g.const([0], 'float', [])]);
    w.experts.forEach((e, i) => {
      const chosen = g.op('Cast', [g.op('Equal', [topI!, g.const([i], 'int64', [])])], { to: 1 }); // [N, k], 0/1
      const weight = g.op('ReduceSum', [g.op('Mul', [chosen, topW!]), last], { keepdims: 0 }); // [N]
      const routed = g.op('ReduceMax', [chosen], { axes: [-1], keepdims: 0 }); // [N]
      const rows = g.op('Transpose', [g.op('NonZero', [routed])]); // [n, 1]
      const y = g.op('Mul', [
        swiglu(g.op('GatherND', [x, rows]), e),
        g.op('Unsqueeze', [g.op('GatherND', [weight, rows]), last]),
      ]);
      out = g.op('ScatterND', [out, rows, y], { reduction: 'add' });
    });
    return w.shared ? g.op('Add', [out, swiglu(x, w.shared)]) : out;
  };

  // Query weights normalised over the queries, as [B, 1, 1, Q] for the saliency product.
  const qwSum = g.op('Max', [
    g.op('ReduceSum', [qw, g.const([-1], 'int64')], { keepdims: 1 }),
    g.const([1e-9], 'float', []),
  ]);
  const wq = g.op('Unsqueeze', [g.op('Div', [qw, qwSum]), g.const([1, 2], 'int64')]);

  // An fp16 table is gathered first and only the rows used are cast (casting the table would convert all of it on
  // every call: 65M values for a 32k x 2048 vocabulary).
  const halfTable = g.halfSource(w.embed);
  const embedded = halfTable
    ? g.op('Cast', [g.op('Gather', [halfTable, ids], { axis: 0 })], { to: 1 })
    : g.op('Gather', [w.embed, ids], { axis: 0 });
  let x = flat(embedded, D);
  // Rows of a [N, V] head output as [B, Q, V], shifted back by one for a model that predicts from the row before.
  const asRows = (logits2d: string) => {
    const rows = g.op('Reshape', [logits2d, g.op('Concat', [shapeBQ, g.const([V], 'int64')], { axis: 0 })]);
    if (!d.shiftLogits) return rows;
    const row = (a: number, b: number) =>
      g.op('Slice', [rows, g.const([a], 'int64'), g.const([b], 'int64'), g.const([1], 'int64')]);
    return g.op('Concat', [row(0, 1), row(0, -1)], { axis: 1 });
  };
  const bias = maskBias(g, V, o);
  // The logit lens reads out only the rows asked for. A shifted model predicts row j from hidden row
  // j − 1 (row 0 from itself), so the rows read are shifted the same way within each sequence.
  const lensRows = o.lens ? g.input('lens_rows', 'int64', ['R']) : '';
  let lensSource = lensRows;
  if (o.lens && d.shiftLogits) {
    const Q = g.op('Gather', [shapeBQ, g.const([1], 'int64', [])], { axis: 0 });
    const notFirst = g.op('Greater', [g.op('Mod', [lensRows, Q]), g.const([0], 'int64', [])]);
    lensSource = g.op('Sub', [lensRows, g.op('Cast', [notFirst], { to: 7 })]);
  }
  const lensIds: string[] = [],
    lensProbs: string[] = [];
  const keys: string[] = [],
    values: string[] = [],
    sal: string[] = [],
    keyScores: string[] = [];
  for (let l = 0; l < Ly; l++) {
    const lw = w.layer(l);
    const h = rmsNorm(x, lw.attnNorm);
    const headNorm = (x: string, w?: string) => (w ? rmsNorm(x, w) : x);
    const q = rope(headNorm(toHeads(linear(h, lw.q, lw.qBias), H), lw.qNorm));
    const k = rope(headNorm(toHeads(linear(h, lw.k, lw.kBias), Hkv), lw.kNorm)); // [B, Hkv, Q, Dh]
    const v = toHeads(linear(h, lw.v, lw.vBias), Hkv);
    const li = g.const([l], 'int64', []);
    const ka = g.op('Concat', [toFloat(g.op('Gather', [pastK, li], { axis: 0 })), k], { axis: 2 });
    const va = g.op('Concat', [toFloat(g.op('Gather', [pastV, li], { axis: 0 })), v], { axis: 2 });
    let scores = g.op('Mul', [
      g.op('MatMul', [grouped(q), oneGroup(g.op('Transpose', [ka], { perm: [0, 1, 3, 2] }))]),
      g.const([1 / Math.sqrt(Dh)], 'float', []),
    ]);
    scores = ungrouped(scores); // [B, H, Q, C+Q]
    // Sparse-dLLM ranks cached keys by the block queries' scores before the softmax, averaged over heads.
    keyScores.push(
      g.op('ReduceMean', [g.op('Squeeze', [g.op('MatMul', [wq, scores]), g.const([2], 'int64')])], {
        axes: [1],
        keepdims: 0,
      }),
    ); // [B, C+Q]
    if (blockBias) scores = g.op('Add', [scores, blockBias]);
    const p = g.op('Softmax', [scores], { axis: -1 });
    sal.push(g.op('Squeeze', [g.op('MatMul', [wq, p]), g.const([2], 'int64')])); // [B, H, C+Q]
    const pv = ungrouped(g.op('MatMul', [grouped(p), oneGroup(va)])); // [B, H, Q, Dh]
    const att = flat(g.op('Transpose', [pv], { perm: [0, 2, 1, 3] }), H * Dh);
    x = g.op('Add', [x, linear(att, lw.o)]);
    const f = rmsNorm(x, lw.ffNorm);
    x = g.op('Add', [x, 'experts' in lw.ffn ? moe(f, lw.ffn) : swiglu(f, lw.ffn)]);
    keys.push(toKv(k));
    values.push(toKv(v));
    // The last layer's lens is the model's own prediction: read from the logits below, not computed twice.
    if (o.lens && l < Ly - 1) {
      const rows = g.op('Gather', [x, lensSource], { axis: 0 }); // [R, D]
      const top = topOne(g, linear(rmsNorm(rows, w.finalNorm), w.head), bias, o);
      lensIds.push(top.id);
      lensProbs.push(top.prob);
    }
  }
  const logits = asRows(linear(rmsNorm(x, w.finalNorm), w.head));
  const stack = (xs: string[]) =>
    g.op(
      'Concat',
      xs.map((t) => g.op('Unsqueeze', [t, g.const([0], 'int64')])),
      { axis: 0 },
    );
  g.output(logits, 'logits', 'float', ['B', 'Q', V]);
  g.output(stack(keys), 'keys', kvType, [Ly, 'B', Hkv, 'Q', Dh]);
  g.output(stack(values), 'values', kvType, [Ly, 'B', Hkv, 'Q', Dh]);
  g.output(stack(sal), 'saliency', 'float', [Ly, 'B', H, 'CQ']);
  g.output(stack(keyScores), 'key_scores', 'float', [Ly, 'B', 'CQ']);
  if (o.lens) {
    // The logits' rows are positions already (shifted above): gather them as asked.
    const top = topOne(g, g.op('Gather', [flat(logits, V), lensRows], { axis: 0 }), bias, o);
    g.output(stack([...lensIds, top.id]), 'lens_ids', 'int64', [Ly, 'R']);
    g.output(stack([...lensProbs, top.prob]), 'lens_probs', 'float', [Ly, 'R']);
  }
  tokenStatistics(g, logits, V, bias, o);
}

/** The mask token's logit pushed to −1e30: never a candidate. */
function maskBias(g: GraphBuilder, V: number, o: GraphOptions) {
  const bias = new Array<number>(V).fill(0);
  if (o.maskId >= 0 && o.maskId < V) bias[o.maskId] = -1e30;
  return g.const(bias, 'float', [V], 'mask_bias');
}

/**
 * The logit lens of [R, V] rows: the top-1 token other than the mask token and its probability under the same
 * softmax as top_probs (the whole vocabulary unless the card says without-mask), as [R] each.
 */
function topOne(g: GraphBuilder, logits: string, bias: string, o: GraphOptions) {
  const last = g.const([-1], 'int64');
  const candidates = g.op('Add', [logits, bias]);
  const base = o.maskInSoftmax ? logits : candidates;
  const m = g.op('ReduceMax', [base], { axes: [-1], keepdims: 1 });
  const s = g.op('ReduceSum', [g.op('Exp', [g.op('Sub', [base, m])]), last], { keepdims: 1 });
  const [topVal, topId] = g.opN('TopK', [candidates, g.const([1], 'int64')], 2, { axis: -1 });
  const prob = g.op('Div', [g.op('Exp', [g.op('Sub', [topVal!, m])]), s]);
  return { id: g.op('Squeeze', [topId!, last]), prob: g.op('Squeeze', [prob, last]) };
}

/**
 * Per row: the top K ids (never the mask token) and their probabilities, the entropy and log Z (the log partition,
 * for the probability of a sampled token). Probabilities are the model's softmax over the whole vocabulary, the mask
 * token included, as the papers' decoders compute confidence (LLaDA's and Fast-dLLM's softmax(logits)): a model that
 * puts 2e-5 on the mask token at one position and 2e-7 at another ranks them as the reference does. They are
 * exp(x − m) / s with m the row's maximum and s the sum of exp(x − m): the top token's is 1 / s, which keeps values
 * just below 1 (0.9999996) apart instead of rounding them to 1 as exp(x − (m + log s)) does in float32.
 */
function tokenStatistics(g: GraphBuilder, logits: string, V: number, bias: string, o: GraphOptions) {
  const last = g.const([-1], 'int64');
  const candidates = g.op('Add', [logits, bias]);
  const base = o.maskInSoftmax ? logits : candidates;
  const m = g.op('ReduceMax', [base], { axes: [-1], keepdims: 1 });
  const dx = g.op('Sub', [base, m]);
  const e = g.op('Exp', [dx]);
  const s = g.op('ReduceSum', [e, last], { keepdims: 1 });
  const [topVals, topIds] = g.opN('TopK', [candidates, g.const([Math.min(o.topK, V)], 'int64')], 2, { axis: -1 });
  const topProbs = g.op('Div', [g.op('Exp', [g.op('Sub', [topVals!, m])]), s]);
  const logS = g.op('Log', [s]);
  // H = log s − Σ e·(x − m) / s
  const entropy = g.op('Sub', [
    logS,
    g.op('Div', [g.op('ReduceSum', [g.op('Mul', [e, dx]), last], { keepdims: 1 }), s]),
  ]);
  const squeeze = (t: string) => g.op('Squeeze', [t, last]);
  g.output(topIds!, 'top_ids', 'int64', ['B', 'Q', o.topK]);
  g.output(topProbs, 'top_probs', 'float', ['B', 'Q', o.topK]);
  g.output(squeeze(entropy), 'entropy', 'float', ['B', 'Q']);
  g.output(squeeze(g.op('Add', [m, logS])), 'log_z', 'float', ['B', 'Q']);
}
