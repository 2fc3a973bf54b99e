import * as d3 from 'd3';
import { axisSvg, esc, type FigureSize } from '../exporters.js';
import { FIGURE_MARGIN as M } from '../margins.js';
import { cssColor } from '../colormaps.js';
import { PALETTE } from './aup-plot.js';
import type { IndexRow } from '../../../../engine/api/types.js';
import { DETECTORS } from '../../../../engine/metrics/detectors/index.js';
import { GRID } from '../../../../engine/metrics/confidence-grid.js';
import { groupOf } from '../set-table.js';

/**
 * The Set view's figures over the decodes the filters keep, each as data (what its CSV/LaTeX table holds) and an SVG
 * built from that data: which detectors fire and how often, per strategy; mean confidence by relative step ×
 * relative answer position; the distribution of decoding order (Kendall τ of commit step against position).
 */
export type Table = { header: string[]; rows: (string | number)[][] };

const empty = (size: FigureSize, note: string) =>
  `<svg xmlns="http://www.w3.org/2000/svg" width="${size.width}" height="${size.height}"><rect width="100%" height="100%" fill="white"/><text x="${M.left}" y="40" font-family="sans-serif" font-size="12">${esc(note)}</text></svg>`;

const groupsOf = (rows: IndexRow[]) => [...d3.group(rows, groupOf)];

/** Per strategy / cache: the share of its decodes in which each detector fired (detectors that never fire left out). */
export function detectorShares(rows: IndexRow[]) {
  const groups = groupsOf(rows);
  const fired = DETECTORS.filter((d) => rows.some((r) => r.detectors.includes(d.id)));
  return {
    groups: groups.map(([g]) => g),
    detectors: fired.map((d) => ({ id: d.id, label: d.label })),
    share: groups.map(([, rs]) => fired.map((d) => rs.filter((r) => r.detectors.includes(d.id)).length / rs.length)),
    n: groups.map(([, rs]) => rs.length),
  };
}
export type DetectorShares = ReturnType<typeof detectorShares>;

export const detectorSharesTable = (d: DetectorShares): Table => ({
  header: ['strategy / cache', 'decodes', ...d.detectors.map((x) => `${x.label} %`)],
  rows: d.groups.map((g, i) => [g, d.n[i]!, ...d.share[i]!.map((v) => Number((v * 100).toFixed(1)))]),
});

