import type { Trace } from '../trace/trace.js';
import { kendallTauB, spearmanRho } from './rank.js';
import { positionRegions, type Region } from './regions.js';

/**
 * In what order a decode decided its tokens: ParallelBench's decoding-order correlation. Each generated position's
 * order is the first state in which it is no longer masked (its commit_step; never committed: 2^31 − 1, as
 * ParallelBench's code); the correlation is scipy's kendalltau / spearmanr between those orders sorted (the order
 * a left-to-right decode would have) and the orders as they fall along the positions. 1: left to right, as an
 * autoregressive model; near 0: no relation between position and when it was decided; negative: right to left.
 */
export interface OrderCorrelation {
  kendall: number;
  spearman: number;
  positions: number;
}
export interface DecodingOrder {
  /** Over the region's positions (answer: ParallelBench's ignore_pad). */
  overall: Record<'answer' | 'all', OrderCorrelation>;
  /** Per block of the decode (the blocks the trace records), over all of its generated positions. */
  blocks: ({ start: number; end: number } & OrderCorrelation)[];
  /** Mean over blocks whose correlation is defined (a block decided in one step has none). */
  meanBlock: { kendall: number; spearman: number };
}

const NEVER = 2 ** 31 - 1;

export function orderCorrelation(order: ArrayLike<number>): OrderCorrelation {
  const sorted = Float64Array.from(order).sort();
  return { kendall: kendallTauB(sorted, order), spearman: spearmanRho(sorted, order), positions: order.length };
}

/** Per generated position (index g), the state index that first holds it unmasked. */
export function commitOrder(trace: Trace): Int32Array {
  const { P, G } = trace.dims;
  return Int32Array.from({ length: G }, (_, g) => {
    const c = trace.commitStep[P + g]!;
    return c >= 0 ? c : NEVER;
  });
}

/** The distinct block spans the decode went through, in order, clipped to the generated positions. */
export function blockSpans(trace: Trace): { start: number; end: number }[] {
  const { S, P, T } = trace.dims;
  const out: { start: number; end: number }[] = [];
  for (let s = 0; s < S; s++) {
    const start = Math.max(P, trace.block[2 * s]!),
      end = Math.min(T, trace.block[2 * s + 1]!);
    if (end <= start) continue;
    const last = out.at(-1);
    if (last && last.start === start)
      last.end = Math.max(last.end, end); // AdaBlock may widen a block
    else if (!out.some((b) => b.start === start)) out.push({ start, end });
  }
  return out.length ? out : [{ start: P, end: T }];
}

export function decodingOrder(trace: Trace): DecodingOrder {
  const { P } = trace.dims;
  const order = commitOrder(trace);
  const regions = positionRegions(trace);
  const pick = (r: Region) => order.filter((_, g) => regions.has(r, P + g));
  const blocks = blockSpans(trace).map((b) => ({ ...b, ...orderCorrelation(order.subarray(b.start - P, b.end - P)) }));
  const defined = blocks.filter((b) => !Number.isNaN(b.kendall));
  const mean = (f: (b: OrderCorrelation) => number) =>
    defined.length ? defined.reduce((a, b) => a + f(b), 0) / defined.length : NaN;
  return {
    overall: { answer: orderCorrelation(pick('answer')), all: orderCorrelation(order) },
    blocks,
    meanBlock: { kendall: mean((b) => b.kendall), spearman: mean((b) => b.spearman) },
  };
}

/** The confidence each generated position had at the step that committed it (NaN: not recorded or not committed). */
export function confidenceAtCommit(trace: Trace): Float32Array {
  const { P, G, S } = trace.dims;
  return Float32Array.from({ length: G }, (_, g) => {
    const s = trace.commitStep[P + g]! - 1;
    return s >= 0 && s < S ? trace.confidence[s * G + g]! : NaN;
  });
}
