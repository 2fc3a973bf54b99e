import * as d3 from 'd3';

/** Colour maps offered for heatmaps; the default (viridis) and cividis are readable with colour-vision deficiency. */
export const COLORMAPS: Record<string, { label: string; interpolate: (t: number) => string; safe: boolean }> = {
  viridis: { label: 'Viridis', interpolate: d3.interpolateViridis, safe: true },
  cividis: { label: 'Cividis', interpolate: d3.interpolateCividis, safe: true },
  magma: { label: 'Magma', interpolate: d3.interpolateMagma, safe: true },
  inferno: { label: 'Inferno', interpolate: d3.interpolateInferno, safe: true },
  greys: { label: 'Greys', interpolate: (t) => d3.interpolateGreys(1 - t), safe: true },
  turbo: { label: 'Turbo (not CVD-safe)', interpolate: d3.interpolateTurbo, safe: false },
};
export const DEFAULT_COLORMAP = 'viridis';

/** Okabe-Ito colours for categorical values (colour-blind safe). */
export const CATEGORICAL = ['#d9d9d9', '#0072B2', '#E69F00', '#009E73', '#CC79A7'];

/** A 256-entry RGBA lookup table of a colour map, or of the categorical palette for `categories` values. */
export function lut(name: string, categories?: number): Uint8ClampedArray {
  const n = categories ?? 256;
  const out = new Uint8ClampedArray(n * 4);
  const f = COLORMAPS[name]?.interpolate ?? COLORMAPS[DEFAULT_COLORMAP]!.interpolate;
  for (let i = 0; i < n; i++) {
    const c = d3.rgb(categories ? CATEGORICAL[i % CATEGORICAL.length]! : f(n === 1 ? 0 : i / (n - 1)));
    out.set([c.r, c.g, c.b, 255], i * 4);
  }
  return out;
}

export function cssColor(name: string, t: number) {
  return (COLORMAPS[name] ?? COLORMAPS[DEFAULT_COLORMAP]!).interpolate(Math.max(0, Math.min(1, t)));
}
