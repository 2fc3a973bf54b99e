/** Figures as SVG: axes, the heatmap with its colour bar, the token timeline, volatility (tables: table-export.ts). */
import * as d3 from 'd3';
import type { LoadedTrace } from './traceModel.js';
import type { Matrix } from './heatmap.js';
import { CATEGORICAL, cssColor } from './colormaps.js';
import { FIGURE_MARGIN } from './margins.js';
import { bandsWithin, type Region } from '../../../engine/metrics/index.js';
import type { ZoomXY } from './use-zoom.js';
import { lifeMarksSvg, positionLives, REVISION_COLOR } from './figures/revisions.js';

export interface FigureSize {
  width: number;
  height: number;
}
const M = FIGURE_MARGIN;
type Orient = 'bottom' | 'left' | 'right';
/**
 * Ticks for an axis of whole things (steps, positions, layers): never 0.5 or 2.15. A zoomed domain narrower than one
 * tick interval still gets the whole numbers inside it.
 */
export function integerTicks(scale: d3.ScaleLinear<number, number>, count: number): number[] {
  const ticks = scale.ticks(count).filter(Number.isInteger);
  if (ticks.length) return ticks;
  const [a, b] = scale.domain() as [number, number];
  const lo = Math.ceil(Math.min(a, b)),
    hi = Math.floor(Math.max(a, b));
  return d3.range(lo, hi + 1).slice(0, Math.max(1, count));
}

/**
 * An axis as SVG text from a d3 scale's ticks and format (what d3.axis draws, without needing a document), so
 * figures build anywhere: in the page, in tests, in a headless export.
 */
export function axisSvg(
  scale: d3.ScaleLinear<number, number>,
  orient: Orient,
  transform: string,
  count = 8,
  integer = false,
): string {
  const ticks = integer ? integerTicks(scale, count) : scale.ticks(count),
    fmt = integer ? d3.format('d') : scale.tickFormat(count);
  const [r0, r1] = scale.range() as [number, number];
  const horiz = orient === 'bottom',
    sign = orient === 'left' ? -1 : 1;
  const domain = horiz ? `M${r0},6V0H${r1}V6` : `M${sign * 6},${r0}H0V${r1}H${sign * 6}`;
  const marks = ticks
    .map((t) => {
      const v = scale(t);
      return horiz
        ? `<g class="tick" transform="translate(${v},0)"><line y2="6" stroke="currentColor"/><text y="9" dy="0.71em" text-anchor="middle" fill="currentColor">${fmt(t)}</text></g>`
        : `<g class="tick" transform="translate(0,${v})"><line x2="${sign * 6}" stroke="currentColor"/><text x="${sign * 9}" dy="0.32em" text-anchor="${sign < 0 ? 'end' : 'start'}" fill="currentColor">${fmt(t)}</text></g>`;
    })
    .join('');
  return `<g transform="${transform}" font-size="10" font-family="sans-serif" fill="none"><path d="${domain}" stroke="currentColor"/>${marks}</g>`;
}
/**
 * Text for SVG/XML: markup escaped, and the control characters XML 1.0 forbids (a token may be U+000C) shown as their
 * Unicode control pictures (␌), so that every exported figure parses and rasterises.
 */
export const esc = (s: string) =>
  s
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    // eslint-disable-next-line no-control-regex
    .replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f]/g, (c) => String.fromCharCode(0x2400 + c.charCodeAt(0)))
    .replace(/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g, '\ufffd');

/**
 * The heatmap as a standalone SVG: the cells as an embedded PNG (a million cells as vector rectangles would not
 * open in any editor), axes, title and colour legend as vectors. `png` is the data URL of the painted matrix.
 */
