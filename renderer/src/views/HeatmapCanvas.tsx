import { useEffect, useMemo, useRef, useState } from 'react';
import * as d3 from 'd3';
import { integerTicks } from '../lib/exporters.js';
import type { Matrix } from '../lib/heatmap.js';
import { paint, valueAt } from '../lib/heatmap.js';
import { formatProb } from '../lib/format.js';
import { lut } from '../lib/colormaps.js';
import { HEATMAP_MARGIN } from '../lib/margins.js';
import { useZoom } from '../lib/use-zoom.js';

export interface HeatmapHandle {
  png(): string;
  view(): { s0: number; s1: number; r0: number; r1: number };
}

/**
 * A position x step heatmap on canvas (Perfetto's way: pixels, not DOM nodes): the matrix is painted once into an
 * offscreen canvas, and zoom, pan and the crosshair only redraw a scaled copy of it. Axes are d3, in SVG on top.
 */
export function HeatmapCanvas({
  matrix,
  colormap,
  step,
  hover,
  onStep,
  onHover,
  handle,
  zoom,
  onZoom,
  rows,
}: {
  matrix: Matrix;
  colormap: string;
  step: number;
  hover: number | null;
  onStep(s: number): void;
  onHover(p: number | null): void;
  handle?: (h: HeatmapHandle) => void;
  /** The zoom (held by the caller: per trace and view) and where a zoom, a pan or a reset (double-click) goes. */
  zoom: { k: number; x: number; y: number };
  onZoom(t: { k: number; x: number; y: number } | null): void;
  /** The rows to fit in the panel before any zoom (default: every row of the matrix). */
  rows?: [number, number];
}) {
  const wrap = useRef<HTMLDivElement>(null);
  const canvas = useRef<HTMLCanvasElement>(null);
  const axes = useRef<SVGSVGElement>(null);
  const mouse = useRef<{ x: number; y: number } | null>(null);
  const [box, setBox] = useState({ w: 800, h: 400 });
  const [r0, r1] = rows ?? [matrix.rowStart, matrix.rowStart + matrix.rows];
  const [tip, setTip] = useState<{ x: number; y: number; s: number; p: number; v: number } | null>(null);
  const M = { l: HEATMAP_MARGIN.left, b: HEATMAP_MARGIN.bottom, t: HEATMAP_MARGIN.top, r: HEATMAP_MARGIN.right };
  const w = Math.max(10, box.w - M.l - M.r),
    h = Math.max(10, box.h - M.t - M.b);
  const zt = useZoom(canvas, zoom, w, h, onZoom);

  // Cells per device pixel at this zoom, rounded down to a power of two: the matrix is painted at the panel's
  // resolution (a 2,048 × 4,000 matrix is 8M cells; the panel shows about 1M pixels), finer as the zoom asks, and a
  // wheel's small steps do not repaint.
  const dpr = window.devicePixelRatio || 1;
  const per = (cells: number, px: number) => {
    const f = cells / (px * dpr * zoom.k);
    return f < 2 ? 1 : 2 ** Math.floor(Math.log2(f));
  };
  const everyCols = per(matrix.cols, w),
    everyRows = per(Math.max(1, r1 - r0), h);
  // Paint the matrix when it, the colour map or the resolution changes (the expensive part; a User Timing measure).
  const offscreen = useMemo(() => {
    const t0 = performance.now();
    const c = toCanvas(
      paint(matrix, lutOf(matrix, colormap), { cols: everyCols, rows: everyRows }),
      everyCols,
      everyRows,
    );
    performance.measure('dlens:heatmap-paint', { start: t0 });
    return c;
  }, [matrix, colormap, everyCols, everyRows]);

  useEffect(() => {
    const ro = new ResizeObserver(([e]) => setBox({ w: e!.contentRect.width, h: e!.contentRect.height }));
    ro.observe(wrap.current!);
    return () => ro.disconnect();
  }, []);

  const x = useMemo(() => zt.rescaleX(d3.scaleLinear().domain([0, matrix.cols]).range([0, w])), [zt, w, matrix.cols]);
  const y = useMemo(
    () =>
      zt.rescaleY(
        d3
          .scaleLinear()
          .domain([r0, Math.max(r1, r0 + 1)])
          .range([0, h]),
      ),
    [zt, h, r0, r1],
  );

  // Draw: scaled image + crosshair. Cheap enough for every cursor move.
  useEffect(() => {
    const t0 = performance.now();
    const c = canvas.current!,
      dpr = window.devicePixelRatio || 1;
    if (c.width !== Math.round(w * dpr) || c.height !== Math.round(h * dpr)) {
      c.width = Math.round(w * dpr);
      c.height = Math.round(h * dpr);
    }
    const ctx = c.getContext('2d')!;
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.clearRect(0, 0, w, h);
    ctx.imageSmoothingEnabled = false;
    // The image's last pixel may stand for a part of a bin: it covers whole bins, at most a pixel past the end.
    const { cells } = offscreen;
    ctx.drawImage(
      offscreen.canvas,
      x(0),
      y(matrix.rowStart),
      x(cells.cols) - x(0),
      y(matrix.rowStart + cells.rows) - y(matrix.rowStart),
    );
    ctx.strokeStyle = '#E69F00';
    ctx.lineWidth = 1.5;
    const cx = x(step + 0.5);
    ctx.beginPath();
    ctx.moveTo(cx, 0);
    ctx.lineTo(cx, h);
    ctx.stroke();
    if (hover !== null) {
      const cy = y(hover + 0.5);
      ctx.setLineDash([3, 3]);
      ctx.beginPath();
      ctx.moveTo(0, cy);
      ctx.lineTo(w, cy);
      ctx.stroke();
      ctx.setLineDash([]);
    }
    performance.measure('dlens:heatmap-draw', { start: t0 });
    // bench:ui times a large trace's heatmap to its first complete frame (not the placeholder drawn while reading).
    if (!matrix.pending) performance.mark('dlens:heatmap-complete');
  }, [offscreen, x, y, step, hover, w, h]);

  useEffect(() => {
    const g = d3.select(axes.current!);
    g.selectAll('*').remove();
    const bottom = g.append('g').attr('transform', `translate(${M.l},${M.t + h})`);
    // Steps and positions are whole: no 0.5 or 2.15 ticks, zoomed in or not.
    const whole = d3.format('d');
    d3
      .axisBottom(x)
      .tickValues(integerTicks(x, Math.max(2, Math.floor(w / 80))))
      .tickFormat((v) => whole(v as number))(bottom);
    const left = g.append('g').attr('transform', `translate(${M.l},${M.t})`);
    d3
      .axisLeft(y)
      .tickValues(integerTicks(y, Math.max(2, Math.floor(h / 40))))
      .tickFormat((v) => whole(v as number))(left);
  }, [x, y, w, h]);

  useEffect(() => {
    handle?.({
      // One pixel per cell, whatever the panel shows.
      png: () => toCanvas(paint(matrix, lutOf(matrix, colormap)), 1, 1).canvas.toDataURL('image/png'),
      view: () => ({ s0: x.domain()[0]!, s1: x.domain()[1]!, r0: y.domain()[0]!, r1: y.domain()[1]! }),
    });
  }, [matrix, colormap, x, y]);

  // A zoom or pan moves the cells under a still pointer: the tip follows the cell now there, not the one before.
  useEffect(() => {
    const m = mouse.current;
    if (!m) return;
    const s = Math.floor(x.invert(m.x)),
      p = Math.floor(y.invert(m.y));
    setTip({ ...m, s, p, v: valueAt(matrix, s, p) });
    onHover(p);
  }, [x, y, matrix]);

  const at = (e: React.MouseEvent) => {
    const r = canvas.current!.getBoundingClientRect();
    return {
      s: Math.floor(x.invert(e.clientX - r.left)),
      p: Math.floor(y.invert(e.clientY - r.top)),
      x: e.clientX - r.left,
      y: e.clientY - r.top,
    };
  };
  return (
    <div className="heatmap" ref={wrap}>
      <canvas
        ref={canvas}
        data-testid="heatmap-canvas"
        style={{ position: 'absolute', left: M.l, top: M.t, width: w, height: h }}
        onMouseMove={(e) => {
          const a = at(e);
          mouse.current = { x: a.x, y: a.y };
          setTip({ ...a, v: valueAt(matrix, a.s, a.p) });
          onHover(a.p);
        }}
        onMouseLeave={() => {
          mouse.current = null;
          setTip(null);
          onHover(null);
        }}
        onClick={(e) => onStep(at(e).s)}
      />
      <svg ref={axes} className="axes" width={box.w} height={box.h} />
      {tip && (
        <div className="tip" style={{ left: M.l + tip.x + 12, top: M.t + tip.y + 12 }} data-testid="heatmap-tip">
          <b>cell under the pointer</b>: step {tip.s} · position {tip.p}
          <br />
          {matrix.label}:{' '}
          {Number.isNaN(tip.v)
            ? 'not computed'
            : matrix.kind === 'categorical'
              ? matrix.categories?.[tip.v]
              : matrix.metric === 'confidence'
                ? formatProb(tip.v)
                : tip.v.toFixed(4)}
        </div>
      )}
    </div>
  );
}

const lutOf = (m: Matrix, colormap: string) =>
  lut(colormap, m.kind === 'categorical' ? (m.categories?.length ?? 2) : undefined);

/** A painted image on a canvas, with the cells it covers (whole bins of `every` cells). */
function toCanvas(img: ReturnType<typeof paint>, everyCols: number, everyRows: number) {
  const c = document.createElement('canvas');
  c.width = Math.max(1, img.width);
  c.height = Math.max(1, img.height);
  if (img.width && img.height) c.getContext('2d')!.putImageData(new ImageData(img.pixels, img.width, img.height), 0, 0);
  return { canvas: c, cells: { cols: img.width * everyCols, rows: img.height * everyRows } };
}
