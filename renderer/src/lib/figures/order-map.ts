import * as d3 from 'd3';
import type { LoadedTrace } from '../traceModel.js';
import { axisSvg, esc, type FigureSize } from '../exporters.js';
import { FIGURE_MARGIN as M } from '../margins.js';
import { unitLegendSvg } from './unit-legend.js';
import { confidenceAtCommit } from '../../../../engine/metrics/index.js';

/**
 * Decoding-order map: one mark per generated position at (the step that committed it, its position), coloured by
 * its confidence at that step. A left-to-right decode is a diagonal; parallel commits stack in one column. EOS
 * padding is drawn faint so the answer's order stands out.
 */
export function orderMapSvg(lt: LoadedTrace, size: FigureSize, title: string): string {
  const { width, height } = size;
  const w = width - M.left - M.right,
    h = height - M.top - M.bottom;
  const t = lt.trace,
    { S, P, G } = t.dims;
  const x = d3
    .scaleLinear()
    .domain([0, Math.max(1, S)])
    .range([0, w]);
  const y = d3
    .scaleLinear()
    .domain([P, P + G])
    .range([0, h]);
  const color = d3.scaleSequential(d3.interpolateViridis).domain([0, 1]);
  const conf = confidenceAtCommit(t);
  const cw = Math.max(1, x(1) - x(0)),
    ch = Math.max(1, y(P + 1) - y(P));
  let marks = '';
  for (let g = 0; g < G; g++) {
    const s = t.commitStep[P + g]! - 1;
    if (s < 0) continue;
    const c = conf[g]!;
    const fill = Number.isNaN(c) ? '#999' : color(c);
    const faint = lt.regions.has('padding', P + g) ? ' fill-opacity="0.3"' : '';
    marks += `<rect x="${x(s).toFixed(2)}" y="${y(P + g).toFixed(2)}" width="${cw.toFixed(2)}" height="${ch.toFixed(2)}" fill="${fill}"${faint}><title>position ${P + g}, step ${s}, confidence ${Number.isNaN(c) ? 'not recorded' : c.toFixed(3)}</title></rect>`;
  }
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}">
<rect width="100%" height="100%" fill="white"/>
<text x="${M.left}" y="18" font-family="sans-serif" font-size="13">${esc(title)}</text>
<g transform="translate(${M.left},${M.top})">${marks}</g>
${axisSvg(x, 'bottom', `translate(${M.left},${M.top + h})`, 8, true)}
${axisSvg(y, 'left', `translate(${M.left},${M.top})`, 8, true)}
<text x="${M.left + w / 2}" y="${height - 6}" text-anchor="middle" font-family="sans-serif" font-size="11">commit step</text>
<text transform="translate(14,${M.top + h / 2}) rotate(-90)" text-anchor="middle" font-family="sans-serif" font-size="11">position</text>
<g transform="translate(${M.left + w + 10},${M.top})">${unitLegendSvg('om', color, h, ['confidence', 'at commit'])}</g>
</svg>`;
}
