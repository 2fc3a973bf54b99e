import { useEffect, useMemo, useRef } from 'react';
import { useElementSize } from '../lib/use-element-size.js';
import { useApp, useStoreApi } from '../context.js';
import type { FigureSize } from '../lib/exporters.js';
import { FIGURE_MARGIN } from '../lib/margins.js';
import { useZoom, type ZoomXY } from '../lib/use-zoom.js';

// The plot's margins in the figure builders, to place the cursor, map clicks and zoom the plot.
const { left: LEFT, right: RIGHT, top: TOP, bottom: BOTTOM } = FIGURE_MARGIN;
const NO_ZOOM: ZoomXY = { k: 1, x: 0, y: 0 };

/**
 * A vector figure (token timeline, volatility) sized to its panel, registered for export, with the shared step
 * cursor drawn over it and a click moving the cursor. Without `steps` the figure's x axis is not steps (the logit
 * lens at one step): no cursor, and a click does nothing.
 */
export function SvgFigure({
  name,
  steps,
  build,
  zoom,
  onZoom,
}: {
  name: string;
  steps?: number;
  build: (size: FigureSize) => string;
  /** With onZoom, the plot zooms and pans as the heatmap does (the builder draws the zoomed view). */
  zoom?: ZoomXY;
  onZoom?: (z: ZoomXY | null) => void;
}) {
  const step = useApp((s) => s.step);
  const store = useStoreApi();
  const [wrap, size] = useElementSize<HTMLDivElement>({ width: 900, height: 500 }, { width: 300, height: 240 });
  useEffect(() => {
    store.getState().setFigure({ name, svg: build });
    return () => store.getState().setFigure(null);
  }, [name, build]);
  const svg = useMemo(() => build(size), [build, size]);
  const plot = size.width - LEFT - RIGHT;
  const z = zoom ?? NO_ZOOM;
  // The step at a plot x, and back, under the zoom.
  const stepAt = (px: number) => ((px - z.x) / (plot * z.k)) * (steps ?? 0);
  const cx = steps === undefined ? 0 : LEFT + z.x + (plot * z.k * step) / Math.max(1, steps);
  return (
    <div
      className="figure"
      ref={wrap}
      onClick={(e) => {
        if (steps === undefined) return;
        const r = e.currentTarget.getBoundingClientRect();
        store.getState().setStep(stepAt(e.clientX - r.left - LEFT));
      }}
    >
      <div dangerouslySetInnerHTML={{ __html: svg }} />
      {onZoom && <ZoomArea zoom={z} onZoom={onZoom} w={plot} h={size.height - TOP - BOTTOM} />}
      {steps !== undefined && cx >= LEFT && cx <= LEFT + plot && <div className="cursor" style={{ left: cx }} />}
    </div>
  );
}

/** The plot's area, taking the wheel, drags, double-clicks and keys (lib/use-zoom.ts); clicks pass to the figure. */
function ZoomArea({ zoom, onZoom, w, h }: { zoom: ZoomXY; onZoom: (z: ZoomXY | null) => void; w: number; h: number }) {
  const area = useRef<HTMLDivElement>(null);
  useZoom(area, zoom, w, h, onZoom);
  return (
    <div
      ref={area}
      data-testid="figure-zoom"
      style={{ position: 'absolute', left: LEFT, top: TOP, width: w, height: h, cursor: 'grab' }}
    />
  );
}

export const Stat = ({ k, v }: { k: string; v: string }) => (
  <span className="stat">
    <span className="k">{k}</span>
    <span className="v">{v}</span>
  </span>
);
