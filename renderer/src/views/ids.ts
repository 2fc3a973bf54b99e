/**
 * The views by id, in tab order. Below both the store (which holds the current view) and the registry (which maps an
 * id to its component), so that neither imports the other.
 */
export const VIEW_IDS = [
  'replay',
  'heatmaps',
  'timeline',
  'volatility',
  'diagnostics',
  'lens',
  'compare',
  'bench',
  'set',
  'record',
] as const;
export type ViewId = (typeof VIEW_IDS)[number];
