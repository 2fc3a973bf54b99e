import { describe, it, expect, beforeAll } from 'vitest';
import * as d3 from 'd3';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadTrace, type LoadedTrace, stateAt, candidatesAt } from '../../renderer/src/lib/traceModel.js';
import { buildMatrix, metricOptions, paint, valueAt } from '../../renderer/src/lib/heatmap.js';
import { lut } from '../../renderer/src/lib/colormaps.js';
import { metricsTable, toCsv, toLatex, texEscape } from '../../renderer/src/lib/table-export.js';
import {
  integerTicks,
  axisSvg,
  esc,
  timelineSvg,
  heatmapSvg,
  volatilitySvg,
} from '../../renderer/src/lib/exporters.js';
import { wordDiff } from '../../renderer/src/lib/word-diff.js';
import { record } from '../../engine/record.js';
import { FIXTURE, tmp } from '../helpers.js';

describe('heatmap and figure helpers on a real trace', () => {
  let lt: LoadedTrace, sparse: LoadedTrace;
  beforeAll(async () => {
    const d = tmp();
    await record({
      model: FIXTURE,
      prompt: 'figures',
      genLength: 32,
      blockLength: 8,
      steps: 32,
      out: join(d, 'a.dlens'),
    });
    await record({
      model: FIXTURE,
      prompt: 'figures',
      genLength: 32,
      blockLength: 8,
      steps: 32,
      cache: 'sparse',
      out: join(d, 's.dlens'),
    });
    lt = loadTrace(new Uint8Array(readFileSync(join(d, 'a.dlens'))), 'a.dlens');
    sparse = loadTrace(new Uint8Array(readFileSync(join(d, 's.dlens'))), 's.dlens');
  });

  it('builds position x step matrices whose cells are the trace values', () => {
    const { G, K, P, Ly, T } = lt.trace.dims;
    const conf = buildMatrix(lt, 'confidence');
    expect([conf.cols, conf.rows, conf.rowStart]).toEqual([32, G, P]);
    expect(valueAt(conf, 3, P + 5)).toBe(lt.trace.confidence[3 * G + 5]);
    expect(Number.isNaN(valueAt(conf, 3, P - 1))).toBe(true);
    const change = buildMatrix(lt, 'top1_change');
    const top = (s: number, g: number) => lt.trace.topkIds.full()![(s * G + g) * K];
    expect(valueAt(change, 4, P + 2)).toBe(top(4, 2) !== top(3, 2) ? 1 : 0);
    const sal = buildMatrix(lt, 'saliency', 1);
    expect(sal.rows).toBe(T);
    expect(valueAt(sal, 2, 0)).toBe(lt.trace.saliency.full()![(2 * Ly + 1) * T]);
    const mean = buildMatrix(lt, 'saliency', -1);
    const m =
      Array.from({ length: Ly }, (_, l) => lt.trace.saliency.full()![(2 * Ly + l) * T + 3]!).reduce((a, b) => a + b) /
      Ly;
    expect(valueAt(mean, 2, 3)).toBeCloseTo(m, 6);
  });

  it('marks cache residency and evictions per layer', () => {
    expect(metricOptions(lt).some((o) => o.id === 'cache')).toBe(false);
    expect(metricOptions(sparse).some((o) => o.id === 'cache')).toBe(true);
    const c = buildMatrix(sparse, 'cache', 0);
    const cells = Array.from(c.data);
    expect(cells.filter((v) => v === 2).length).toBe(
      [...sparse.evicted.values()].reduce((n, byLayer) => n + (byLayer.get(0)?.length ?? 0), 0),
    );
    expect(cells.filter((v) => v === 2).length).toBeGreaterThan(0);
  });

  it('paints through the colour table, NaN transparent, values clamped to the domain', () => {
    const m = {
      metric: 'x',
      label: 'x',
      cols: 2,
      rows: 2,
      rowStart: 0,
      data: Float32Array.from([0, NaN, 1, 5]),
      domain: [0, 1] as [number, number],
      kind: 'sequential' as const,
    };
    const table = lut('greys');
    const { pixels: px, width, height } = paint(m, table);
    expect([width, height]).toEqual([2, 2]);
    // pixel (x = step, y = row): (0,0)=0 → first colour; (0,1)=NaN → alpha 0; (1,0)=1 and (1,1)=5 → last colour
    expect(Array.from(px.subarray(0, 4))).toEqual(Array.from(table.subarray(0, 4)));
    expect(px[2 * 4 + 3]).toBe(0);
    expect(Array.from(px.subarray(4, 8))).toEqual(Array.from(table.subarray(255 * 4, 256 * 4)));
    expect(Array.from(px.subarray(12, 16))).toEqual(Array.from(table.subarray(255 * 4, 256 * 4)));
    // +Infinity is the top of the scale, −Infinity the bottom
    const inf = paint({ ...m, data: Float32Array.from([Infinity, -Infinity, 0.5, 0.5]) }, table).pixels;
    expect(Array.from(inf.subarray(0, 4))).toEqual(Array.from(table.subarray(255 * 4, 256 * 4)));
    expect(Array.from(inf.subarray(8, 12))).toEqual(Array.from(table.subarray(0, 4)));
  });

  it('paints a matrix larger than its panel one pixel per bin, each the cell at its corner', () => {
    // 5 steps × 4 rows, every 2 columns and 3 rows: a 3 × 2 image of cells (0,0) (2,0) (4,0) / (0,3) (2,3) (4,3)
    const data = Float32Array.from({ length: 20 }, (_, i) => i / 19);
    const m = { metric: 'x', label: 'x', cols: 5, rows: 4, rowStart: 0, data, domain: [0, 1] as [number, number] };
    const table = lut('greys');
    const { pixels, width, height } = paint({ ...m, kind: 'sequential' }, table, { cols: 2, rows: 3 });
    expect([width, height]).toEqual([3, 2]);
    const at = (x: number, y: number) => pixels[(y * width + x) * 4]!;
    const colour = (s: number, r: number) => table[Math.round(data[s * 4 + r]! * 255) * 4]!;
    expect([at(0, 0), at(1, 0), at(2, 0), at(0, 1), at(1, 1), at(2, 1)]).toEqual([
      colour(0, 0),
      colour(2, 0),
      colour(4, 0),
      colour(0, 3),
      colour(2, 3),
      colour(4, 3),
    ]);
  });

  it('replays states and candidates as recorded', () => {
    const { P, T, S } = lt.trace.dims;
    const MASK = lt.trace.manifest.mask_token_id!;
    expect(Array.from(stateAt(lt.trace, 0).subarray(P)).every((x) => x === MASK)).toBe(true);
    expect(Array.from(stateAt(lt.trace, S).subarray(P)).some((x) => x === MASK)).toBe(false);
    expect(stateAt(lt.trace, S).length).toBe(T);
    const c = candidatesAt(lt.trace, 0, P);
    expect(c.length).toBe(5);
    expect(c[0]!.p).toBeGreaterThanOrEqual(c[1]!.p);
  });

  it('writes metrics as CSV and a booktabs LaTeX table with escaped names', () => {
    const t = metricsTable([lt, sparse]);
    expect(t.header).toEqual(['metric', 'a.dlens', 's.dlens']);
    const csv = toCsv(t);
    expect(csv).toMatch(/^cache,none,sparse$/m);
    expect(csv).toMatch(/^steps,32,32$/m);
    const tex = toLatex({ header: ['metric', 'run_1'], rows: [['share delayed > 2', '50%']] });
    expect(tex).toContain('metric & run\\_1 \\\\');
    expect(tex).toContain('share delayed $>$ 2 & 50\\% \\\\');
  });

  it('builds standalone SVG figures with axes, legend and one mark per position', () => {
    const svg = timelineSvg(lt, { width: 800, height: 500 }, 'timeline <a>');
    expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true);
    expect(svg).toContain('timeline &lt;a&gt;');
    const commits = lt.timings.filter((x) => x.commit >= 0).length;
    expect((svg.match(/fill="#E69F00"\/>/g) ?? []).length).toBe(commits + 1); // one commit mark per position, one in the legend
    const hm = heatmapSvg(
      buildMatrix(lt, 'confidence'),
      'data:image/png;base64,AAAA',
      'viridis',
      { width: 600, height: 400 },
      'conf',
    );
    expect(hm).toContain('href="data:image/png;base64,AAAA"');
    expect(hm).toContain('linearGradient');
    // the colour bar says what it measures, and what a white cell means
    expect(hm).toContain(`>${buildMatrix(lt, 'confidence').label}</text>`);
    expect(hm).toContain('>not computed</text>');
    expect(volatilitySvg(lt, { width: 600, height: 400 }, 'v')).toContain('volatility band');
  });

  it('diffs outputs word by word', () => {
    const d = wordDiff('the cat sat', 'the dog sat');
    expect(d.filter((x) => x.op !== 'same').map((x) => `${x.op}:${x.text}`)).toEqual(['del:cat', 'add:dog']);
  });
});

