import { useEffect, useMemo, useRef, type RefObject } from 'react';
import * as d3 from 'd3';

/** A zoom as d3 keeps it: scale k, then translate x, y, in the plot's pixels. */
export interface ZoomXY {
  k: number;
  x: number;
  y: number;
}

export const MAX_ZOOM = 128;

/**
 * Zoom and pan on a plot, as on the heatmap (Perfetto's keys): the wheel and +/− zoom, a drag pans, a double-click
 * or 0 resets; the view stays inside the plot. The zoom is the caller's (held per trace and view in the store):
 * only the person's wheel, drags and keys report one, through `onZoom` (null: reset). Returns d3's transform.
 */
export function useZoom<E extends Element>(
  el: RefObject<E | null>,
  zoom: ZoomXY,
  w: number,
  h: number,
  onZoom: (z: ZoomXY | null) => void,
): d3.ZoomTransform {
  const zt = useMemo(() => d3.zoomIdentity.translate(zoom.x, zoom.y).scale(zoom.k), [zoom.k, zoom.x, zoom.y]);
  const zoomer = useRef<d3.ZoomBehavior<E, unknown> | null>(null);
  useEffect(() => {
    const z = d3
      .zoom<E, unknown>()
      .scaleExtent([1, MAX_ZOOM])
      .translateExtent([
        [0, 0],
        [w, h],
      ])
      .extent([
        [0, 0],
        [w, h],
      ])
      // A transform set from the store (another trace, a reset) does not come back as the person's zoom.
      .on('zoom', (e) => e.sourceEvent && onZoom({ k: e.transform.k, x: e.transform.x, y: e.transform.y }));
    const sel = d3.select(el.current!);
    sel.call(z).on('dblclick.zoom', null);
    sel.on('dblclick', () => onZoom(null));
    zoomer.current = z;
    return () => {
      sel.on('.zoom', null).on('dblclick', null);
    };
  }, [w, h, onZoom]);
  // Keys: + and − zoom about the plot's centre, 0 resets (ignored while typing in a form).
  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      if ((e.target as HTMLElement).closest?.('input, textarea, select') || e.ctrlKey || e.metaKey) return;
      const by = e.key === '+' || e.key === '=' ? 1.5 : e.key === '-' || e.key === '_' ? 1 / 1.5 : 0;
      if (e.key === '0') onZoom(null);
      else if (by) {
        const k = Math.min(MAX_ZOOM, Math.max(1, zt.k * by)),
          f = k / zt.k;
        // the point at the centre stays there; the view stays inside the plot
        const clamp = (v: number, size: number) => Math.min(0, Math.max(size * (1 - k), v));
        onZoom({ k, x: clamp(w / 2 - (w / 2 - zt.x) * f, w), y: clamp(h / 2 - (h / 2 - zt.y) * f, h) });
      } else return;
      e.preventDefault();
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, [zt, w, h, onZoom]);
  // The zoom behaviour keeps its own transform: keep it the caller's.
  useEffect(() => {
    if (zoomer.current) d3.select(el.current!).call(zoomer.current.transform, zt);
  }, [zt]);
  return zt;
}
