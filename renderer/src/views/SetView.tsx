import { useEffect, useMemo, useState } from 'react';
import { useApp, useHost, useStoreApi } from '../context.js';
import { DETECTORS } from '../../../engine/metrics/detectors/index.js';
import type { IndexRow } from '../../../engine/api/types.js';
import { setFigure } from '../lib/figures/set-figure.js';
import { unpackGrid } from '../../../engine/metrics/confidence-grid.js';
import {
  filterRows,
  groupOf,
  sampleKey,
  sampleLabel,
  sortRows,
  type SetBrowse,
  type SetFigure,
  type SortKey,
} from '../lib/set-table.js';

const ROW = 26;
const VISIBLE = 18;

const COLUMNS: { key: SortKey; label: string; cell: (r: IndexRow) => string }[] = [
  { key: 'sample', label: 'sample', cell: sampleLabel },
  { key: 'group', label: 'strategy / cache', cell: groupOf },
  { key: 'correct', label: 'right', cell: (r) => (r.correct === null ? '?' : r.correct ? '✓' : '✗') },
  { key: 'steps', label: 'steps', cell: (r) => String(r.steps) },
  { key: 'tpf', label: 'TPF', cell: (r) => r.tpf.toFixed(2) },
  { key: 'answer_tpf', label: 'ans. TPF', cell: (r) => r.answer_tpf.toFixed(2) },
  { key: 'length', label: 'ans. tokens', cell: (r) => String(r.answer_tokens) },
  { key: 'detectors', label: 'detectors', cell: (r) => r.detectors.join(', ') },
];

/**
 * A trace set (docs/trace-set.md): its decodes in a virtualised table, filtered by correctness, detector, strategy
 * and text, sorted by any column; a figure over what is shown (accuracy against tokens per forward, detector shares,
 * confidence by step × answer position, decoding order), exportable as the others;
 * paired with a second set on their samples to find the flips; a row opens its decode in every view, a pair in
 * Compare.
 */
