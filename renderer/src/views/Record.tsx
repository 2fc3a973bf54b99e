import { useEffect, useRef, useState } from 'react';
import { useApp, useHost, useStoreApi } from '../context.js';
import { ImportCheckpoint } from './ImportCheckpoint.js';
import type {
  CacheInfo,
  EngineEvent,
  ModelInfo,
  ParamSpec,
  ProgressEvent,
  RecordJob,
  StrategyInfo,
  SuiteInfo,
} from '../../../engine/api/types.js';

/** Record form: generated from the engine's strategy and cache parameter schemas; progress, cancel, then open. */
export function RecordView() {
  const host = useHost();
  const store = useStoreApi();
  const [models, setModels] = useState<ModelInfo[]>([]);
  const [strategies, setStrategies] = useState<StrategyInfo[]>([]);
  const [caches, setCaches] = useState<CacheInfo[]>([]);
  const [suites, setSuites] = useState<SuiteInfo[]>([]);
  // The form's settings live in the store, so they outlive the view.
  const { job, source, task } = useApp((s) => s.recordForm);
  const setJob = (j: RecordJob | ((j: RecordJob) => RecordJob)) =>
    store.getState().setRecordForm({ job: typeof j === 'function' ? j(store.getState().recordForm.job) : j });
  const setSource = (x: 'prompt' | 'task') => store.getState().setRecordForm({ source: x });
  const setTask = (x: { suite: string; index: number }) => store.getState().setRecordForm({ task: x });
  const [running, setRunning] = useState<string | null>(null);
  const [progress, setProgress] = useState<ProgressEvent | null>(null);
  const [message, setMessage] = useState<string | null>(null);

  useEffect(() => {
    Promise.all([host.api.models(), host.api.strategies(), host.api.caches(), host.api.suites()]).then(
      ([m, s, c, u]) => {
        setModels(m);
        setStrategies(s);
        setCaches(c);
        setSuites(u);
        setJob((j) => ({
          ...j,
          model:
            j.model && m.some((x) => x.name === j.model) ? j.model : (m.find((x) => x.default)?.name ?? m[0]?.name),
        }));
      },
      (e) => setMessage(`The engine is not reachable: ${(e as Error).message}`),
    );
  }, [host]);

  // One subscription for the view's life; events are matched to the running job through a ref, and a job's events
  // that arrive before its id does (a very short run) wait in `early`.
  const runningRef = useRef<string | null>(null);
  const early = useRef(new Map<string, EngineEvent[]>());
  const handle = (e: EngineEvent) => {
    if (e.type === 'progress') setProgress(e.data);
    if (e.type === 'error') {
      runningRef.current = null;
      setRunning(null);
      setMessage(`Recording failed: ${e.data.message}`);
    }
    if (e.type === 'done') {
      runningRef.current = null;
      setRunning(null);
      // The finished trace opens in Replay, so the message goes to the app's status line.
      store
        .getState()
        .setNotice(
          e.data.complete
            ? `Recorded ${e.data.steps} steps to ${e.data.path}`
            : `Cancelled after ${e.data.steps} steps; the partial trace was saved to ${e.data.path}`,
        );
      host.api.readTrace(e.data.path).then(
        (b) => store.getState().openBytes(b, e.data.path.split(/[\\/]/).pop()!, e.data.path),
        (err) => setMessage((err as Error).message),
      );
    }
  };
  useEffect(
    () =>
      host.api.onEvent((e) => {
        if (e.data.id === runningRef.current) handle(e);
        else {
          const l = early.current.get(e.data.id) ?? [];
          l.push(e);
          early.current.set(e.data.id, l.slice(-4));
        }
      }),
    [host],
  );

  const strat = strategies.find((s) => s.name === job.strategy);
  const cache = caches.find((c) => c.mode === job.cache);
  const start = async () => {
    setMessage(null);
    setProgress(null);
    const body: RecordJob = {
      ...job,
      ...(source === 'task'
        ? { prompt: undefined, task: { suite: task.suite, index: task.index } }
        : { task: undefined }),
    };
    try {
      const { id } = await host.api.startRecording(body);
      runningRef.current = id;
      setRunning(id);
      for (const e of early.current.get(id) ?? []) if (runningRef.current === id) handle(e);
      early.current.clear();
    } catch (e) {
      setMessage((e as Error).message);
    }
  };
  const num = (k: keyof RecordJob) => (e: React.ChangeEvent<HTMLInputElement>) =>
    setJob({ ...job, [k]: Number(e.target.value) });
  const pct = progress ? (progress.step / Math.max(1, progress.totalSteps)) * 100 : 0;
  return (
    <div className="record">
      <h2>Record a trace</h2>
      <div className="form">
        <label>
          model{' '}
          <select value={job.model ?? ''} onChange={(e) => setJob({ ...job, model: e.target.value })}>
            {models.map((m) => (
              <option key={m.name} value={m.name}>
                {m.name}
                {m.default ? ' (default)' : ''}
              </option>
            ))}
          </select>{' '}
          <ImportCheckpoint
            onImported={(name) =>
              host.api.models().then((m) => {
                setModels(m);
                setJob((j) => ({ ...j, model: name }));
              })
            }
          />
        </label>
        <fieldset>
          <legend>
            <label>
              <input type="radio" checked={source === 'prompt'} onChange={() => setSource('prompt')} /> prompt
            </label>{' '}
            <label>
              <input type="radio" name="src" checked={source === 'task'} onChange={() => setSource('task')} /> task
            </label>
          </legend>
          {source === 'prompt' ? (
            <textarea
              data-testid="prompt"
              rows={3}
              value={job.prompt ?? ''}
              onChange={(e) => setJob({ ...job, prompt: e.target.value })}
              placeholder="Sort: 5 3 9"
            />
          ) : (
            <span>
              <select value={task.suite} onChange={(e) => setTask({ ...task, suite: e.target.value })}>
                {suites.map((s) => (
                  <option key={s.name} value={s.name} title={s.description}>
                    {s.name}
                  </option>
                ))}
              </select>{' '}
              index{' '}
              <input
                type="number"
                min={0}
                value={task.index}
                onChange={(e) => setTask({ ...task, index: Number(e.target.value) })}
              />
            </span>
          )}
        </fieldset>
        <label>
          strategy{' '}
          <select
            data-testid="strategy"
            value={job.strategy}
            onChange={(e) => setJob({ ...job, strategy: e.target.value, params: {} })}
          >
            {strategies.map((s) => (
              <option key={s.name} value={s.name}>
                {s.name}
              </option>
            ))}
          </select>
        </label>
        {strat && (
          <p className="dim">
            {strat.description} — {strat.paper}
          </p>
        )}
        {strat && <Params specs={strat.params} values={job.params} onChange={(params) => setJob({ ...job, params })} />}
        <label>
          cache{' '}
          <select
            data-testid="cache"
            value={job.cache}
            onChange={(e) => setJob({ ...job, cache: e.target.value as RecordJob['cache'], cacheParams: {} })}
          >
            {caches.map((c) => (
              <option key={c.mode} value={c.mode}>
                {c.mode}
              </option>
            ))}
          </select>
        </label>
        {cache && <p className="dim">{cache.description}</p>}
        {cache && (
          <Params
            specs={cache.params}
            values={job.cacheParams}
            onChange={(p) => setJob({ ...job, cacheParams: p as Record<string, number> })}
          />
        )}
        <div className="row">
          <label>
            gen length{' '}
            <input data-testid="gen-length" type="number" min={1} value={job.genLength} onChange={num('genLength')} />
          </label>
          <label>
            block length{' '}
            <input
              data-testid="block-length"
              type="number"
              min={1}
              value={job.blockLength}
              onChange={num('blockLength')}
            />
          </label>
          <label>
            steps <input data-testid="steps" type="number" min={1} value={job.steps} onChange={num('steps')} />
          </label>
          <label>
            seed <input type="number" value={job.seed} onChange={num('seed')} />
          </label>
          <label>
            temperature <input type="number" min={0} step={0.1} value={job.temperature} onChange={num('temperature')} />
          </label>
          <label title="Learn2PD's End-of-Text Prediction: once EOS is committed, everything after it becomes EOS">
            <input type="checkbox" checked={!!job.eot} onChange={(e) => setJob({ ...job, eot: e.target.checked })} />{' '}
            end-of-text prediction
          </label>
        </div>
        <div className="row">
          <button className="primary" data-testid="record-start" disabled={!!running} onClick={start}>
            Record
          </button>
          <button
            data-testid="record-cancel"
            disabled={!running}
            onClick={() => running && host.api.cancelRecording(running).catch((e) => setMessage((e as Error).message))}
          >
            Cancel
          </button>
        </div>
      </div>
      {running && (
        <div className="progress" data-testid="progress">
          <div className="bar">
            <div style={{ width: `${pct}%` }} />
          </div>
          <span>
            {progress
              ? `step ${progress.step} / ${progress.totalSteps} · ${progress.tokensPerS.toFixed(1)} tok/s · ETA ${(progress.etaMs / 1000).toFixed(1)} s`
              : 'loading the model…'}
          </span>
        </div>
      )}
      {message && (
        <div className="note" data-testid="record-msg">
          {message}
        </div>
      )}
    </div>
  );
}

