import { describe, it, expect } from 'vitest';
import type { IndexRow } from '../../engine/api/types.js';
import { filterRows, groupCells, sampleKey, sortRows, SET_BROWSE_DEFAULT } from '../../renderer/src/lib/set-table.js';

const row = (i: number, o: Partial<IndexRow> = {}): IndexRow => ({
  id: `r${i}`,
  shard: 's',
  offset: 0,
  length: 0,
  sample: { task: 'gsm8k', doc_id: i },
  prompt: `question ${i}`,
  output: `answer ${i * 7}`,
  reference: null,
  correct: i % 3 === 0 ? false : true,
  model: 'm',
  strategy: i % 2 ? 'fast-dllm-threshold' : 'low-confidence',
  cache: 'none',
  gen_length: 32,
  steps: 32 - (i % 5),
  nfe: 32,
  tpf: 1,
  answer_tokens: i % 11,
  answer_tpf: (i % 4) / 4,
  answer_delay: 0,
  detectors: i % 4 === 0 ? ['stall'] : [],
  kendall: null,
  complete: true,
  ...o,
});
const rows = Array.from({ length: 30 }, (_, i) => row(i));

describe('the Set view table', () => {
  it('filters by correctness, detector, strategy, text and flips against a paired set', () => {
    const f = (o: Partial<typeof SET_BROWSE_DEFAULT>) =>
      filterRows(rows, { ...SET_BROWSE_DEFAULT, ...o }).map((r) => r.id);
    expect(f({ correct: 'wrong' })).toHaveLength(10);
    expect(f({ detector: 'stall' })).toHaveLength(8);
    expect(f({ detector: 'none' })).toHaveLength(22);
    expect(f({ group: 'fast-dllm-threshold / none' })).toHaveLength(15);
    expect(f({ query: 'ANSWER 14' })).toEqual(['r2', 'r20', 'r21']); // answers 14, 140, 147: case-insensitive
    const other = new Map(rows.map((r) => [sampleKey(r), { ...r, correct: !r.correct }]));
    const flips = filterRows(rows, { ...SET_BROWSE_DEFAULT, flip: 'wrong-to-right' }, other);
    expect(flips.map((r) => r.id)).toEqual(rows.filter((r) => r.correct === false).map((r) => r.id));
  });

  it('sorts numbers numerically and sample ids in natural order, either way, ties in index order', () => {
    const bySample = sortRows([...rows].reverse(), 'sample', false).map((r) => r.id);
    expect(bySample.slice(0, 3)).toEqual(['r0', 'r1', 'r2']); // r2 before r10 (natural order)
    const steps = sortRows(rows, 'steps', true);
    expect(steps.map((r) => r.steps)).toEqual([...rows.map((r) => r.steps)].sort((a, b) => b - a));
    expect(steps.filter((r) => r.steps === 32).map((r) => r.id)).toEqual(['r0', 'r5', 'r10', 'r15', 'r20', 'r25']);
  });

  it('orders sample ids across tasks, repeats and case as the natural-order collator does', () => {
    const ids: [string, number, number?][] = [
      ['gsm8k', 10],
      ['gsm8k', 2, 1],
      ['GSM8K', 3],
      ['humaneval', 1],
      ['gsm8k', 2],
      ['arc_easy', 100],
      ['arc_easy', 20],
      ['Arc-Easy', 5],
      ['mbpp', 0],
      ['gsm8k', 9, 12],
      ['gsm8k', 9, 3],
    ];
    const mixed = ids.map(([task, doc_id, repeat], i) => row(i, { sample: { task, doc_id, repeat } }));
    const collate = new Intl.Collator(undefined, { numeric: true }).compare;
    const want = [...mixed].sort((a, b) => collate(sampleKey(a), sampleKey(b))).map((r) => r.id);
    expect(sortRows(mixed, 'sample', false).map((r) => r.id)).toEqual(want);
    expect(sortRows(mixed, 'sample', true).map((r) => r.id)).toEqual([...want].reverse());
  });
  it('plots per strategy the accuracy over the judged decodes', () => {
    const cells = groupCells(rows);
    expect(cells.map((c) => [c.strategy, c.n])).toEqual([
      ['low-confidence', 15],
      ['fast-dllm-threshold', 15],
    ]);
    expect(cells[0]!.accuracy).toBeCloseTo(10 / 15);
  });
});
