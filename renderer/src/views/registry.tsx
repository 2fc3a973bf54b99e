import type { ComponentType } from 'react';
import { Replay } from './Replay.js';
import { Heatmaps } from './Heatmaps.js';
import { Timeline } from './Timeline.js';
import { Volatility } from './Volatility.js';
import { Compare } from './Compare.js';
import { RecordView } from './Record.js';
import { Diagnostics } from './Diagnostics.js';
import { Lens } from './Lens.js';
import { Bench } from './Bench.js';
import { SetView } from './SetView.js';
import type { ViewId } from './ids.js';

/**
 * The app's views, in tab order: one entry per view (Perfetto's plugin idea, in small). To add a view, write its
 * component and add a line here; the tabs, routing and export menu follow. `figure`: the view registers an
 * exportable figure (store.setFigure) while it is shown. `needsTrace`: without an open trace the empty state shows.
 */
export interface ViewDef {
  id: ViewId;
  label: string;
  component: ComponentType;
  figure: boolean;
  needsTrace: boolean;
}

export const VIEWS: readonly ViewDef[] = [
  { id: 'replay', label: 'Replay', component: Replay, figure: false, needsTrace: true },
  { id: 'heatmaps', label: 'Heatmaps', component: Heatmaps, figure: true, needsTrace: true },
  { id: 'timeline', label: 'Token timeline', component: Timeline, figure: true, needsTrace: true },
  { id: 'volatility', label: 'Volatility', component: Volatility, figure: true, needsTrace: true },
  { id: 'diagnostics', label: 'Diagnostics', component: Diagnostics, figure: true, needsTrace: true },
  { id: 'lens', label: 'Logit lens', component: Lens, figure: true, needsTrace: true },
  { id: 'compare', label: 'Compare', component: Compare, figure: false, needsTrace: true },
  { id: 'bench', label: 'Bench', component: Bench, figure: true, needsTrace: false },
  { id: 'set', label: 'Set', component: SetView, figure: true, needsTrace: false },
  { id: 'record', label: 'Record', component: RecordView, figure: false, needsTrace: false },
];

export type { ViewId };
export const viewDef = (id: ViewId): ViewDef => VIEWS.find((v) => v.id === id)!;