export function SetView() {
  const store = useStoreApi();
  const host = useHost();
  const sets = useApp((s) => s.sets);
  const b = useApp((s) => s.setBrowse);
  const [scroll, setScroll] = useState(0);
  const set = sets.find((s) => s.dir === b.dir) ?? sets[0];
  const other = sets.find((s) => s.dir === b.pairWith && s.dir !== set?.dir);
  const pair = useMemo(() => (other ? new Map(other.rows.map((r) => [sampleKey(r), r])) : undefined), [other]);
  // Filtering and sorting are memoised apart: a new sort order does not filter again.
  const { correct, detector, group, flip, query } = b;
  const filtered = useMemo(
    () => (set ? filterRows(set.rows, b, pair) : []),
    [set, pair, correct, detector, group, flip, query],
  );
  const shown = useMemo(() => (set ? sortRows(filtered, b.sort, b.desc, set.rows) : []), [filtered, b.sort, b.desc]);
  const groups = useMemo(() => [...new Set(set?.rows.map(groupOf) ?? [])], [set]);
  // (Over what the filters keep: a new sort order changes neither.)
  const colormap = useApp((s) => s.colormap);
  const opening = useApp((s) => s.opening);
  // The confidence grids come when that figure is first drawn (they would double the index the view opens with).
  useEffect(() => {
    if (b.figure !== 'confidence' || !set || set.grids) return;
    host.api
      .setConfidenceGrids(set.dir)
      .then((b64) =>
        store.getState().addSetGrids(
          set.dir,
          Uint8Array.from(atob(b64), (c) => c.charCodeAt(0)),
        ),
      )
      .catch((e) => store.getState().setError(`Could not read the set's confidence grids: ${(e as Error).message}`));
  }, [b.figure, set]);
  const gridOf = useMemo(() => {
    if (!set?.grids) return undefined;
    const at = new Map(set.rows.map((r, i) => [r, i]));
    const packed = set.grids;
    return (r: IndexRow) => unpackGrid(packed, at.get(r)!);
  }, [set]);
  const figure = useMemo(() => setFigure(b.figure, filtered, colormap, gridOf), [b.figure, filtered, colormap, gridOf]);
  const svg = useMemo(() => figure.svg({ width: 520, height: 300 }), [figure]);
  useEffect(() => {
    if (!filtered.length) return;
    store.getState().setFigure(figure);
    return () => store.getState().setFigure(null);
  }, [figure]);
  // The opening bar above names the set being read; "no set is open" would be wrong meanwhile.
  if (!set && opening) return null;
  if (!set)
    return (
      <div className="empty" data-testid="set-empty">
        No trace set is open. Record one with <code>dlens bench … --set SET</code> or from Python (docs/trace-set.md),
        then <code>dlens serve --set SET</code>.
      </div>
    );
  const upd = (x: Partial<SetBrowse>) => {
    store.getState().setSetBrowse(x);
    setScroll(0);
  };
  const open = async (r: IndexRow, o?: IndexRow) => {
    try {
      const name = (row: IndexRow) => `${sampleLabel(row)} ${row.strategy}.dlens`.replace(/[\\/:]/g, '-');
      const a = store.getState().openBytes(await host.api.setTrace(set.dir, r.id), name(r));
      if (o && other && a) {
        const c = store.getState().openBytes(await host.api.setTrace(other.dir, o.id), name(o));
        if (c) store.getState().setCompare([a.id, c.id]);
        store.getState().setView('compare');
      } else store.getState().setView('replay');
    } catch (e) {
      store.getState().setError(`Could not open the decode: ${(e as Error).message}`);
    }
  };
  const first = Math.floor(scroll / ROW);
  const visible = shown.slice(first, first + VISIBLE + 2);
  return (
    <div className="set-view" data-testid="set-view">
      <div className="toolbar">
        <select value={set.dir} onChange={(e) => upd({ dir: e.target.value })} aria-label="set">
          {sets.map((s) => (
            <option key={s.dir} value={s.dir}>
              {s.dir.split(/[\\/]/).pop()} ({s.rows.length})
            </option>
          ))}
        </select>
        <select
          value={b.correct}
          onChange={(e) => upd({ correct: e.target.value as SetBrowse['correct'] })}
          aria-label="correctness"
        >
          <option value="all">right and wrong</option>
          <option value="right">right</option>
          <option value="wrong">wrong</option>
          <option value="unknown">not judged</option>
        </select>
        <select value={b.detector} onChange={(e) => upd({ detector: e.target.value })} aria-label="detector">
          <option value="any">any detectors</option>
          <option value="none">no detector fired</option>
          {DETECTORS.map((d) => (
            <option key={d.id} value={d.id}>
              {d.label}
            </option>
          ))}
        </select>
        <select value={b.group} onChange={(e) => upd({ group: e.target.value })} aria-label="strategy">
          <option value="all">every strategy</option>
          {groups.map((g) => (
            <option key={g} value={g}>
              {g}
            </option>
          ))}
        </select>
        <input
          type="search"
          placeholder="search prompts and outputs"
          value={b.query}
          onChange={(e) => upd({ query: e.target.value })}
          aria-label="search"
        />
        <select
          value={b.pairWith ?? ''}
          onChange={(e) => upd({ pairWith: e.target.value || null, flip: 'all' })}
          aria-label="pair with"
        >
          <option value="">pair with no set</option>
          {sets
            .filter((s) => s.dir !== set.dir)
            .map((s) => (
              <option key={s.dir} value={s.dir}>
                pair with {s.dir.split(/[\\/]/).pop()}
              </option>
            ))}
        </select>
        {other && (
          <select
            value={b.flip}
            onChange={(e) => upd({ flip: e.target.value as SetBrowse['flip'] })}
            aria-label="flips"
          >
            <option value="all">every pair</option>
            <option value="right-to-wrong">right here, wrong there</option>
            <option value="wrong-to-right">wrong here, right there</option>
          </select>
        )}
        <span data-testid="set-count">
          {shown.length} of {set.rows.length} decodes
          {set.skipped ? ` (${set.skipped} cut short by a killed writer, left out)` : ''}
        </span>
      </div>
      <div className="set-body">
        <div className="set-table">
          <div className="set-row set-head">
            {COLUMNS.map((c) => (
              <button
                key={c.key}
                className={`set-cell set-${c.key}`}
                onClick={() => upd({ sort: c.key, desc: b.sort === c.key ? !b.desc : false })}
                data-testid={`sort-${c.key}`}
              >
                {c.label}
                {b.sort === c.key ? (b.desc ? ' ▼' : ' ▲') : ''}
              </button>
            ))}
            {other && <span className="set-cell">there</span>}
            <span className="set-cell set-output">output</span>
          </div>
          <div
            className="set-scroll"
            style={{ height: ROW * VISIBLE }}
            onScroll={(e) => setScroll((e.target as HTMLDivElement).scrollTop)}
            data-testid="set-scroll"
          >
            <div style={{ height: shown.length * ROW, position: 'relative' }}>
              {visible.map((r, i) => {
                const o = pair?.get(sampleKey(r));
                return (
                  <div
                    key={r.id}
                    className="set-row"
                    style={{ position: 'absolute', top: (first + i) * ROW, height: ROW }}
                    onClick={() => void open(r, o)}
                    title={o ? 'open both decodes in Compare' : 'open this decode'}
                    data-testid="set-row"
                  >
                    {COLUMNS.map((c) => (
                      <span key={c.key} className={`set-cell set-${c.key}`}>
                        {c.cell(r)}
                      </span>
                    ))}
                    {other && (
                      <span className="set-cell">{o ? (o.correct === null ? '?' : o.correct ? '✓' : '✗') : '—'}</span>
                    )}
                    <span className="set-cell set-output">{r.output.slice(0, 80)}</span>
                  </div>
                );
              })}
            </div>
          </div>
        </div>
        <div className="set-figure">
          <select
            value={b.figure}
            onChange={(e) => store.getState().setSetBrowse({ figure: e.target.value as SetFigure })}
            aria-label="figure"
            data-testid="set-figure-kind"
          >
            <option value="accuracy">accuracy vs tokens per forward</option>
            <option value="detectors">detector shares</option>
            <option value="confidence">confidence by step × answer position</option>
            <option value="kendall">decoding order (Kendall τ)</option>
          </select>
          <div data-testid="set-figure" dangerouslySetInnerHTML={{ __html: svg }} />
        </div>
      </div>
    </div>
  );
}
