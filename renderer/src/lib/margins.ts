/**
 * Margins of the app's figures, in one place: the SVG figure builders (exporters.ts) and the views that draw a cursor
 * over them or map clicks to steps (SvgFigure.tsx) share FIGURE; the canvas heatmap's d3 axes use HEATMAP.
 */
export const FIGURE_MARGIN = { top: 28, right: 90, bottom: 42, left: 56 } as const;
export const HEATMAP_MARGIN = { top: 6, right: 8, bottom: 28, left: 48 } as const;