export function detectorSharesSvg(d: DetectorShares, size: FigureSize, title: string): string {
  if (!d.detectors.length) return empty(size, 'No detector fired in these decodes.');
  const { width, height } = size;
  const w = width - M.left - 90 - legendWidth(d.groups) - 16,
    h = height - M.top - M.bottom;
  const band = d3
    .scaleBand()
    .domain(d.detectors.map((x) => x.id))
    .range([0, h])
    .padding(0.2);
  const inner = d3.scaleBand().domain(d.groups).range([0, band.bandwidth()]).padding(0.05);
  const x = d3.scaleLinear().domain([0, 1]).range([0, w]);
  const bars = d.detectors
    .map((det, j) =>
      d.groups
        .map((g, i) => {
          const v = d.share[i]![j]!;
          return `<rect x="0" y="${(band(det.id)! + inner(g)!).toFixed(1)}" width="${x(v).toFixed(1)}" height="${inner.bandwidth().toFixed(1)}" fill="${PALETTE[i % PALETTE.length]}"><title>${esc(det.label)}, ${esc(g)}: ${(v * 100).toFixed(1)} % of ${d.n[i]} decodes</title></rect>`;
        })
        .join(''),
    )
    .join('');
  const labels = d.detectors
    .map(
      (det) =>
        `<text x="-6" y="${(band(det.id)! + band.bandwidth() / 2).toFixed(1)}" dy="0.32em" text-anchor="end" font-family="sans-serif" font-size="10">${esc(det.label)}</text>`,
    )
    .join('');
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}">
<rect width="100%" height="100%" fill="white"/>
<text x="${M.left}" y="18" font-family="sans-serif" font-size="13">${esc(title)}</text>
<g transform="translate(${M.left + 90},${M.top})">${bars}${labels}</g>
${axisSvg(x, 'bottom', `translate(${M.left + 90},${M.top + h})`, 5)}
<text x="${M.left + 90 + w / 2}" y="${height - 6}" text-anchor="middle" font-family="sans-serif" font-size="11">share of decodes in which it fired</text>
${legendSvg(d.groups, M.left + 90 + w + 12, M.top)}
</svg>`;
}

/** Width of the legend column for `groups` (labels cut at 28 characters). */
const legendWidth = (groups: string[]) => 24 + 6 * Math.min(28, Math.max(0, ...groups.map((g) => g.length)));
const cut = (g: string) => (g.length > 28 ? `${g.slice(0, 27)}…` : g);

const legendSvg = (groups: string[], x: number, y: number) =>
  `<g transform="translate(${x},${y})">${groups
    .map(
      (g, i) =>
        `<g transform="translate(0,${i * 16})"><rect width="10" height="10" fill="${PALETTE[i % PALETTE.length]}"/><text x="14" y="9" font-family="sans-serif" font-size="10">${esc(cut(g))}</text></g>`,
    )
    .join('')}</g>`;

/**
 * The decodes' confidence grids averaged bin by bin (each decode weighs the same; a bin's mean is over the decodes
 * that have a statistic there): GRID × GRID, rows the relative step, columns the relative answer position.
 */
export function confidenceByStepAndPosition(rows: IndexRow[], gridOf: (r: IndexRow) => (number | null)[] | undefined) {
  const sum = new Float64Array(GRID * GRID),
    count = new Uint32Array(GRID * GRID);
  let decodes = 0;
  for (const r of rows) {
    const grid = gridOf(r);
    if (!grid) continue;
    let any = false;
    grid.forEach((v, i) => {
      if (v !== null && i < GRID * GRID) {
        sum[i]! += v;
        count[i]!++;
        any = true;
      }
    });
    if (any) decodes++;
  }
  return { mean: Array.from(sum, (v, i) => (count[i] ? v / count[i]! : null)), count: Array.from(count), decodes };
}
export type ConfidenceGrid = ReturnType<typeof confidenceByStepAndPosition>;

const binLabel = (i: number) => `${Math.round((i * 100) / GRID)}–${Math.round(((i + 1) * 100) / GRID)} %`;

export const confidenceGridTable = (c: ConfidenceGrid): Table => ({
  header: ['relative step', ...Array.from({ length: GRID }, (_, j) => `answer ${binLabel(j)}`)],
  rows: Array.from({ length: GRID }, (_, i) => [
    binLabel(i),
    ...Array.from({ length: GRID }, (_, j) => {
      const v = c.mean[i * GRID + j];
      return v === null || v === undefined ? '' : Number(v.toFixed(3));
    }),
  ]),
});

export function confidenceGridSvg(
  c: ConfidenceGrid,
  size: FigureSize,
  title: string,
  colormap = 'viridis',
  loading = false,
): string {
  if (loading) return empty(size, 'Reading the confidence grids of the set…');
  if (!c.decodes) return empty(size, 'These decodes have no confidence statistics in their answers.');
  const { width, height } = size;
  const side = Math.min(width - M.left - M.right, height - M.top - M.bottom);
  const cell = side / GRID;
  const rects = c.mean
    .map((v, i) => {
      const row = Math.floor(i / GRID),
        col = i % GRID;
      const fill = v === null ? '#eee' : cssColor(colormap, v);
      const tip = v === null ? 'no statistic' : `mean confidence ${v.toFixed(3)} over ${c.count[i]} decodes`;
      return `<rect x="${(col * cell).toFixed(1)}" y="${(row * cell).toFixed(1)}" width="${cell.toFixed(1)}" height="${cell.toFixed(1)}" fill="${fill}"><title>steps ${binLabel(row)}, answer ${binLabel(col)}: ${tip}</title></rect>`;
    })
    .join('');
  const axis = d3.scaleLinear().domain([0, 1]).range([0, side]);
  const legend = Array.from({ length: 11 }, (_, k) => {
    const v = 1 - k / 10;
    return `<rect x="0" y="${(k * side) / 11}" width="12" height="${side / 11 + 0.5}" fill="${cssColor(colormap, v)}"/><text x="16" y="${((k + 0.6) * side) / 11}" font-family="sans-serif" font-size="9">${v.toFixed(1)}</text>`;
  }).join('');
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}">
<rect width="100%" height="100%" fill="white"/>
<text x="${M.left}" y="18" font-family="sans-serif" font-size="13">${esc(title)}</text>
<g transform="translate(${M.left},${M.top})">${rects}</g>
${axisSvg(axis, 'bottom', `translate(${M.left},${M.top + side})`, 5)}
${axisSvg(axis, 'left', `translate(${M.left},${M.top})`, 5)}
<text x="${M.left + side / 2}" y="${M.top + side + 34}" text-anchor="middle" font-family="sans-serif" font-size="11">relative answer position</text>
<text transform="translate(14,${M.top + side / 2}) rotate(-90)" text-anchor="middle" font-family="sans-serif" font-size="11">relative step (first at top)</text>
<g transform="translate(${M.left + side + 16},${M.top})">${legend}</g>
</svg>`;
}