export function heatmapSvg(
  m: Matrix,
  png: string,
  colormap: string,
  size: FigureSize,
  title: string,
  view?: { s0: number; s1: number; r0: number; r1: number },
): string {
  const { width, height } = size;
  const w = width - M.left - M.right,
    h = height - M.top - M.bottom;
  const v = view ?? { s0: 0, s1: m.cols, r0: m.rowStart, r1: m.rowStart + m.rows };
  const x = d3.scaleLinear().domain([v.s0, v.s1]).range([0, w]);
  const y = d3.scaleLinear().domain([v.r0, v.r1]).range([0, h]);
  // The embedded image covers the whole matrix; the clip shows the visible window.
  const ix = x(0),
    iy = y(m.rowStart),
    iw = x(m.cols) - x(0),
    ih = y(m.rowStart + m.rows) - y(m.rowStart);
  const legend = legendSvg(m, colormap, h);
  return `<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}">
<rect width="100%" height="100%" fill="white"/>
<text x="${M.left}" y="18" font-family="sans-serif" font-size="13">${esc(title)}</text>
<defs><clipPath id="plot"><rect x="0" y="0" width="${w}" height="${h}"/></clipPath></defs>
<g transform="translate(${M.left},${M.top})"><g clip-path="url(#plot)"><image x="${ix}" y="${iy}" width="${iw}" height="${ih}" preserveAspectRatio="none" image-rendering="pixelated" style="image-rendering:pixelated" href="${png}" xlink:href="${png}"/></g></g>
${axisSvg(x, 'bottom', `translate(${M.left},${M.top + h})`, 8, true)}
${axisSvg(y, 'left', `translate(${M.left},${M.top})`, 8, true)}
<text x="${M.left + w / 2}" y="${height - 6}" text-anchor="middle" font-family="sans-serif" font-size="11">step</text>
<text transform="translate(14,${M.top + h / 2}) rotate(-90)" text-anchor="middle" font-family="sans-serif" font-size="11">position</text>
<g transform="translate(${M.left + w + 16},${M.top})">${legend}</g>
</svg>`;
}

function legendSvg(m: Matrix, colormap: string, h: number): string {
  if (m.kind === 'categorical') {
    return (m.categories ?? [])
      .map(
        (c, i) =>
          `<rect x="0" y="${i * 18}" width="12" height="12" fill="${CATEGORICAL[i % CATEGORICAL.length]}"/><text x="16" y="${i * 18 + 10}" font-family="sans-serif" font-size="10">${esc(c)}</text>`,
      )
      .join('');
  }
  const stops = d3
    .range(0, 1.0001, 0.1)
    .map((t) => `<stop offset="${t}" stop-color="${cssColor(colormap, 1 - t)}"/>`)
    .join('');
  const y = d3
    .scaleLinear()
    .domain(m.domain)
    .range([h - 40, 0]);
  // The bar's title (what the colours measure) above it, and what a white cell means below it.
  return `<text x="0" y="-8" font-family="sans-serif" font-size="10">${esc(m.label)}</text><defs><linearGradient id="lg" x1="0" x2="0" y1="0" y2="1">${stops}</linearGradient></defs><rect width="12" height="${h - 40}" fill="url(#lg)"/>${axisSvg(y, 'right', 'translate(12,0)', 5)}<rect y="${h - 24}" width="12" height="12" fill="white" stroke="#999"/><text x="16" y="${h - 14}" font-family="sans-serif" font-size="9">not computed</text>`;
}