function Params({
  specs,
  values,
  onChange,
}: {
  specs: Record<string, ParamSpec>;
  values: Record<string, number | boolean | string>;
  onChange(v: Record<string, number | boolean | string>): void;
}) {
  const entries = Object.entries(specs);
  if (!entries.length) return null;
  return (
    <div className="params">
      {entries.map(([k, s]) => {
        const v = values[k] ?? s.default;
        const set = (x: number | boolean | string) => onChange({ ...values, [k]: x });
        return (
          <label key={k} title={s.description}>
            {k}{' '}
            {s.type === 'boolean' ? (
              <input type="checkbox" checked={Boolean(v)} onChange={(e) => set(e.target.checked)} />
            ) : s.type === 'string' ? (
              <input type="text" data-testid={`param-${k}`} value={String(v)} onChange={(e) => set(e.target.value)} />
            ) : s.type === 'enum' ? (
              <select value={String(v)} onChange={(e) => set(e.target.value)}>
                {s.options!.map((o) => (
                  <option key={o}>{o}</option>
                ))}
              </select>
            ) : (
              <input
                type="number"
                data-testid={`param-${k}`}
                value={Number(v)}
                min={s.min}
                max={s.max}
                step={s.type === 'integer' ? 1 : 'any'}
                onChange={(e) => set(Number(e.target.value))}
              />
            )}
            <span className="dim"> {s.description}</span>
          </label>
        );
      })}
    </div>
  );
}
