import { useEffect, useMemo, useRef } from 'react';
import { useApp, useHost, useStoreApi } from '../context.js';
import type { BenchState } from '../store.js';
import { aupTable } from '../../../engine/metrics/aup.js';
import { DETECTORS } from '../../../engine/metrics/detectors/index.js';
import { aupSvg, benchPoints } from '../lib/figures/aup-plot.js';
import { openBenchFile, openTracePath } from '../lib/open-path.js';
import type { FigureSize } from '../lib/exporters.js';
import { useElementSize } from '../lib/use-element-size.js';
import { DataTable } from './DataTable.js';

/**
 * A benchmark in the app: load a `dlens bench --format json` result (or bench:diagnostics') or run one; accuracy
 * against tokens per forward per strategy with the AUP area shaded, per suite or over all; a click on a point lists
 * that strategy's instances, and an instance opens its trace. The figure exports as SVG/PNG, its table as CSV/LaTeX.
 */
export function Bench() {
  const store = useStoreApi();
  const host = useHost();
  // In the store, not the view: the result, the choices and a run in flight survive switching tabs.
  const { cells, source, suite, selected, running, job } = useApp((s) => s.bench);
  const setBench = store.getState().setBench;
  const setSuite = (suite: string) => setBench({ suite });
  const setSelected = (selected: string | null) => setBench({ selected });
  const setJob = (j: BenchState['job']) => setBench({ job: j });
  const fileInput = useRef<HTMLInputElement>(null);
  const [wrap, size] = useElementSize<HTMLDivElement>({ width: 900, height: 420 }, { width: 420, height: 300 });
  const points = useMemo(() => (cells ? benchPoints(cells, suite) : []), [cells, suite]);
  const title = `${source}: accuracy against tokens per forward (${suite === 'all' ? 'mean over suites' : suite})`;
  const table = useMemo(() => {
    const cs = cells ? (suite === 'all' ? cells : cells.filter((c) => c.suite === suite)) : [];
    const rows = cs.length ? aupTable(cs) : [];
    return {
      header: ['strategy', 'cache', 'accuracy %', 'TPF (all)', 'TPF (answer)', 'steps', 'AUP'],
      rows: rows.map((r) => [
        r.strategy,
        r.cache,
        Number((r.accuracy * 100).toFixed(1)),
        Number(r.tpf.toFixed(2)),
        Number(r.tpf_answer.toFixed(2)),
        Number(r.steps.toFixed(1)),
        Number(r.aup.toFixed(3)),
      ]),
    };
  }, [cells, suite]);
  useEffect(() => {
    if (!cells) return;
    store.getState().setFigure({
      name: `bench-aup-${suite}`,
      svg: (s: FigureSize) => aupSvg(points, s, title, null),
      table: () => table,
    });
    return () => store.getState().setFigure(null);
  }, [cells, points, title, table]);
  const load = (f: File) => openBenchFile(store, f);
  const run = async () => {
    setBench({ running: true });
    try {
      const split = (s: string) =>
        s
          .split(',')
          .map((x) => x.trim())
          .filter(Boolean);
      const res = await host.api.bench({
        suites: split(job.suites),
        strategies: split(job.strategies),
        caches: ['none'],
        limit: job.limit,
        genLength: 32,
      });
      setBench({ cells: res, source: `bench of ${new Date().toLocaleTimeString()}`, selected: null });
    } catch (e) {
      store.getState().setError(`The benchmark failed: ${(e as Error).message}`);
    } finally {
      setBench({ running: false });
    }
  };
  const point = points.find((p) => p.key === selected);
  const suites = cells ? [...new Set(cells.map((c) => c.suite))] : [];
  return (
    <div className="timeline bench">
      <div className="controls">
        <button onClick={() => fileInput.current?.click()}>Load bench JSON…</button>
        <input
          ref={fileInput}
          type="file"
          accept=".json"
          hidden
          data-testid="bench-input"
          onChange={(e) => {
            if (e.target.files?.[0]) void load(e.target.files[0]);
            e.target.value = '';
          }}
        />
        <span className="dim">or run:</span>
        <label>
          suites <input value={job.suites} onChange={(e) => setJob({ ...job, suites: e.target.value })} size={14} />
        </label>
        <label>
          strategies{' '}
          <input value={job.strategies} onChange={(e) => setJob({ ...job, strategies: e.target.value })} size={28} />
        </label>
        <label>
          instances{' '}
          <input
            type="number"
            min={1}
            max={200}
            value={job.limit}
            onChange={(e) => setJob({ ...job, limit: Number(e.target.value) })}
          />
        </label>
        <button className="primary" disabled={running} onClick={run}>
          {running ? 'Running…' : 'Run'}
        </button>
        {cells && (
          <label>
            suite{' '}
            <select value={suite} onChange={(e) => setSuite(e.target.value)} data-testid="bench-suite">
              <option value="all">all (mean)</option>
              {suites.map((s) => (
                <option key={s}>{s}</option>
              ))}
            </select>
          </label>
        )}
      </div>
      {!cells && (
        <div className="dim">
          Load the JSON of <code>dlens bench --format json --traces DIR</code> (or{' '}
          <code>npm run bench:diagnostics</code>
          ), or run a small benchmark here. Instances open when their traces are where dlens may read them: run{' '}
          <code>dlens serve --traces-dir DIR</code>, or open them once.
        </div>
      )}
      <div
        className="figure"
        ref={wrap}
        data-testid="bench-figure"
        onClick={(e) => {
          const k = (e.target as Element).closest('[data-key]')?.getAttribute('data-key');
          if (k) setSelected(k);
        }}
        dangerouslySetInnerHTML={{ __html: cells ? aupSvg(points, size, title, selected) : '' }}
      />
      {cells && <DataTable table={table} testId="bench-table" />}
      {point && (
        <Instances
          point={point}
          open={async (p) => {
            await openTracePath(store, host, p);
            // opened: show it (a refusal leaves the Bench view, with the reason in the error line)
            if (store.getState().traces.some((t) => t.path === p)) store.getState().setView('replay');
          }}
        />
      )}
    </div>
  );
}

