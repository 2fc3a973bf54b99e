import { createStore, type StoreApi } from 'zustand/vanilla';
import { loadTrace, openLazy, type LoadedTrace } from './lib/traceModel.js';
import type { ByteSource } from '../../engine/trace/trace.js';
import { DEFAULT_COLORMAP } from './lib/colormaps.js';
import type { FigureSize } from './lib/exporters.js';
import type { ViewId } from './views/ids.js';
import type { SetIndex } from '../../engine/api/types.js';
import { SET_BROWSE_DEFAULT, type SetBrowse } from './lib/set-table.js';
import type { BenchFileCell } from './lib/bench-file.js';
import type { Alignment } from './lib/align.js';
import type { RecordJob } from '../../engine/api/types.js';
import { DEFAULTS } from '../../engine/api/defaults.js';
import type { Region } from '../../engine/metrics/index.js';

export type { ViewId };

/** The figure the current view shows, as export needs it: a name and an SVG at a chosen size. */
export interface Figure {
  name: string;
  svg(size: FigureSize): string;
  /** The figure's own table for CSV/LaTeX (the Bench view's); without one, the traces' metrics table is exported. */
  table?: () => { header: string[]; rows: (string | number)[][] };
  /** The LaTeX table's caption (default: the Bench view's). */
  caption?: string;
}

/** A zoom (d3's transform: scale k, then translate x, y) and whether the rows fit the answer region. */
export interface ZoomState {
  k: number;
  x: number;
  y: number;
  /** Rows shown: every position, or the answer's only (EOS padding and prompt left out). */
  fit: 'all' | 'answer';
}
export const ZOOM_NONE: ZoomState = { k: 1, x: 0, y: 0, fit: 'all' };
/** The zoom of one view of one trace: zooming one trace leaves the others as they were. */
export const zoomKey = (traceId: string, view: string) => `${traceId}:${view}`;

/** The Bench view's result and choices: they outlive the view (its instance links lead to Replay and back). */
export interface BenchState {
  cells: BenchFileCell[] | null;
  source: string;
  suite: string;
  selected: string | null;
  running: boolean;
  job: { suites: string; strategies: string; limit: number };
}
export const BENCH_DEFAULT: BenchState = {
  cells: null,
  source: '',
  suite: 'all',
  selected: null,
  running: false,
  job: { suites: 'copy,sort', strategies: 'low-confidence,fast-dllm-threshold', limit: 4 },
};

/** The record form's settings; they outlive the view, so coming back to Record finds the last ones. */
export interface RecordForm {
  job: RecordJob;
  source: 'prompt' | 'task';
  task: { suite: string; index: number };
}
const RECORD_FORM: RecordForm = {
  job: {
    strategy: DEFAULTS.strategy,
    params: {},
    cache: DEFAULTS.cache,
    cacheParams: {},
    genLength: DEFAULTS.genLength,
    blockLength: DEFAULTS.blockLength,
    steps: DEFAULTS.genLength,
    seed: DEFAULTS.seed,
    temperature: DEFAULTS.temperature,
    prompt: '',
  },
  source: 'prompt',
  task: { suite: 'sort', index: 0 },
};

