import * as d3 from 'd3';
import { axisSvg } from '../exporters.js';

/**
 * The colour legend of a figure whose colours encode a share in [0, 1] (a probability, a confidence): a vertical
 * gradient, 1 on top, its axis, and a two-line caption under it. `id` names the gradient, unique within the figure.
 * Stops ascend in offset: SVG clamps a descending offset to the previous one.
 */
export function unitLegendSvg(id: string, color: (t: number) => string, plotHeight: number, caption: [string, string]) {
  const h = Math.min(160, plotHeight);
  const stops = d3
    .range(0, 11)
    .map((i) => `<stop offset="${i * 10}%" stop-color="${color(1 - i / 10)}"/>`)
    .join('');
  return `<defs><linearGradient id="${id}" x1="0" x2="0" y1="0" y2="1">${stops}</linearGradient></defs><rect width="12" height="${h}" fill="url(#${id})"/>${axisSvg(d3.scaleLinear().domain([0, 1]).range([h, 0]), 'right', 'translate(12,0)', 5)}<text x="0" y="${h + 16}" font-family="sans-serif" font-size="9">${caption[0]}</text><text x="0" y="${h + 28}" font-family="sans-serif" font-size="9">${caption[1]}</text>`;
}