function Instances({ point, open }: { point: ReturnType<typeof benchPoints>[number]; open: (path: string) => void }) {
  const rows = point.cells.flatMap((c) => (c.instances ?? []).map((x) => ({ suite: c.suite, ...x })));
  const label = (id: string) => DETECTORS.find((d) => d.id === id)?.label ?? id;
  return (
    <div data-testid="bench-instances">
      <h3>
        {point.strategy} · {point.cache}: {rows.length ? `${rows.length} instances` : 'no per-instance record'}
      </h3>
      {!rows.length && (
        <div className="dim">This bench ran without diagnostics (--no-diagnose): it kept no instances.</div>
      )}
      {rows.length > 0 && (
        <table className="metrics instances">
          <thead>
            <tr>
              {['suite', 'task', 'score', 'TPF', 'steps', 'Kendall τ', 'flagged', 'trace'].map((h) => (
                <th key={h}>{h}</th>
              ))}
            </tr>
          </thead>
          <tbody>
            {rows.map((x) => (
              <tr key={`${x.suite}-${x.index}`}>
                <td>{x.suite}</td>
                <td>{x.task_id}</td>
                <td>{x.score}</td>
                <td>{x.tpf.toFixed(2)}</td>
                <td>{x.steps}</td>
                <td>{x.kendall === null ? 'n/a' : x.kendall.toFixed(2)}</td>
                <td>{x.flagged.map(label).join(', ') || '—'}</td>
                <td>
                  {x.trace ? (
                    <button className="link" onClick={() => open(x.trace!)}>
                      open
                    </button>
                  ) : (
                    <span className="dim">not kept</span>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </div>
  );
}
