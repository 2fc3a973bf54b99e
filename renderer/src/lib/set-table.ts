import * as d3 from 'd3';
import type { IndexRow } from '../../../engine/api/types.js';
import { naturalCompare } from './natural-order.js';

/**
 * The Set view's table as pure functions over a set's index rows: filter (correctness, detector, strategy and cache,
 * text over prompts and outputs, flips against a paired set), sort by a column, and the per-group cells its figure
 * plots. Sized for 10,000 rows: each function is one pass (the text search reads a lower-cased copy made once).
 */
export interface SetBrowse {
  dir: string | null;
  /** A second set whose decodes pair with these on their samples (null: none). */
  pairWith: string | null;
  correct: 'all' | 'right' | 'wrong' | 'unknown';
  detector: string; // 'any' | 'none' | a detector id
  group: string; // 'all' | "strategy / cache"
  flip: 'all' | 'right-to-wrong' | 'wrong-to-right';
  query: string;
  sort: SortKey;
  desc: boolean;
  /** Which figure the view draws over the rows the filters keep. */
  figure: SetFigure;
}
export type SetFigure = 'accuracy' | 'detectors' | 'confidence' | 'kendall';
export type SortKey = 'sample' | 'group' | 'correct' | 'steps' | 'tpf' | 'answer_tpf' | 'detectors' | 'length';

export const SET_BROWSE_DEFAULT: SetBrowse = {
  dir: null,
  pairWith: null,
  correct: 'all',
  detector: 'any',
  group: 'all',
  flip: 'all',
  query: '',
  sort: 'sample',
  desc: false,
  figure: 'accuracy',
};

export const groupOf = (r: IndexRow) => `${r.strategy} / ${r.cache}`;
export const sampleKey = (r: IndexRow) =>
  r.sample ? `${r.sample.task}:${r.sample.doc_id}:${r.sample.repeat ?? 0}` : `prompt:${r.prompt}`;
export const sampleLabel = (r: IndexRow) =>
  r.sample ? `${r.sample.task}:${r.sample.doc_id}${r.sample.repeat ? `#${r.sample.repeat}` : ''}` : '(no sample id)';

const haystacks = new WeakMap<IndexRow, string>();
const haystack = (r: IndexRow) => {
  let h = haystacks.get(r);
  if (h === undefined) haystacks.set(r, (h = `${r.prompt}\u0000${r.output}`.toLowerCase()));
  return h;
};

/** The rows the filters keep; `pair` maps a sample key to the paired set's row. */
export function filterRows(rows: IndexRow[], b: SetBrowse, pair?: Map<string, IndexRow>): IndexRow[] {
  const q = b.query.trim().toLowerCase();
  return rows.filter((r) => {
    if (b.correct === 'right' && r.correct !== true) return false;
    if (b.correct === 'wrong' && r.correct !== false) return false;
    if (b.correct === 'unknown' && r.correct !== null) return false;
    if (b.detector === 'none' && r.detectors.length) return false;
    if (b.detector !== 'any' && b.detector !== 'none' && !r.detectors.includes(b.detector)) return false;
    if (b.group !== 'all' && groupOf(r) !== b.group) return false;
    if (b.flip !== 'all') {
      const o = pair?.get(sampleKey(r));
      if (!o) return false;
      if (b.flip === 'right-to-wrong' && !(r.correct === true && o.correct === false)) return false;
      if (b.flip === 'wrong-to-right' && !(r.correct === false && o.correct === true)) return false;
    }
    return !q || haystack(r).includes(q);
  });
}

const KEYS: Record<SortKey, (r: IndexRow) => number | string> = {
  sample: sampleKey,
  group: groupOf,
  correct: (r) => (r.correct === null ? 2 : r.correct ? 1 : 0),
  steps: (r) => r.steps,
  tpf: (r) => r.tpf,
  answer_tpf: (r) => r.answer_tpf,
  detectors: (r) => r.detectors.length,
  length: (r) => r.answer_tokens,
};

/**
 * The rank of each row under a text column (sample, strategy / cache), computed once per set in natural order
 * (natural-order.ts), so that sorting any filtered subset by text is a numeric sort.
 */
const textRanks: Partial<Record<SortKey, WeakMap<IndexRow, number>>> = {};
function rankText(all: IndexRow[], key: SortKey, k: (r: IndexRow) => string) {
  const ranks = (textRanks[key] ??= new WeakMap());
  const first = all[0];
  if (!first || ranks.has(first)) return;
  const compare = naturalCompare();
  const order = all.map((r) => ({ r, s: k(r) }));
  order.sort((x, y) => compare(x.s, y.s));
  order.forEach(({ r }, i) => ranks.set(r, i));
}

/** Sorted by one column (ties keep the index's order); `all` is the whole set, whose text ranks are cached. */
export function sortRows(rows: IndexRow[], key: SortKey, desc: boolean, all: IndexRow[] = rows): IndexRow[] {
  const k = KEYS[key];
  const text = key === 'sample' || key === 'group';
  if (text) rankText(all, key, k as (r: IndexRow) => string);
  const value = text ? (r: IndexRow) => textRanks[key]?.get(r) ?? 0 : (k as (r: IndexRow) => number);
  const keyed = rows.map((r, i) => [value(r), i, r] as const);
  keyed.sort((a, b) => (desc ? b[0] - a[0] : a[0] - b[0]) || a[1] - b[1]);
  return keyed.map((x) => x[2]);
}

/** Per strategy and cache: accuracy over the judged decodes, mean TPF and steps (what the AUP figure plots). */
export function groupCells(rows: IndexRow[]) {
  const groups = d3.group(rows, groupOf);
  const mean = (xs: number[]) => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : 0);
  return [...groups.values()].map((rs) => {
    const judged = rs.filter((r) => r.correct !== null);
    return {
      suite: 'set',
      strategy: rs[0]!.strategy,
      cache: rs[0]!.cache,
      n: rs.length,
      accuracy: judged.length ? judged.filter((r) => r.correct).length / judged.length : 0,
      tpf: mean(rs.map((r) => r.tpf)),
      tpf_answer: mean(rs.map((r) => r.answer_tpf)),
      steps: mean(rs.map((r) => r.steps)),
    };
  });
}