/** Token timeline as vector SVG: per position, first right (circle), stable (bar start) and commit (bar end). */
/** Token timeline figure: one row per position of `region` (the others' rows stay empty, so positions line up). */
export function timelineSvg(
  lt: LoadedTrace,
  size: FigureSize,
  title: string,
  region: Region = 'all',
  fit: 'all' | 'answer' = 'all',
  zoom: ZoomXY = { k: 1, x: 0, y: 0 },
): string {
  const { width, height } = size;
  const w = width - M.left - M.right,
    h = height - M.top - M.bottom;
  const { P, G } = lt.trace.dims;
  const steps = timelineSteps(lt, fit);
  // 'answer': a long decode's EOS padding collapses into one band (its row -1) and the steps end where the answer's
  // last token was committed, so 34 answer tokens of a 512-step trace fill the figure instead of a corner.
  const padding = lt.timings.filter((t) => lt.regions.has('padding', t.position));
  const collapse = fit === 'answer' && padding.length > 0;
  const rows = collapse ? [...d3.range(P, P + G).filter((p) => !lt.regions.has('padding', p)), -1] : d3.range(P, P + G);
  // Zoomed (a transform in the plot's pixels, as the heatmap's): the steps and rows in view fill the plot.
  const { k, x: zx, y: zy } = zoom;
  const x = d3
    .scaleLinear()
    .domain([(-zx / (w * k)) * steps, ((w - zx) / (w * k)) * steps])
    .range([0, w]);
  const y = d3
    .scaleBand<number>()
    .domain(rows)
    .range([zy, zy + h * k])
    .padding(0.15);
  const inView = (p: number) => y(p)! + y.bandwidth() >= 0 && y(p)! <= h;
  const shown = collapse ? lt.timings.filter((t) => !lt.regions.has('padding', t.position)) : lt.timings;
  const band = collapse
    ? (() => {
        const c0 = d3.min(padding, (t) => t.commit) ?? 0,
          c1 = d3.max(padding, (t) => t.commit) ?? 0;
        const yy = y(-1)!,
          x0 = Math.max(0, x(Math.max(0, c0))),
          x1 = Math.min(w, x(c1 + 1));
        return `<g data-testid="padding-band"><rect x="0" y="${yy}" width="${w}" height="${y.bandwidth()}" fill="#eee"/><rect x="${x0}" y="${yy}" width="${Math.max(1, x1 - x0)}" height="${y.bandwidth()}" fill="#bbb"/><text x="4" y="${yy + y.bandwidth() / 2}" dy="0.35em" font-family="sans-serif" font-size="10">EOS padding: ${padding.length} positions, committed at steps ${c0}–${c1}</text></g>`;
      })()
    : '';
  const marks = shown
    .filter((t) => lt.regions.has(region, t.position) && inView(t.position))
    .map((t) => {
      const yy = y(t.position)!,
        bh = Math.max(0.5, y.bandwidth());
      let s = '';
      if (t.stableFrom >= 0 && t.commit >= 0)
        s += `<rect x="${x(t.stableFrom)}" y="${yy}" width="${Math.max(0.5, x(t.commit + 1) - x(t.stableFrom))}" height="${bh}" fill="${CATEGORICAL[1]}" fill-opacity="0.55"/>`;
      if (t.commit >= 0)
        s += `<rect x="${x(t.commit)}" y="${yy}" width="${Math.max(1, x(t.commit + 1) - x(t.commit))}" height="${bh}" fill="${CATEGORICAL[2]}"/>`;
      if (t.firstCorrect >= 0)
        s += `<circle cx="${x(t.firstCorrect + 0.5)}" cy="${yy + bh / 2}" r="${Math.min(3, bh / 2 + 0.5)}" fill="${CATEGORICAL[3]}"/>`;
      return s;
    })
    .join('');
  // Positions whose committed token changed (remasking and editing decoders): their life over the steps.
  const lives = positionLives(lt.trace);
  const life = lifeMarksSvg(
    lives,
    (s) => x(s),
    (p) =>
      lt.regions.has(region, p) && y(p) !== undefined && inView(p)
        ? { y: y(p)!, h: Math.max(0.5, y.bandwidth()) }
        : null,
    lt.trace.dims.S,
  );
  // Labels in lines that fit the right margin (a line each: "stable → commit" in one was cut at the edge).
  const lg = [
    [['first right'], 3],
    [['stable →', 'commit'], 1],
    [['commit'], 2],
  ] as const;
  const revLegend = lives.size
    ? `<path d="M5,${3 * 30}L10,${3 * 30 + 5}L5,${3 * 30 + 10}L0,${3 * 30 + 5}Z" fill="${REVISION_COLOR.edit}"/><text x="14" y="${3 * 30 + 9}" font-family="sans-serif" font-size="9">edited</text><path d="M0,${4 * 30}L10,${4 * 30 + 10}M0,${4 * 30 + 10}L10,${4 * 30}" stroke="${REVISION_COLOR.remask}" stroke-width="1.6"/><text x="14" y="${4 * 30 + 9}" font-family="sans-serif" font-size="9">remasked</text>`
    : '';
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}">
<rect width="100%" height="100%" fill="white"/>
<text x="${M.left}" y="18" font-family="sans-serif" font-size="13">${esc(title)}</text>
<defs><clipPath id="dlens-timeline-plot"><rect width="${w}" height="${h}"/></clipPath></defs>
<g transform="translate(${M.left},${M.top})" clip-path="url(#dlens-timeline-plot)">${marks}${life}${band}</g>
${axisSvg(x, 'bottom', `translate(${M.left},${M.top + h})`, 8, true)}
${
  collapse
    ? bandAxisSvg(y, `translate(${M.left},${M.top})`, h)
    : axisSvg(
        d3
          .scaleLinear()
          .domain([P + (-zy / (h * k)) * G, P + ((h - zy) / (h * k)) * G])
          .range([0, h]),
        'left',
        `translate(${M.left},${M.top})`,
        8,
        true,
      )
}
<text x="${M.left + w / 2}" y="${height - 6}" text-anchor="middle" font-family="sans-serif" font-size="11">step</text>
<text transform="translate(14,${M.top + h / 2}) rotate(-90)" text-anchor="middle" font-family="sans-serif" font-size="11">position</text>
<g transform="translate(${M.left + w + 8},${M.top})">${lg.map(([lines, c], i) => `<rect x="0" y="${i * 30}" width="10" height="10" fill="${CATEGORICAL[c]}"/><text x="14" y="${i * 30 + 9}" font-family="sans-serif" font-size="9">${lines.map((l, j) => `<tspan x="14" dy="${j ? 11 : 0}">${esc(l)}</tspan>`).join('')}</text>`).join('')}${revLegend}</g>
</svg>`;
}

/** The steps a token timeline spans: all of them, or (fit to the answer) up to the answer's last commit and one. */
export function timelineSteps(lt: LoadedTrace, fit: 'all' | 'answer'): number {
  const S = lt.trace.dims.S;
  if (fit === 'all') return Math.max(1, S);
  const last = d3.max(
    lt.timings.filter((t) => !lt.regions.has('padding', t.position)),
    (t) => t.commit,
  );
  return Math.max(1, Math.min(S, (last ?? S) + 2));
}

/** A left axis for rows that are positions but not evenly spaced (a collapsed band among them): a few rows labelled. */
function bandAxisSvg(y: d3.ScaleBand<number>, transform: string, h: number): string {
  const rows = y.domain().filter((p) => p >= 0 && y(p)! + y.bandwidth() / 2 >= 0 && y(p)! + y.bandwidth() / 2 <= h);
  const every = Math.max(1, Math.ceil(rows.length / 8));
  const marks = rows
    .filter((_, i) => i % every === 0)
    .map(
      (p) =>
        `<g class="tick" transform="translate(0,${(y(p)! + y.bandwidth() / 2).toFixed(1)})"><line x2="-6" stroke="currentColor"/><text x="-9" dy="0.32em" text-anchor="end" fill="currentColor">${p}</text></g>`,
    )
    .join('');
  return `<g transform="${transform}" font-size="10" font-family="sans-serif" fill="none">${marks}</g>`;
}

/** Series of the volatility view: mean confidence of the active block's masked positions, band width, block edges. */
export function volatilitySeries(lt: LoadedTrace, region: Region = 'all') {
  const bands = bandsWithin(lt.bands, (p) => lt.regions.has(region, p));
  const t = lt.trace,
    { S, G, P, T } = t.dims;
  const meanConf: number[] = [],
    bandStart: number[] = [],
    bandEnd: number[] = [],
    blockStart: number[] = [],
    blockEnd: number[] = [];
  for (let s = 0; s < S; s++) {
    const bs = t.block[2 * s]!,
      be = t.block[2 * s + 1]!;
    let sum = 0,
      n = 0;
    for (let p = bs; p < be; p++)
      if (t.masked[s * T + p]) {
        const c = t.confidence[s * G + p - P]!;
        if (!Number.isNaN(c)) {
          sum += c;
          n++;
        }
      }
    meanConf.push(n ? sum / n : NaN);
    const b = bands[s]!;
    bandStart.push(b.start);
    bandEnd.push(b.end);
    blockStart.push(bs);
    blockEnd.push(be);
  }
  return { meanConf, bandStart, bandEnd, blockStart, blockEnd };
}

/** Volatility figure: position x step with the band (shaded) and the block edges, and mean block confidence below. */
export function volatilitySvg(lt: LoadedTrace, size: FigureSize, title: string, region: Region = 'all'): string {
  const { width, height } = size;
  const w = width - M.left - M.right,
    h = height - M.top - M.bottom;
  const h1 = h * 0.68,
    h2 = h * 0.22,
    gap = h * 0.1;
  const { S, P, G } = lt.trace.dims;
  const v = volatilitySeries(lt, region);
  const x = d3
    .scaleLinear()
    .domain([0, Math.max(1, S)])
    .range([0, w]);
  const y = d3
    .scaleLinear()
    .domain([P, P + G])
    .range([0, h1]);
  const yc = d3.scaleLinear().domain([0, 1]).range([h2, 0]);
  const band = d3
    .range(S)
    .filter((s) => v.bandStart[s]! >= 0)
    .map(
      (s) =>
        `<rect x="${x(s)}" y="${y(v.bandStart[s]!)}" width="${Math.max(0.5, x(s + 1) - x(s))}" height="${Math.max(0.5, y(v.bandEnd[s]!) - y(v.bandStart[s]!))}" fill="${CATEGORICAL[2]}" fill-opacity="0.6"/>`,
    )
    .join('');
  const blk = (arr: number[]) =>
    d3
      .line<number>()
      .x((_, s) => x(s + 0.5))
      .y((p) => y(p))
      .curve(d3.curveStepAfter)(arr) ?? '';
  const conf =
    d3
      .line<number>()
      .defined((c) => !Number.isNaN(c))
      .x((_, s) => x(s + 0.5))
      .y((c) => yc(c))(v.meanConf) ?? '';
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}">
<rect width="100%" height="100%" fill="white"/>
<text x="${M.left}" y="18" font-family="sans-serif" font-size="13">${esc(title)}</text>
<g transform="translate(${M.left},${M.top})">${band}<path d="${blk(v.blockStart)}" fill="none" stroke="${CATEGORICAL[1]}" stroke-width="1.5"/><path d="${blk(v.blockEnd)}" fill="none" stroke="${CATEGORICAL[1]}" stroke-width="1.5" stroke-dasharray="4 2"/></g>
${axisSvg(y, 'left', `translate(${M.left},${M.top})`, 8, true)}
<g transform="translate(${M.left},${M.top + h1 + gap})"><path d="${conf}" fill="none" stroke="${CATEGORICAL[3]}" stroke-width="1.5"/></g>
${axisSvg(yc, 'left', `translate(${M.left},${M.top + h1 + gap})`, 3)}
${axisSvg(x, 'bottom', `translate(${M.left},${M.top + h})`, 8, true)}
<text x="${M.left + w / 2}" y="${height - 6}" text-anchor="middle" font-family="sans-serif" font-size="11">step</text>
<text transform="translate(14,${M.top + h1 / 2}) rotate(-90)" text-anchor="middle" font-family="sans-serif" font-size="11">position</text>
<text transform="translate(14,${M.top + h1 + gap + h2 / 2}) rotate(-90)" text-anchor="middle" font-family="sans-serif" font-size="9">block conf.</text>
<g transform="translate(${M.left + w + 8},${M.top})"><rect width="10" height="10" fill="${CATEGORICAL[2]}" fill-opacity="0.6"/><text x="14" y="9" font-family="sans-serif" font-size="9">volatility band</text><line x1="0" x2="10" y1="25" y2="25" stroke="${CATEGORICAL[1]}" stroke-width="1.5"/><text x="14" y="28" font-family="sans-serif" font-size="9">block start</text><line x1="0" x2="10" y1="43" y2="43" stroke="${CATEGORICAL[1]}" stroke-dasharray="4 2"/><text x="14" y="46" font-family="sans-serif" font-size="9">block end</text></g>
</svg>`;
}
