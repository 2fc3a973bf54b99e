import { describe, it, expect } from 'vitest';
import { readTrace } from '../../engine/trace/trace.js';
import { writeTrace } from '../../engine/trace/write.js';
import { handMadeManifest } from '../support/sample-trace.js';
import { confidenceGrid, GRID, positionRegions } from '../../engine/metrics/index.js';
import { gridHex, packGrids, unpackGrid } from '../../engine/metrics/confidence-grid.js';
import type { IndexRow } from '../../engine/api/types.js';
import {
  confidenceByStepAndPosition,
  confidenceGridSvg,
  confidenceGridTable,
  detectorShares,
  detectorSharesSvg,
  detectorSharesTable,
  kendallDistribution,
  kendallSvg,
  kendallTable,
} from '../../renderer/src/lib/figures/set-figures.js';
import { setFigure } from '../../renderer/src/lib/figures/set-figure.js';

/** A 4-step decode of two answer positions (P = 1): confidence [step][position] as given. */
function trace(conf: number[]) {
  const S = 4,
    P = 1,
    G = 2,
    T = 3;
  return readTrace(
    writeTrace({
      manifest: handMadeManifest(P, G, S),
      dims: { S, T, G, K: 1, Ly: 1, P },
      state: new Int32Array([3, 1, 1, 3, 1, 8, 3, 1, 8, 3, 1, 8, 3, 7, 8]),
      commitStep: new Int32Array([-1, 4, 1]),
      topkIds: new Int32Array([5, 8, 7, 9, 7, 9, 7, 9]),
      topkProbs: new Float32Array(8).fill(0.5),
      confidence: new Float32Array(conf),
      entropy: new Float32Array(8),
      block: new Int32Array([1, 3, 1, 3, 1, 3, 1, 3]),
      stepMs: new Float32Array(4),
      saliency: new Float32Array(12),
      cached: new Uint8Array(12),
    }),
  );
}

const row = (i: number, o: Partial<IndexRow>): IndexRow => ({
  id: `r${i}`,
  shard: 's',
  offset: 0,
  length: 0,
  sample: { task: 't', doc_id: i },
  prompt: '',
  output: '',
  reference: null,
  correct: null,
  model: 'm',
  strategy: 'low-confidence',
  cache: 'none',
  gen_length: 8,
  steps: 8,
  nfe: 8,
  tpf: 1,
  answer_tokens: 8,
  answer_tpf: 1,
  answer_delay: 0,
  detectors: [],
  kendall: null,
  complete: true,
  ...o,
});
const SIZE = { width: 520, height: 300 };
const cell = (grid: (number | null)[], step: number, pos: number) => grid[step * GRID + pos];

describe("a decode's confidence grid", () => {
  it('places each statistic by its relative step and relative answer position, NaN left out', () => {
    const t = trace([0.2, 0.9, 0.5, NaN, 0.3, 0.1, 0.8, 0.1]);
    const g = confidenceGrid(t, positionRegions(t));
    expect(g).toHaveLength(GRID * GRID);
    // 4 steps over 8 rows: step s in row 2s; 2 answer positions over 8 columns: the k-th in column 4k
    expect([cell(g, 0, 0), cell(g, 0, 4), cell(g, 2, 0), cell(g, 2, 4), cell(g, 6, 0), cell(g, 6, 4)]).toEqual([
      0.2,
      0.9,
      0.5,
      null,
      0.8,
      0.1,
    ]);
    expect(g.filter((v) => v !== null)).toHaveLength(7);
  });
});

