import type { Trace } from '../trace/trace.js';

/**
 * The generated region of a dLLM decode is the answer followed, when the answer is shorter than the gen length, by
 * EOS padding. Metrics that mix the two mostly measure how the strategy walks through the padding (docs/metrics.md).
 *
 * - answer: generated positions before the answer's end (the first position whose final token is EOS or pad);
 *   these are the tokens of the output text.
 * - padding: positions from the answer's end on whose final token is EOS or pad.
 * - all: every generated position (what the papers' "tokens per step" over the gen length counts).
 *
 * Positions after the answer's end holding another token (text after an EOS, which the output drops) and positions
 * still masked (a cancelled run) are in `all` only.
 */
export type Region = 'answer' | 'padding' | 'all';
export const REGIONS: readonly Region[] = ['answer', 'padding', 'all'];
export const REGION_LABEL: Record<Region, string> = {
  answer: 'answer tokens',
  padding: 'EOS padding',
  all: 'all positions',
};

export interface EndIds {
  eos: number;
  pad: number;
  mask: number;
}

/** Per generated position of a final sequence: 0 answer, 1 padding, 2 neither (in `all` only). */
export function classifyPositions(gen: ArrayLike<number>, ids: EndIds): Uint8Array {
  const isEnd = (t: number) => t === ids.eos || t === ids.pad;
  let end = 0;
  while (end < gen.length && !isEnd(gen[end]!)) end++;
  const cls = new Uint8Array(gen.length);
  for (let g = 0; g < gen.length; g++) {
    const t = gen[g]!;
    cls[g] = g < end ? (t === ids.mask ? 2 : 0) : isEnd(t) ? 1 : 2;
  }
  return cls;
}

/** Answer tokens of a final sequence's generated part: what TPF "excluding EOS" counts. */
export const answerTokens = (gen: ArrayLike<number>, ids: EndIds) =>
  classifyPositions(gen, ids).reduce((n, c) => n + (c === 0 ? 1 : 0), 0);

export interface Regions {
  /** Class of each generated position (index g = position - P): 0 answer, 1 padding, 2 neither. */
  cls: Uint8Array;
  P: number;
  counts: Record<Region, number>;
  /** Whether an absolute position belongs to a region. */
  has(region: Region, position: number): boolean;
}

/** The trace's end-of-text ids: from the manifest, else the model card; a trace without them has no padding. */
export function endIds(trace: Trace): EndIds {
  const card = trace.manifest.model.card;
  const num = (v: unknown) => (typeof v === 'number' ? v : -1);
  return {
    eos: trace.manifest.eos_token_id ?? num(card.eos_token_id),
    pad: num(card.pad_token_id),
    mask: trace.manifest.mask_token_id ?? num(card.mask_token_id),
  };
}

export function positionRegions(trace: Trace): Regions {
  const { S, T, P, G } = trace.dims;
  const cls = classifyPositions(trace.state.subarray(S * T + P, (S + 1) * T), endIds(trace));
  const count = (c: number) => cls.reduce((n, x) => n + (x === c ? 1 : 0), 0);
  return {
    cls,
    P,
    counts: { answer: count(0), padding: count(1), all: G },
    has: (region, position) => region === 'all' || cls[position - P] === (region === 'answer' ? 0 : 1),
  };
}
