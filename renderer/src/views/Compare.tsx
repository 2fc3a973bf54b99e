import { useApp, useStoreApi } from '../context.js';
import { metricsTable } from '../lib/table-export.js';
import { wordDiff } from '../lib/word-diff.js';
import { RegionSwitch } from './RegionSwitch.js';
import { DataTable } from './DataTable.js';
import { blockAt, isMaskedAt, stateAt, tokenText, type LoadedTrace } from '../lib/traceModel.js';
import { divergence, type Divergence } from '../../../engine/metrics/index.js';
import { useMemo } from 'react';
import { alignedStep, ALIGNMENT_LABEL, type Alignment } from '../lib/align.js';

/** 2-4 traces side by side on one step cursor, their outputs diffed against the first, their metrics in one table. */
export function Compare() {
  const traces = useApp((s) => s.traces);
  const ids = useApp((s) => s.compareIds);
  const step = useApp((s) => s.step);
  const store = useStoreApi();
  const shown = traces.filter((t) => ids.includes(t.id));
  const region = useApp((s) => s.region);
  const align = useApp((s) => s.align);
  // The cursor is the active trace's step (the first shown when it is not among them); each column shows its own.
  const activeId = useApp((s) => s.activeId);
  const ref = shown.find((t) => t.id === activeId) ?? shown[0];
  const table = metricsTable(shown, region);
  // Each trace against the first, aligned step by step (engine/metrics/divergence.ts).
  const parts = useMemo(
    () => shown.slice(1).map((lt) => ({ lt, d: divergence(shown[0]!.trace, lt.trace) })),
    [shown.map((t) => t.id).join()],
  );
  return (
    <div className="compare">
      <div className="controls">
        <RegionSwitch />
        <label>
          align by{' '}
          <select
            data-testid="compare-align"
            value={align}
            onChange={(e) => store.getState().setAlign(e.target.value as Alignment)}
          >
            <option value="progress">progress (fraction of steps)</option>
            <option value="nfe">forward passes (NFE)</option>
            <option value="step">step number</option>
          </select>
        </label>
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
      {ref && shown.length > 1 && (
        <div className="dim" data-testid="compare-alignment">
          Aligned on {ALIGNMENT_LABEL[align]}: the cursor is {ref.name}&apos;s step {Math.min(step, ref.trace.dims.S)}{' '}
          of {ref.trace.dims.S}; each trace shows its own step.
        </div>
      )}
      {parts.map(({ lt, d }) => (
        <Parting key={lt.id} name={lt.name} d={d} first={shown[0]!.name} />
      ))}
      <div className="columns" style={{ gridTemplateColumns: `repeat(${Math.max(1, shown.length)}, 1fr)` }}>
        {shown.map((lt, i) => (
          <Column
            key={lt.id}
            lt={lt}
            step={ref ? alignedStep(align, Math.min(step, ref.trace.dims.S), ref.trace, lt.trace) : step}
            base={i === 0 ? null : shown[0]!}
            marked={markedAt(parts, step, i === 0 ? null : lt.id)}
          />
        ))}
      </div>
      {shown.length > 0 && <DataTable table={table} testId="compare-table" />}
    </div>
  );
}

/** Positions where the decodes part at the cursor step: marked in the columns (all of them for the first trace). */
function markedAt(parts: { lt: LoadedTrace; d: Divergence }[], step: number, id: string | null): Set<number> {
  const out = new Set<number>();
  for (const { lt, d } of parts) {
    if (id !== null && lt.id !== id) continue;
    for (const pt of [d.decisions, d.states, d.predictions])
      if (pt && pt.step === step) for (const x of pt.positions) out.add(x.position);
  }
  return out;
}

/** Where a trace parts from the first: each parting's step with a jump to it. */
function Parting({ name, d, first }: { name: string; d: Divergence; first: string }) {
  const store = useStoreApi();
  if (d.incomparable)
    return (
      <div className="divergence dim" data-testid="divergence">
        {name} and {first}: {d.incomparable}; they are shown side by side but not aligned.
      </div>
    );
  const go = (what: string, pt: Divergence['states']) =>
    pt ? (
      <span>
        {what} at{' '}
        <button className="link" onClick={() => store.getState().setStep(pt.step)}>
          step {pt.step}
        </button>{' '}
        ({pt.count} position{pt.count > 1 ? 's' : ''})
      </span>
    ) : (
      <span className="dim">{what}: never</span>
    );
  return (
    <div className="divergence" data-testid="divergence">
      <b>{name}</b> against <b>{first}</b>: {go('states part', d.states)} · {go('decisions part', d.decisions)} ·{' '}
      {go('top-1 predictions part', d.predictions)} · final tokens differ at {d.finalDiffers.length} position
      {d.finalDiffers.length === 1 ? '' : 's'}
    </div>
  );
}

function Column({
  lt,
  step,
  base,
  marked,
}: {
  lt: LoadedTrace;
  step: number;
  base: LoadedTrace | null;
  marked: Set<number>;
}) {
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
      <span
        key={p}
        className={`tok ${m ? 'masked' : ''} ${s < S && p >= bs && p < be ? 'block' : ''} ${marked.has(p) ? 'parts' : ''}`}
      >
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