describe('the Set view figures', () => {
  const rows = [
    row(0, { detectors: ['stall'], kendall: 0.9 }),
    row(1, { detectors: ['stall', 'repetition'], kendall: 0.8 }),
    row(2, { strategy: 'fast-dllm-threshold', kendall: -0.95 }),
    row(3, { strategy: 'fast-dllm-threshold', detectors: ['repetition'], kendall: null }),
  ];
  // rows 2 and 3: no statistic in their answers (an empty answer), or no grid at all (not derived yet)
  const grids = new Map<IndexRow, (number | null)[]>([
    [rows[0]!, [0.4, ...Array(63).fill(null)]],
    [rows[1]!, [0.8, 0.5, ...Array(62).fill(null)]],
    [rows[2]!, Array(64).fill(null)],
  ]);
  const gridOf = (r: IndexRow) => grids.get(r);

  it('detector shares: per strategy, the share of its decodes in which each detector fired', () => {
    const d = detectorShares(rows);
    expect(d.groups).toEqual(['low-confidence / none', 'fast-dllm-threshold / none']);
    const ids = d.detectors.map((x) => x.id);
    expect(ids.sort()).toEqual(['repetition', 'stall']);
    const share = (g: number, id: string) => d.share[g]![d.detectors.findIndex((x) => x.id === id)];
    expect([share(0, 'stall'), share(0, 'repetition'), share(1, 'stall'), share(1, 'repetition')]).toEqual([
      1, 0.5, 0, 0.5,
    ]);
    const table = detectorSharesTable(d);
    expect(table.rows[0]!.slice(0, 2)).toEqual(['low-confidence / none', 2]);
    expect(detectorSharesSvg(d, SIZE, 'x')).toContain('50.0 % of 2 decodes');
  });

  it('confidence by step × position: each decode weighs the same, a bin averages the decodes that have it', () => {
    const c = confidenceByStepAndPosition(rows, gridOf);
    expect(c.decodes).toBe(2); // rows 2 and 3 have no statistic in their answers: left out
    expect(c.mean[0]).toBeCloseTo(0.6);
    expect(c.mean[1]).toBeCloseTo(0.5);
    expect(c.count.slice(0, 3)).toEqual([2, 1, 0]);
    expect(c.mean[2]).toBeNull();
    expect(confidenceGridTable(c).rows[0]!.slice(0, 3)).toEqual(['0–13 %', 0.6, 0.5]);
    const svg = confidenceGridSvg(c, SIZE, 'x');
    expect(svg).toContain('mean confidence 0.600 over 2 decodes');
    expect((svg.match(/<title>steps /g) ?? []).length).toBe(GRID * GRID); // one cell per bin
  });

  it('decoding order: Kendall τ counted in 20 bins per strategy, decodes without one left out', () => {
    const k = kendallDistribution(rows);
    expect(k.counts[0]!.reduce((a, b) => a + b)).toBe(2);
    expect(k.counts[0]![18]).toBe(1); // 0.8 in [0.8, 0.9)
    expect(k.counts[0]![19]).toBe(1); // 0.9 in [0.9, 1]
    expect(k.counts[1]![0]).toBe(1); // −0.95
    expect(k.medians[0]).toBeCloseTo(0.85);
    expect(k.medians[1]).toBe(-0.95);
    expect(kendallTable(k).rows[19]).toEqual([0.9, 1, 1, 0]);
    expect(kendallSvg(k, SIZE, 'x')).toContain('median τ 0.85');
  });

  it('each figure exports under its own name, with an SVG at the size asked and a table', () => {
    for (const kind of ['accuracy', 'detectors', 'confidence', 'kendall'] as const) {
      const f = setFigure(kind, rows, 'viridis', gridOf);
      expect(f.name).toMatch(/^set-/);
      expect(f.svg({ width: 800, height: 400 })).toContain('width="800"');
      expect(f.table().rows.length).toBeGreaterThan(0);
    }
  });
});

describe('confidence grids sent packed', () => {
  it('round-trip within 1/254, no statistic kept apart, rows in order', () => {
    const a = [0, 0.5, 1, null, 0.123, ...Array(59).fill(null)];
    const packed = packGrids([{ conf_grid: gridHex(a) }, {}, { conf_grid: gridHex([0.999]) }]);
    expect(gridHex(a).slice(0, 10)).toBe('007ffeff1f'); // 0, 0.5, 1, none, 0.123
    expect(packed.length).toBe(3 * GRID * GRID);
    const back = unpackGrid(packed, 0);
    a.forEach((v, i) =>
      v === null ? expect(back[i]).toBeNull() : expect(Math.abs(back[i]! - v)).toBeLessThan(1 / 254),
    );
    expect(unpackGrid(packed, 1).every((v) => v === null)).toBe(true); // a row without a grid
    expect(unpackGrid(packed, 2)[0]).toBeCloseTo(0.999, 2);
  });
});