const TAU_BINS = 20;

/**
 * Per strategy / cache: how many decodes have their Kendall τ (commit step against answer position: 1 is strictly
 * left to right, −1 right to left, near 0 no order) in each of 20 bins over [−1, 1]; decodes without τ left out.
 */
export function kendallDistribution(rows: IndexRow[]) {
  const groups = groupsOf(rows);
  const counts = groups.map(([, rs]) => {
    const c = new Array<number>(TAU_BINS).fill(0);
    for (const r of rs)
      if (r.kendall !== null && Number.isFinite(r.kendall))
        c[Math.min(TAU_BINS - 1, Math.max(0, Math.floor(((r.kendall + 1) / 2) * TAU_BINS)))]!++;
    return c;
  });
  const medians = groups.map(([, rs]) => {
    const ks = rs.map((r) => r.kendall).filter((k): k is number => k !== null && Number.isFinite(k));
    return ks.length ? d3.median(ks)! : null;
  });
  return { groups: groups.map(([g]) => g), counts, medians };
}
export type KendallDistribution = ReturnType<typeof kendallDistribution>;

const tauEdge = (i: number) => -1 + (2 * i) / TAU_BINS;

export const kendallTable = (k: KendallDistribution): Table => ({
  header: ['τ from', 'τ to', ...k.groups],
  rows: Array.from({ length: TAU_BINS }, (_, i) => [
    Number(tauEdge(i).toFixed(2)),
    Number(tauEdge(i + 1).toFixed(2)),
    ...k.counts.map((c) => c[i]!),
  ]),
});

export function kendallSvg(k: KendallDistribution, size: FigureSize, title: string): string {
  const total = k.counts.flat().reduce((a, b) => a + b, 0);
  if (!total) return empty(size, 'These decodes have no decoding order (Kendall τ) to show.');
  const { width, height } = size;
  const w = width - M.left - legendWidth(k.groups) - 16,
    h = height - M.top - M.bottom;
  const x = d3.scaleLinear().domain([-1, 1]).range([0, w]);
  // Shares within each group, so that a strategy with fewer decodes is not drawn flatter.
  const shares = k.counts.map((c) => {
    const n = c.reduce((a, b) => a + b, 0);
    return c.map((v) => (n ? v / n : 0));
  });
  const y = d3
    .scaleLinear()
    .domain([0, Math.max(0.05, d3.max(shares.flat())!)])
    .range([h, 0])
    .nice();
  const lines = shares
    .map((s, g) => {
      const d = s.map((v, i) => `${i ? 'V' : 'M0,'}${y(v).toFixed(1)}H${x(tauEdge(i + 1)).toFixed(1)}`).join('');
      const med = k.medians[g];
      const mark =
        med === null || med === undefined
          ? ''
          : `<line x1="${x(med).toFixed(1)}" x2="${x(med).toFixed(1)}" y1="0" y2="${h}" stroke="${PALETTE[g % PALETTE.length]}" stroke-dasharray="3,3"><title>${esc(k.groups[g]!)}: median τ ${med.toFixed(2)}</title></line>`;
      return `<path d="${d}" fill="none" stroke="${PALETTE[g % PALETTE.length]}" stroke-width="1.8"/>${mark}`;
    })
    .join('');
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}">
<rect width="100%" height="100%" fill="white"/>
<text x="${M.left}" y="18" font-family="sans-serif" font-size="13">${esc(title)}</text>
<g transform="translate(${M.left},${M.top})">${lines}</g>
${axisSvg(x, 'bottom', `translate(${M.left},${M.top + h})`, 8)}
${axisSvg(y, 'left', `translate(${M.left},${M.top})`, 5)}
<text x="${M.left + w / 2}" y="${height - 6}" text-anchor="middle" font-family="sans-serif" font-size="11">Kendall τ of commit step against answer position (1: left to right)</text>
<text transform="translate(14,${M.top + h / 2}) rotate(-90)" text-anchor="middle" font-family="sans-serif" font-size="11">share of decodes</text>
${legendSvg(k.groups, M.left + w + 12, M.top)}
</svg>`;
}
