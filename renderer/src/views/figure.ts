import type { FigureSize } from '../lib/exporters.js';

/** The figure the current view shows, as export needs it: a name and an SVG at a chosen size. */
export interface Figure { name: string; svg(size: FigureSize): string }
let current: Figure | null = null;
export const setFigure = (f: Figure | null) => { current = f; };
export const getFigure = () => current;
