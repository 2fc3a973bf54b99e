import * as d3 from 'd3';
import { axisSvg, esc, type FigureSize } from '../exporters.js';
import { FIGURE_MARGIN as M } from '../margins.js';
import type { BenchFileCell } from '../bench-file.js';

/** One strategy (and cache) of a bench, over the suites chosen: the point it puts on the AUP plot. */
export interface BenchPoint {
  key: string;
  strategy: string;
  cache: string;
  accuracy: number;
  tpf: number;
  cells: BenchFileCell[];
}

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);

/** Points per strategy|cache over `suite` ('all': the mean over suites, as `dlens bench`'s AUP table). */
export function benchPoints(cells: BenchFileCell[], suite: string): BenchPoint[] {
  const cs = suite === 'all' ? cells : cells.filter((c) => c.suite === suite);
  const keys = [...new Set(cs.map((c) => `${c.strategy}|${c.cache}`))];
  return keys.map((key) => {
    const mine = cs.filter((c) => `${c.strategy}|${c.cache}` === key);
    return {
      key,
      strategy: mine[0]!.strategy,
      cache: mine[0]!.cache,
      accuracy: mean(mine.map((c) => c.accuracy)),
      tpf: mean(mine.map((c) => c.tpf)),
      cells: mine,
    };
  });
}

export const PALETTE = d3.schemeTableau10;

/**
 * Accuracy against tokens per forward (the AUP plot, hao-ai-lab's leaderboard): each strategy's point, and the area
 * under its curve from the first strategy's point at TPF 1 (the one-token-per-forward baseline) shaded, as
 * `dlens bench` computes AUP (docs/strategies.md). Points carry data-key for clicks.
 */
export function aupSvg(points: BenchPoint[], size: FigureSize, title: string, selected: string | null): string {
  const { width, height } = size;
  const w = width - M.left - M.right - 120,
    h = height - M.top - M.bottom;
  if (!points.length) return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}"></svg>`;
  const x = d3
    .scaleLinear()
    .domain([0, Math.max(2, d3.max(points, (p) => p.tpf)! * 1.08)])
    .range([0, w])
    .nice();
  const y = d3.scaleLinear().domain([0, 1]).range([h, 0]);
  const base = points[0]!;
  const areas = points
    .slice(1)
    .map((p, i) => {
      const c = PALETTE[(i + 1) % PALETTE.length]!;
      const pts = [
        [x(1), y(0)],
        [x(1), y(base.accuracy)],
        [x(p.tpf), y(p.accuracy)],
        [x(p.tpf), y(0)],
      ];
      return `<polygon points="${pts.map((q) => q.map((v) => v.toFixed(1)).join(',')).join(' ')}" fill="${c}" fill-opacity="0.12" stroke="${c}" stroke-opacity="0.5"/>`;
    })
    .join('');
  const marks = points
    .map((p, i) => {
      const c = PALETTE[i % PALETTE.length]!;
      const r = p.key === selected ? 7 : 5;
      return `<circle data-key="${esc(p.key)}" cx="${x(p.tpf).toFixed(1)}" cy="${y(p.accuracy).toFixed(1)}" r="${r}" fill="${c}" stroke="${p.key === selected ? '#000' : '#fff'}" stroke-width="1.5" style="cursor:pointer"><title>${esc(p.strategy)} (${esc(p.cache)}): accuracy ${(p.accuracy * 100).toFixed(1)} %, TPF ${p.tpf.toFixed(2)}</title></circle>`;
    })
    .join('');
  const legend = points
    .map(
      (p, i) =>
        `<g transform="translate(0,${i * 16})"><circle cx="5" cy="5" r="5" fill="${PALETTE[i % PALETTE.length]}"/><text x="14" y="9" font-family="sans-serif" font-size="10">${esc(p.cache === 'none' ? p.strategy : `${p.strategy} · ${p.cache}`)}</text></g>`,
    )
    .join('');
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}">
<rect width="100%" height="100%" fill="white"/>
<text x="${M.left}" y="18" font-family="sans-serif" font-size="13">${esc(title)}</text>
<g transform="translate(${M.left},${M.top})">${areas}${marks}</g>
${axisSvg(x, 'bottom', `translate(${M.left},${M.top + h})`)}
${axisSvg(y, 'left', `translate(${M.left},${M.top})`, 5)}
<text x="${M.left + w / 2}" y="${height - 6}" text-anchor="middle" font-family="sans-serif" font-size="11">tokens per forward (all positions)</text>
<text transform="translate(14,${M.top + h / 2}) rotate(-90)" text-anchor="middle" font-family="sans-serif" font-size="11">accuracy</text>
<g transform="translate(${M.left + w + 16},${M.top})">${legend}</g>
</svg>`;
}