export interface AppState {
  traces: LoadedTrace[];
  activeId: string | null;
  compareIds: string[];
  view: ViewId;
  /** Cursor: the state before step `step` (0..S). Shared by every view and every compared trace. */
  step: number;
  playing: boolean;
  speed: number; // steps per second
  hover: number | null; // absolute position under the pointer
  metric: string;
  layer: number; // -1 = mean of layers
  /** Which positions per-position metrics count: the answer's tokens (default), the EOS padding, or all. */
  region: Region;
  colormap: string;
  theme: 'light' | 'dark';
  error: string | null;
  /** A passing message (a recording saved, a file exported), shown in a status line. */
  notice: string | null;
  /** A large trace being opened: the bytes read of those its first frame needs (the app shows a progress bar). */
  opening: { name: string; done: number; total: number } | null;
  /** What the current view would export as a figure (null: it has none). */
  figure: Figure | null;
  recordForm: RecordForm;
  /** Trace sets opened (`dlens serve --set DIR`), and the Set view's filters: kept across tab switches. */
  sets: SetIndex[];
  setBrowse: SetBrowse;
  bench: BenchState;
  /** How Compare aligns traces of different lengths on the cursor (lib/align.ts). */
  align: Alignment;
  /** Per trace and view (zoomKey): a view not zoomed is absent. */
  zooms: Record<string, ZoomState>;
  // actions
  openBytes(bytes: Uint8Array, name: string, path?: string): LoadedTrace | null;
  /** A large trace, read in ranges (docs/trace-format.md, "Large traces"). */
  openSource(src: ByteSource, name: string, path?: string): Promise<LoadedTrace | null>;
  addTrace(lt: LoadedTrace): LoadedTrace;
  /** Counts rows of large traces read since opening: views that show per-step rows subscribe to redraw. */
  rowsRead: number;
  setActive(id: string): void;
  closeTrace(id: string): void;
  toggleCompare(id: string): void;
  setView(v: ViewId): void;
  setStep(s: number): void;
  stepBy(d: number): void;
  togglePlay(): void;
  setSpeed(x: number): void;
  setHover(p: number | null): void;
  setMetric(m: string): void;
  setLayer(l: number): void;
  setRegion(r: Region): void;
  setColormap(c: string): void;
  setTheme(t: 'light' | 'dark'): void;
  setError(e: string | null): void;
  setNotice(n: string | null): void;
  setFigure(f: Figure | null): void;
  setRecordForm(f: Partial<RecordForm>): void;
  addSet(s: SetIndex): void;
  /** A trace set being opened (its index read), shown as the traces' opening bar is; null when done. */
  setOpeningSet(name: string | null): void;
  setBench(b: Partial<BenchState>): void;
  setAlign(a: Alignment): void;
  /** Sets (part of) a view's zoom; null resets it (the whole trace, every row). */
  setZoom(key: string, z: Partial<ZoomState> | null): void;
  /** Gives an open set's rows their confidence grids (setConfidenceGrids' packed bytes, in row order). */
  addSetGrids(dir: string, packed: Uint8Array): void;
  setSetBrowse(b: Partial<SetBrowse>): void;
  /** Compare exactly these traces (a pair of decodes from two sets). */
  setCompare(ids: string[]): void;
}

/** Why a file did not open, in words first: a file that is not a trace at all says so before any detail. */
const openError = (name: string, e: unknown) => {
  const m = (e as Error).message;
  return m.includes('not a safetensors file')
    ? `Could not open ${name}: not a dlens trace (it does not start with a safetensors header). Details: ${m}`
    : `Could not open ${name}: ${m}`;
};

export const active = (s: AppState) => s.traces.find((t) => t.id === s.activeId) ?? null;
const maxStep = (s: AppState) => active(s)?.trace.dims.S ?? 0;

