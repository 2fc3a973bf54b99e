import type { IndexRow } from '../../../../engine/api/types.js';
import type { FigureSize } from '../exporters.js';
import type { SetFigure } from '../set-table.js';
import { groupCells } from '../set-table.js';
import { aupSvg, benchPoints } from './aup-plot.js';
import {
  confidenceByStepAndPosition,
  confidenceGridSvg,
  confidenceGridTable,
  detectorShares,
  detectorSharesSvg,
  detectorSharesTable,
  kendallDistribution,
  kendallSvg,
  kendallTable,
  type Table,
} from './set-figures.js';

/** The Set view's chosen figure over `rows`: its export name, its SVG at any size, and its table (CSV / LaTeX). */
export function setFigure(
  kind: SetFigure,
  rows: IndexRow[],
  colormap: string,
  gridOf?: (r: IndexRow) => (number | null)[] | undefined,
) {
  const n = `${rows.length} decodes`;
  const make = (name: string, svg: (s: FigureSize) => string, table: () => Table, caption: string) => ({
    name,
    svg,
    table,
    caption: `${caption} Over ${n} of a trace set recorded with dlens.`,
  });
  if (kind === 'detectors') {
    const d = detectorShares(rows);
    return make(
      'set-detector-shares',
      (s) => detectorSharesSvg(d, s, `detectors that fired (${n})`),
      () => detectorSharesTable(d),
      'Share of decodes in which each failure detector fired (docs/diagnostics.md), per strategy and cache.',
    );
  }
  if (kind === 'confidence') {
    const c = confidenceByStepAndPosition(rows, gridOf ?? (() => undefined));
    return make(
      'set-confidence-step-position',
      (s) =>
        confidenceGridSvg(c, s, `mean confidence by step × answer position (${c.decodes} decodes)`, colormap, !gridOf),
      () => confidenceGridTable(c),
      'Mean confidence of the chosen token by relative step (rows) and relative answer position (columns).',
    );
  }
  if (kind === 'kendall') {
    const k = kendallDistribution(rows);
    return make(
      'set-kendall-tau',
      (s) => kendallSvg(k, s, `decoding order (${n})`),
      () => kendallTable(k),
      'Decodes per bin of Kendall tau between commit step and answer position (1: left to right), per strategy.',
    );
  }
  const cells = groupCells(rows);
  const points = benchPoints(cells, 'all');
  return make(
    'set-accuracy-tpf',
    (s) => aupSvg(points, s, `accuracy vs tokens per forward (${n})`, null),
    () => ({
      header: ['strategy', 'cache', 'decodes', 'accuracy %', 'TPF', 'answer TPF', 'steps'],
      rows: cells.map((c) => [
        c.strategy,
        c.cache,
        c.n,
        Number((c.accuracy * 100).toFixed(1)),
        Number(c.tpf.toFixed(2)),
        Number(c.tpf_answer.toFixed(2)),
        Number(c.steps.toFixed(1)),
      ]),
    }),
    'Accuracy over the judged decodes and tokens per forward, per strategy and cache.',
  );
}
