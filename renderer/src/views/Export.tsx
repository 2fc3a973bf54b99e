import { useEffect, useRef, useState } from 'react';
import { useApp, useHost } from '../context.js';
import { active, type AppState } from '../store.js';
import type { Host } from '../host/types.js';
import { metricsTable, toCsv, toLatex } from '../lib/table-export.js';
import { REGION_LABEL } from '../../../engine/metrics/index.js';

let size = { width: 1200, height: 700, scale: 3 };

/** Renders an SVG string to PNG bytes at `scale` x its pixel size (300 dpi for a 4-inch-wide figure at scale 3). */
export async function svgToPng(svg: string, width: number, height: number, scale: number): Promise<Uint8Array> {
  const url = URL.createObjectURL(new Blob([svg], { type: 'image/svg+xml' }));
  try {
    const img = new Image();
    await new Promise<void>((ok, fail) => {
      img.onload = () => ok();
      img.onerror = () => fail(new Error('the figure could not be rasterised'));
      img.src = url;
    });
    const c = document.createElement('canvas');
    c.width = Math.round(width * scale);
    c.height = Math.round(height * scale);
    const ctx = c.getContext('2d')!;
    ctx.imageSmoothingEnabled = false;
    ctx.drawImage(img, 0, 0, c.width, c.height);
    const blob = await new Promise<Blob>((ok, fail) =>
      c.toBlob((b) => (b ? ok(b) : fail(new Error('PNG encoding failed'))), 'image/png'),
    );
    return new Uint8Array(await blob.arrayBuffer());
  } finally {
    URL.revokeObjectURL(url);
  }
}

const base = (s: AppState) => (active(s)?.name ?? 'dlens').replace(/\.dlens$/, '');

export async function runExport(action: string, s: AppState, host: Host): Promise<string | null> {
  const own = s.figure?.table;
  if (own && (action === 'export-csv' || action === 'export-latex')) {
    const name = s.figure!.name;
    return action === 'export-csv'
      ? host.saveFile(`${name}.csv`, toCsv(own()))
      : host.saveFile(
          `${name}.tex`,
          toLatex(own(), s.figure!.caption ?? 'Accuracy and tokens per forward per strategy (dlens bench).'),
        );
  }
  if (s.figure && !active(s) && (action === 'export-svg' || action === 'export-png'))
    return exportFigure(action, s, host);
  const lt = active(s);
  if (!lt) throw new Error('Open a trace first: there is nothing to export.');
  const traces = s.view === 'compare' ? s.traces.filter((t) => s.compareIds.includes(t.id)) : [lt];
  if (action === 'save' && !lt.bytes)
    throw new Error(`This trace is large and was opened from its file, which already holds it: ${lt.path ?? lt.name}.`);
  if (action === 'save')
    return (
      (await host.api.saveTrace(lt.name.endsWith('.dlens') ? lt.name : `${lt.name}.dlens`, lt.bytes!))?.path ?? null
    );
  const table = metricsTable(traces, s.region);
  // Compare's table is named after every trace in it, the active one first.
  const named = [lt, ...traces.filter((t) => t !== lt)].map((t) => t.name.replace(/\.dlens$/, '')).join('-vs-');
  if (action === 'export-csv') return host.saveFile(`${named}-metrics-${s.region}.csv`, toCsv(table));
  const caption = `Decoding metrics recorded with dlens; per-position metrics over ${REGION_LABEL[s.region]}.`;
  if (action === 'export-latex') return host.saveFile(`${named}-metrics-${s.region}.tex`, toLatex(table, caption));
  return exportFigure(action, s, host);
}

async function exportFigure(action: string, s: AppState, host: Host): Promise<string | null> {
  const fig = s.figure;
  if (!fig)
    throw new Error(
      'This view has no figure to export; switch to Heatmaps, Token timeline, Volatility, Diagnostics or Bench.',
    );
  const svg = fig.svg(size);
  const stem = active(s) && !fig.table ? `${base(s)}-${fig.name}` : fig.name;
  if (action === 'export-svg') return host.saveFile(`${stem}.svg`, svg);
  if (action === 'export-png')
    return host.saveFile(`${stem}.png`, await svgToPng(svg, size.width, size.height, size.scale));
  throw new Error(`unknown export "${action}"`);
}

export function ExportMenu() {
  const host = useHost();
  const state = useApp((s) => s);
  const [open, setOpen] = useState(false);
  const [dims, setDims] = useState(size);
  const root = useRef<HTMLSpanElement>(null);
  // A menu closes as menus do: Esc, a click anywhere else, or once its action is done (it covers what is below it).
  useEffect(() => {
    if (!open) return;
    const onKey = (e: KeyboardEvent) => e.key === 'Escape' && setOpen(false);
    const onDown = (e: PointerEvent) => !root.current?.contains(e.target as Node) && setOpen(false);
    window.addEventListener('keydown', onKey);
    window.addEventListener('pointerdown', onDown);
    return () => {
      window.removeEventListener('keydown', onKey);
      window.removeEventListener('pointerdown', onDown);
    };
  }, [open]);
  if (!state.traces.length && !state.figure) return null;
  const go = async (a: string) => {
    size = dims;
    setOpen(false);
    try {
      const where = await runExport(a, state, host);
      if (where) state.setNotice(`Saved ${where}`);
    } catch (e) {
      state.setError((e as Error).message);
    }
  };
  return (
    <span className="menu" ref={root}>
      <button onClick={() => setOpen(!open)} aria-expanded={open}>
        Export ▾
      </button>
      {open && (
        <div className="popover" role="menu">
          <button role="menuitem" onClick={() => go('save')}>
            Save trace as…
          </button>
          <button role="menuitem" onClick={() => go('export-svg')}>
            Figure as SVG
          </button>
          <button role="menuitem" onClick={() => go('export-png')}>
            Figure as PNG
          </button>
          <button role="menuitem" onClick={() => go('export-csv')}>
            Metrics as CSV
          </button>
          <button role="menuitem" onClick={() => go('export-latex')}>
            Metrics as LaTeX
          </button>
          <fieldset>
            <legend>Figure size</legend>
            <label>
              width{' '}
              <input
                type="number"
                min={200}
                max={8000}
                value={dims.width}
                onChange={(e) => setDims({ ...dims, width: Number(e.target.value) })}
              />{' '}
              px
            </label>
            <label>
              height{' '}
              <input
                type="number"
                min={150}
                max={8000}
                value={dims.height}
                onChange={(e) => setDims({ ...dims, height: Number(e.target.value) })}
              />{' '}
              px
            </label>
            <label>
              PNG scale{' '}
              <select value={dims.scale} onChange={(e) => setDims({ ...dims, scale: Number(e.target.value) })}>
                {[1, 2, 3, 4].map((v) => (
                  <option key={v} value={v}>
                    {v}×
                  </option>
                ))}
              </select>
            </label>
          </fieldset>
        </div>
      )}
    </span>
  );
}