export function createAppStore(init: Partial<AppState> = {}): StoreApi<AppState> {
  return createStore<AppState>((set, get) => ({
    traces: [],
    activeId: null,
    compareIds: [],
    sets: [],
    setBrowse: SET_BROWSE_DEFAULT,
    bench: BENCH_DEFAULT,
    align: 'progress',
    zooms: {},
    view: 'replay',
    step: 0,
    playing: false,
    speed: 12,
    hover: null,
    metric: 'confidence',
    layer: -1,
    region: 'answer',
    colormap: DEFAULT_COLORMAP,
    theme: 'light',
    error: null,
    notice: null,
    opening: null,
    figure: null,
    recordForm: RECORD_FORM,
    rowsRead: 0,
    ...init,
    openBytes(bytes, name, path) {
      try {
        return get().addTrace(loadTrace(bytes, name, path));
      } catch (e) {
        set({ error: openError(name, e) });
        return null;
      }
    },
    async openSource(src, name, path) {
      set({ opening: { name, done: 0, total: 0 } });
      try {
        const lt = await openLazy(
          src,
          name,
          path,
          (more) => set({ traces: get().traces.map((t) => (t.id === more.id ? more : t)) }),
          (done, total) => set({ opening: { name, done, total } }),
        );
        // Rows read later (a view asked for a step) redraw the views that wait for them.
        const t = lt.trace;
        for (const x of [t.topkIds, t.topkProbs, t.saliency, t.cached, t.attnBlock, t.lensIds, t.lensProbs])
          x.onLoad.listener = () => set({ rowsRead: get().rowsRead + 1 });
        return get().addTrace(lt);
      } catch (e) {
        set({ error: openError(name, e) });
        return null;
      } finally {
        set({ opening: null });
      }
    },
    addTrace(lt) {
      {
        const path = lt.path;
        const s = get();
        // Opening a trace that is already open (same path) replaces it rather than duplicating it.
        const traces = [...s.traces.filter((t) => !path || t.path !== path), lt];
        const compareIds = [...s.compareIds.filter((id) => traces.some((t) => t.id === id)), lt.id].slice(-4);
        set({
          traces,
          activeId: lt.id,
          compareIds,
          step: lt.trace.dims.S,
          playing: false,
          error: null,
          view: s.view === 'record' ? 'replay' : s.view,
        });
        return lt;
      }
    },
    setActive(id) {
      const t = get().traces.find((x) => x.id === id);
      if (t) set({ activeId: id, step: Math.min(get().step, t.trace.dims.S) });
    },
    closeTrace(id) {
      const traces = get().traces.filter((t) => t.id !== id);
      set({
        traces,
        compareIds: get().compareIds.filter((x) => x !== id),
        activeId: get().activeId === id ? (traces.at(-1)?.id ?? null) : get().activeId,
      });
    },
    toggleCompare(id) {
      const c = get().compareIds;
      set({ compareIds: c.includes(id) ? c.filter((x) => x !== id) : [...c, id].slice(-4) });
    },
    addSet(x) {
      const sets = [...get().sets.filter((o) => o.dir !== x.dir), x];
      set({ sets, setBrowse: { ...get().setBrowse, dir: get().setBrowse.dir ?? x.dir } });
    },
    setZoom(key, z) {
      const zooms = { ...get().zooms };
      if (z === null) delete zooms[key];
      else zooms[key] = { ...(zooms[key] ?? ZOOM_NONE), ...z };
      set({ zooms });
    },
    setAlign(align) {
      set({ align });
    },
    setBench(b) {
      set({ bench: { ...get().bench, ...b } });
    },
    setOpeningSet(name) {
      set({ opening: name === null ? null : { name, done: 0, total: 0 } });
    },
    addSetGrids(dir, packed) {
      set({ sets: get().sets.map((o) => (o.dir === dir ? { ...o, grids: packed } : o)) });
    },
    setSetBrowse(b) {
      set({ setBrowse: { ...get().setBrowse, ...b } });
    },
    setCompare(ids) {
      set({ compareIds: ids });
    },
    setView(view) {
      set({ view, playing: false });
    },
    setStep(step) {
      set({ step: Math.max(0, Math.min(maxStep(get()), Math.round(step))) });
    },
    stepBy(d) {
      get().setStep(get().step + d);
    },
    togglePlay() {
      const s = get();
      // Play from the start when the cursor sits at the end.
      set({ playing: !s.playing, step: !s.playing && s.step >= maxStep(s) ? 0 : s.step });
    },
    setSpeed(speed) {
      set({ speed: Math.max(1, Math.min(240, speed)) });
    },
    setHover(hover) {
      if (get().hover !== hover) set({ hover });
    },
    setMetric(metric) {
      set({ metric });
    },
    setRegion(region) {
      set({ region });
    },
    setLayer(layer) {
      set({ layer });
    },
    setColormap(colormap) {
      set({ colormap });
    },
    setTheme(theme) {
      set({ theme });
    },
    setError(error) {
      set({ error });
    },
    setNotice(notice) {
      set({ notice });
    },
    setFigure(figure) {
      set({ figure });
    },
    setRecordForm(f) {
      set({ recordForm: { ...get().recordForm, ...f } });
    },
  }));
}
