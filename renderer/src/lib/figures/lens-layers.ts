import * as d3 from 'd3';
import type { LoadedTrace } from '../traceModel.js';
import { tokenText } from '../traceModel.js';
import { axisSvg, esc, type FigureSize } from '../exporters.js';
import { FIGURE_MARGIN as M } from '../margins.js';
import { unitLegendSvg } from './unit-legend.js';
import { finalTokens } from '../../../../engine/metrics/index.js';
import { isMaskedAt } from '../../../../engine/trace/trace.js';

/** One step's logit lens, [Ly, G] each, as the trace holds it. */
export interface LensRows {
  ids: Int32Array;
  probs: Float32Array;
}

/** Short text of a token for a cell: special tokens without their brackets, whitespace made visible, long ones cut. */
const cellText = (s: string) => {
  const v = s
    .replace(/^<\|(.+)\|>$/, '$1')
    .replace(/\n/g, '⏎')
    .replace(/ /g, '·');
  return v.length > 5 ? `${v.slice(0, 4)}…` : v;
};

/**
 * The logit lens at one step: generated positions across, layers up (the last layer, the model's own prediction, on
 * top). Each cell is that layer's top-1 token, coloured by its probability; a white outline marks the cells whose
 * token is the position's final token, so a column shows at which layer the answer appears. Positions still masked
 * at this step are labelled in bold on the axis; cells the step did not compute are blank.
 */
export function lensLayersSvg(lt: LoadedTrace, step: number, rows: LensRows, size: FigureSize, title: string): string {
  const { width, height } = size;
  const t = lt.trace,
    { Ly, G, P } = t.dims;
  const w = width - M.left - M.right,
    h = height - M.top - M.bottom - 24; // room for the final tokens under the axis
  const cw = w / Math.max(1, G),
    ch = h / Math.max(1, Ly);
  const color = d3.scaleSequential(d3.interpolateViridis).domain([0, 1]);
  const final = finalTokens(t);
  const showText = cw >= 16 && ch >= 12;
  let cells = '';
  for (let l = 0; l < Ly; l++)
    for (let g = 0; g < G; g++) {
      const id = rows.ids[l * G + g]!;
      if (id < 0) continue;
      const p = rows.probs[l * G + g]!;
      const x = g * cw,
        y = (Ly - 1 - l) * ch;
      const hit = id === final[g];
      const text = tokenText(t, id);
      cells += `<rect x="${x.toFixed(2)}" y="${y.toFixed(2)}" width="${cw.toFixed(2)}" height="${ch.toFixed(2)}" fill="${color(Number.isNaN(p) ? 0 : p)}"${hit ? ' stroke="white" stroke-width="1.5" class="lens-final"' : ''}><title>position ${P + g}, layer ${l + 1}: ${esc(JSON.stringify(text))} p=${Number.isNaN(p) ? 'n/a' : p.toFixed(3)}${hit ? ' (the final token)' : ''}</title></rect>`;
      if (showText)
        cells += `<text x="${(x + cw / 2).toFixed(2)}" y="${(y + ch / 2).toFixed(2)}" dy="0.35em" text-anchor="middle" font-family="monospace" font-size="${Math.min(11, ch * 0.6).toFixed(1)}" fill="${p > 0.6 ? 'black' : 'white'}" pointer-events="none">${esc(cellText(text))}</text>`;
    }
  // Under the plot: each position's final token, bold where the position is still masked at this step.
  let finals = '';
  if (cw >= 9)
    for (let g = 0; g < G; g++) {
      const masked = isMaskedAt(t, step, P + g);
      finals += `<text x="${(g * cw + cw / 2).toFixed(2)}" y="${h + 14}" text-anchor="middle" font-family="monospace" font-size="${Math.min(10, cw * 0.7).toFixed(1)}"${masked ? ' font-weight="bold"' : ' fill="#777"'}>${esc(cellText(tokenText(t, final[g]!)))}</text>`;
    }
  const y = d3
    .scaleLinear()
    .domain([Ly + 0.5, 0.5])
    .range([0, h]);
  const x = d3
    .scaleLinear()
    .domain([P, P + G])
    .range([0, w]);
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}">
<rect width="100%" height="100%" fill="white"/>
<text x="${M.left}" y="18" font-family="sans-serif" font-size="13">${esc(title)}</text>
<g transform="translate(${M.left},${M.top})">${cells}${finals}</g>
${axisSvg(y, 'left', `translate(${M.left},${M.top})`, Math.min(Ly, 8), true)}
${axisSvg(x, 'bottom', `translate(${M.left},${M.top + h + 20})`, 8, true)}
<text x="${M.left + w / 2}" y="${height - 6}" text-anchor="middle" font-family="sans-serif" font-size="11">position (final token above; bold: still masked at step ${step})</text>
<text transform="translate(14,${M.top + h / 2}) rotate(-90)" text-anchor="middle" font-family="sans-serif" font-size="11">layer</text>
<g transform="translate(${M.left + w + 10},${M.top})">${unitLegendSvg('ll', color, h, ['top-1', 'probability'])}</g>
</svg>`;
}
