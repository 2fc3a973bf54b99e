import { useApp, useStoreApi } from '../context.js';
import { metricsTable } from '../lib/exporters.js';
import { wordDiff } from '../lib/word-diff.js';
import { RegionSwitch } from './RegionSwitch.js';
import { blockAt, isMaskedAt, stateAt, tokenText, type LoadedTrace } from '../lib/traceModel.js';

/** 2-4 traces side by side on one step cursor, their outputs diffed against the first, their metrics in one table. */
export function Compare() {
  const traces = useApp((s) => s.traces);
  const ids = useApp((s) => s.compareIds);
  const step = useApp((s) => s.step);
  const store = useStoreApi();
  const shown = traces.filter((t) => ids.includes(t.id));
  const region = useApp((s) => s.region);
  const table = metricsTable(shown, region);
  return (
    <div className="compare">
      <div className="controls">
        <RegionSwitch />
        <span>Compare (2–4):</span>
        {traces.map((t) => (
          <label key={t.id}>
            <input type="checkbox" checked={ids.includes(t.id)} onChange={() => store.getState().toggleCompare(t.id)} />{' '}
            {t.name}
          </label>
        ))}
      </div>
      {shown.length < 2 && (
        <div className="dim">
          Open at least two traces (same prompt, different strategy or cache) and tick them here.
        </div>
      )}
      <div className="columns" style={{ gridTemplateColumns: `repeat(${Math.max(1, shown.length)}, 1fr)` }}>
        {shown.map((lt, i) => (
          <Column key={lt.id} lt={lt} step={step} base={i === 0 ? null : shown[0]!} />
        ))}
      </div>
      {shown.length > 0 && (
        <table className="metrics" data-testid="compare-table">
          <thead>
            <tr>
              {table.header.map((h, i) => (
                <th key={i}>{h}</th>
              ))}
            </tr>
          </thead>
          <tbody>
            {table.rows.map((r, i) => (
              <tr key={i}>
                {r.map((v, j) => (
                  <td key={j}>{String(v)}</td>
                ))}
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </div>
  );
}

function Column({ lt, step, base }: { lt: LoadedTrace; step: number; base: LoadedTrace | null }) {
  const t = lt.trace,
    { P, T, S } = t.dims;
  const s = Math.min(step, S);
  const state = stateAt(t, s);
  const [bs, be] = blockAt(t, Math.min(s, S - 1));
  const toks = [];
  for (let p = P; p < T; p++) {
    const id = state[p]!,
      m = isMaskedAt(t, s, p);
    toks.push(
      <span key={p} className={`tok ${m ? 'masked' : ''} ${s < S && p >= bs && p < be ? 'block' : ''}`}>
        {m ? '▒' : tokenText(t, id)}
      </span>,
    );
  }
  const diff = base ? wordDiff(base.trace.manifest.output, t.manifest.output) : null;
  return (
    <section className="col" data-testid="compare-col">
      <h3>{lt.name}</h3>
      <div className="dim">
        {t.manifest.strategy.name} · cache {t.manifest.cache.mode} · step {s} / {S}
      </div>
      <div className="text">{toks}</div>
      <div className="output">
        <span className="label">output{diff ? ' vs first' : ''}</span>{' '}
        {diff
          ? diff.map((d, i) => (
              <span key={i} className={`diff-${d.op}`}>
                {d.text}
              </span>
            ))
          : t.manifest.output}
      </div>
    </section>
  );
}