describe('bench files the Bench view loads', () => {
  it('refuses what is not a bench result, saying what to load', async () => {
    const { parseBenchJson } = await import('../../renderer/src/lib/bench-file.js');
    expect(() => parseBenchJson('not json')).toThrow(/not JSON; load what `dlens bench --format json/);
    expect(() => parseBenchJson('{"rows": []}')).toThrow(/has no "cells"/);
    expect(() => parseBenchJson('{"cells": [{"suite": "pick"}]}')).toThrow(/^cells\.0\.strategy/);
    const cells = parseBenchJson(
      '{"cells": [{"suite":"pick","strategy":"s","cache":"none","n":1,"accuracy":1,"tpf":2,"tpf_answer":1,"steps":3}]}',
    );
    expect(cells[0]!.tpf).toBe(2);
  });
});

describe('exports that typeset and parse', () => {
  it('LaTeX: every special character escaped once, τ ρ × ≤ in math mode (pdflatex needs no package)', () => {
    expect(texEscape('a\\b {x}_1 & 50% #2 $3 ~^ <>|')).toBe(
      'a\\textbackslash{}b \\{x\\}\\_1 \\& 50\\% \\#2 \\$3 \\textasciitilde{}\\textasciicircum{} $<$$>$$|$',
    );
    expect(texEscape('Kendall τ, Spearman ρ, 8 × 8, ≤ 3')).toBe(
      'Kendall $\\tau$, Spearman $\\rho$, 8 $\\times$ 8, $\\leq$ 3',
    );
    const tex = toLatex({ header: ['τ from', 'n'], rows: [['0–1 %', 3]] }, 'order (τ)');
    expect(tex).toContain('$\\tau$ from & n');
    expect(tex).toContain('0--1 \\% & 3');
    // nothing outside ASCII is left for pdflatex to choke on
    expect([...tex].every((c) => c.charCodeAt(0) < 128)).toBe(true);
  });

  it('SVG text: markup escaped, the control characters XML forbids shown as control pictures', () => {
    expect(esc('a<b>&"c"')).toBe('a&lt;b&gt;&amp;&quot;c&quot;');
    expect(esc('page\u000cbreak\u0000')).toBe('page\u240cbreak\u2400');
    expect(esc('tab\tnewline\n')).toBe('tab\tnewline\n'); // allowed in XML: kept
    expect(esc('half \ud800 pair 😀')).toBe('half \ufffd pair 😀');
    const all = esc(String.fromCharCode(...Array.from({ length: 32 }, (_, i) => i)));
    const forbidden = [...all].filter((c) => c.charCodeAt(0) < 32 && !'\t\n\r'.includes(c));
    expect(forbidden).toEqual([]);
  });
});

describe('axes of whole things', () => {
  it('steps, positions and layers get integer ticks, zoomed in or not', () => {
    const s = (a: number, b: number) => d3.scaleLinear().domain([a, b]).range([0, 300]);
    expect(integerTicks(s(1.7, 2.15), 8)).toEqual([2]);
    expect(integerTicks(s(0, 3), 8)).toEqual([0, 1, 2, 3]); // d3 alone gives 0, 0.5, 1, ...
    expect(integerTicks(s(40.2, 40.9), 8)).toEqual([]); // no whole number inside: no tick
    expect(integerTicks(s(0, 520), 8).every(Number.isInteger)).toBe(true);
    const svg = axisSvg(s(0, 3), 'bottom', '', 8, true);
    expect([...svg.matchAll(/>([^<]+)<\/text>/g)].map((m) => m[1])).toEqual(['0', '1', '2', '3']);
  });
});
