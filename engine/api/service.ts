import { existsSync, mkdirSync, readdirSync, readFileSync, realpathSync, statSync, constants as FS } from 'node:fs';
import { open } from 'node:fs/promises';
import { basename, join, resolve, sep } from 'node:path';
import { dlensHome, userModelsDir } from '../home.js';
import { randomUUID } from 'node:crypto';
import { ensureBundledModels } from '../model/bundled.js';
import { loadModel, listModelDirs, readCard, DEFAULT_MODEL, type LoadedModel } from '../model/load.js';
import { STRATEGIES } from '../strategies/index.js';
import { CACHE_MODES, CACHE_PARAMS, makeCache } from '../cache/index.js';
import { SUITES } from '../tasks/suites.js';
import { taskAt } from '../tasks/generate.js';
import { fileCorpus } from '../tasks/corpus.js';
import { record } from '../record.js';
import { writeFileAtomic } from '../util/atomic-write.js';
import { readTrace } from '../trace/trace.js';
import { runBench } from '../evaluate/run.js';
import { convertCheckpoint } from '../convert/convert.js';
import { readRegularFileAsync, statRegularAsync } from '../util/safe-read.js';
import { setAccess } from './set-access.js';
import { DlensError } from '../errors.js';
import type { EngineApi, EngineEvent, RecentFile, RecordJob } from './types.js';
import { DEFAULTS } from './defaults.js';

export interface ServiceOptions {
  /** Where recordings (and traces saved from a browser) are written. */
  tracesDir: string;
  /** Where the recent-files list lives. */
  stateDir: string;
  /** Where Learn2PD filters are found by name (`--set filter=NAME`). */
  filtersDir?: string;
  /** Recordings that may run at once; more are refused with a message. */
  maxRecordings?: number;
}

/** The host's side of the service, never reachable from a page: what the person opened by their own hand. */
export interface ServiceHost {
  /** A file or folder the person chose (open dialog, command line, the OS's "open with"): the page may read it. */
  allow(path: string): void;
  /** A trace set folder the person named (`dlens serve --set DIR`): the page may open it and its decodes. */
  allowSet(dir: string): void;
  /** openSet's answer as `dlens serve` sends it over HTTP: JSON, gzip-compressed, made once per set. */
  setIndexGzip(dir: string): Promise<Uint8Array>;
  close(): Promise<void>;
}

export function defaultServiceOptions(): ServiceOptions {
  const home = dlensHome();
  return { tracesDir: join(home, 'traces'), stateDir: home, filtersDir: join(home, 'filters') };
}

/**
 * The engine behind the API, in the process that can load onnxruntime (Electron's main process or `dlens serve`).
 * Arguments arrive validated (schema.ts); this layer checks what only the engine knows (names of models,
 * strategies, suites) and turns every failure into a message the UI can show.
 */
export function createEngineService(opts: ServiceOptions = defaultServiceOptions()): EngineApi & ServiceHost {
  const listeners = new Set<(e: EngineEvent) => void>();
  const emit = (e: EngineEvent) => {
    for (const l of listeners) l(e);
  };
  const running = new Map<string, AbortController>();
  const maxRecordings = opts.maxRecordings ?? 2;
  let benchRunning = false;
  let importing = false;
  const models = new Map<string, Promise<LoadedModel>>();
  // A failed load is forgotten, so that fixing the folder and trying again works.
  const model = (name = DEFAULT_MODEL) => {
    if (!models.has(name))
      models.set(
        name,
        loadModel(name).catch((e: unknown) => {
          models.delete(name);
          throw e;
        }),
      );
    return models.get(name)!;
  };
  const real = (p: string) => {
    try {
      return realpathSync(p);
    } catch {
      return resolve(p);
    }
  };
  const opened = new Set<string>();
  const sets = setAccess(real);
  const inside = (p: string, dir: string) => real(p).startsWith(real(dir) + sep);
  const recentPath = join(opts.stateDir, 'recent.json');
  const readRecent = (): RecentFile[] => {
    try {
      const r = JSON.parse(readFileSync(recentPath, 'utf8'));
      return Array.isArray(r) ? r.filter((x) => x && typeof x.path === 'string') : [];
    } catch {
      return [];
    }
  };
  const addRecent = (path: string) => {
    const list = [
      { path, name: basename(path), openedAt: new Date().toISOString() },
      ...readRecent().filter((r) => r.path !== path),
    ].slice(0, 12);
    writeFileAtomic(recentPath, new TextEncoder().encode(JSON.stringify(list, null, 1)));
  };
  /** A page may name only what the person opened, recent files, and what lives in dlens's own folders. */
  const mayRead = (p: string) =>
    opened.has(real(p)) || inside(p, opts.tracesDir) || readRecent().some((r) => real(r.path) === real(p));
  const readablePath = (path: string) => {
    const p = resolve(path);
    if (!p.endsWith('.dlens')) throw new DlensError(`${path} is not a .dlens trace`);
    if (!mayRead(p))
      throw new DlensError(
        `dlens opens only traces you opened yourself (Open…, drag and drop, the command line), recent ones and those in ${opts.tracesDir}; open ${basename(p)} with Open… first`,
      );
    return p;
  };
  const modelRef = (name: string | undefined) => {
    if (name === undefined || opened.has(real(name))) return name;
    if (/[\\/]/.test(name) || name.startsWith('.'))
      throw new DlensError(
        `the app loads models by name (see the model list) or from a folder you chose; "${name}" is neither`,
      );
    if (!listModelDirs().some((d) => basename(d) === name))
      throw new DlensError(
        `no model named "${name}": the models are ${listModelDirs()
          .map((d) => basename(d))
          .join(', ')}`,
      );
    return name;
  };
  const filtersDir = opts.filtersDir ?? join(opts.stateDir, 'filters');
  const filterRef = (f: unknown) => {
    if (typeof f !== 'string' || f === '') return f;
    if (opened.has(real(f))) return real(f);
    const byName = join(filtersDir, f.endsWith('.json') ? f : `${f}.json`);
    if (/^[\w.-]+$/.test(f) && !f.startsWith('.') && existsSync(byName)) return byName;
    throw new DlensError(
      `Learn2PD filter "${f}" is not one of your filters; put filters (written by dlens learn) in ${filtersDir} and name them, or choose the file yourself`,
    );
  };

  return {
    async models() {
      await ensureBundledModels();
      return listModelDirs().map((dir) => {
        const c = readCard(dir),
          name = basename(dir);
        return {
          name,
          dir,
          vocab_size: c.vocab_size,
          num_layers: c.num_layers,
          max_positions: c.max_positions,
          default: name === DEFAULT_MODEL,
        };
      });
    },
    async strategies() {
      return STRATEGIES.map((s) => ({ name: s.name, description: s.description, paper: s.paper, params: s.params }));
    },
    async caches() {
      return CACHE_MODES.map((m) => {
        const p = makeCache(m, {}, 'bidirectional');
        return { mode: m, description: p.description, paper: p.paper, params: CACHE_PARAMS[m] };
      });
    },
    async suites() {
      return SUITES.map((s) => ({ name: s.name, kind: s.kind, description: s.description }));
    },
    async taskPrompt(suite, index) {
      const t = taskAt(suite, index, DEFAULTS.taskSeed, { split: 'eval', corpus: fileCorpus() });
      return { prompt: t.prompt, reference: t.reference };
    },
    async startRecording(job: RecordJob) {
      if (running.size >= maxRecordings)
        throw new DlensError(
          `${running.size} recordings are already running; wait for one to finish or cancel it, then record again`,
        );
      const modelName = modelRef(job.model);
      const params = Object.hasOwn(job.params, 'filter')
        ? { ...job.params, filter: filterRef(job.params.filter) as string }
        : job.params;
      const id = randomUUID();
      const ac = new AbortController();
      running.set(id, ac);
      mkdirSync(opts.tracesDir, { recursive: true });
      const stamp = new Date().toISOString().replace(/[:.]/g, '-').slice(0, 19);
      const out = join(opts.tracesDir, `${stamp}-${job.strategy}-${job.cache}-${id.slice(0, 6)}.dlens`);
      (async () => {
        const m = await model(modelName);
        const task = job.task
          ? taskAt(job.task.suite, job.task.index, job.task.seed ?? DEFAULTS.taskSeed, {
              split: 'eval',
              corpus: fileCorpus(),
            })
          : undefined;
        const r = await record(
          {
            prompt: job.prompt,
            task,
            strategy: job.strategy,
            params,
            cache: job.cache,
            cacheParams: job.cacheParams,
            genLength: job.genLength,
            blockLength: job.blockLength,
            steps: job.steps,
            seed: job.seed,
            temperature: job.temperature,
            eot: job.eot,
            out,
          },
          {
            model: m,
            signal: ac.signal,
            onStep: (p) => {
              const tps = p.elapsedMs ? (p.committed / p.elapsedMs) * 1000 : 0;
              emit({
                type: 'progress',
                data: {
                  id,
                  ...p,
                  tokensPerS: tps,
                  etaMs: p.step ? (p.elapsedMs / p.step) * (p.totalSteps - p.step) : 0,
                },
              });
            },
          },
        );
        addRecent(out);
        emit({
          type: 'done',
          data: {
            id,
            path: out,
            output: r.output,
            complete: r.complete,
            steps: r.steps,
            nfe: r.nfe,
            wall_ms: r.wall_ms,
          },
        });
      })()
        .catch((e: unknown) =>
          emit({ type: 'error', data: { id, message: e instanceof Error ? e.message : String(e) } }),
        )
        .finally(() => running.delete(id));
      return { id };
    },
    async cancelRecording(id) {
      const ac = running.get(id);
      if (!ac) throw new DlensError(`no recording ${id} is running (it may have finished already)`);
      ac.abort();
    },
    async readTrace(path) {
      const p = readablePath(path);
      const bytes = await readRegularFileAsync(p, 'trace');
      readTrace(bytes); // refuse a malformed file here, with the reader's message
      addRecent(real(p));
      return bytes;
    },
    async traceSize(path) {
      const p = readablePath(path);
      const st = await statRegularAsync(p);
      addRecent(real(p));
      return st.size;
    },
    async readTraceRange(path, offset, length) {
      const p = readablePath(path);
      const fh = await open(p, FS.O_RDONLY | FS.O_NONBLOCK);
      try {
        const st = await fh.stat();
        if (!st.isFile()) throw new DlensError(`trace ${path} is not a regular file; dlens reads only files`);
        if (offset + length > st.size)
          throw new DlensError(
            `bytes ${offset}..${offset + length} lie beyond the end of ${basename(p)} (${st.size} bytes): the file changed or is truncated`,
          );
        const buf = new Uint8Array(length);
        let got = 0;
        while (got < length) {
          const { bytesRead } = await fh.read(buf, got, length - got, offset + got);
          if (!bytesRead) break;
          got += bytesRead;
        }
        return buf.subarray(0, got);
      } finally {
        await fh.close();
      }
    },
    async traces() {
      if (!existsSync(opts.tracesDir)) return [];
      return readdirSync(opts.tracesDir)
        .filter((f) => f.endsWith('.dlens') && !f.startsWith('.'))
        .map((f) => {
          const path = join(opts.tracesDir, f);
          try {
            const st = statSync(path);
            return st.isFile() ? { path, name: f, openedAt: st.mtime.toISOString() } : null;
          } catch {
            return null; // removed while listing
          }
        })
        .filter((x): x is RecentFile => x !== null)
        .sort((a, b) => (a.openedAt < b.openedAt ? 1 : -1))
        .slice(0, 200);
    },
    async saveTrace(name, bytes) {
      readTrace(bytes);
      const file =
        basename(name)
          .replace(/[^\w.-]+/g, '_')
          .replace(/^\.+/, '') || 'trace';
      const stem = file.endsWith('.dlens') ? file.slice(0, -'.dlens'.length) : file;
      mkdirSync(opts.tracesDir, { recursive: true });
      // Never over an existing trace: the first free name of stem.dlens, stem-1.dlens, stem-2.dlens, ...
      for (let i = 0; i < 10_000; i++) {
        const out = join(opts.tracesDir, `${stem}${i ? `-${i}` : ''}.dlens`);
        try {
          writeFileAtomic(out, bytes, { overwrite: false });
        } catch (e) {
          if ((e as { code?: string }).code === 'EEXIST') continue;
          throw e;
        }
        addRecent(out);
        return { path: out };
      }
      throw new DlensError(`no free name for ${stem}.dlens in ${opts.tracesDir}; rename some traces there`);
    },
    async recent() {
      return readRecent().filter((r) => existsSync(r.path));
    },
    async bench(job) {
      if (benchRunning) throw new DlensError('a benchmark is already running; wait for it to finish');
      benchRunning = true;
      try {
        const cells = await runBench({
          model: modelRef(job.model),
          suites: job.suites,
          strategies: job.strategies,
          caches: job.caches,
          limit: job.limit,
          genLength: job.genLength,
          blockLength: Math.min(DEFAULTS.blockLength, job.genLength),
          steps: job.genLength,
          // each instance's trace, in the traces folder the page may read: the Bench view opens them
          tracesDir: join(opts.tracesDir, `bench-${new Date().toISOString().replace(/[:.]/g, '-')}`),
        });
        return cells;
      } finally {
        benchRunning = false;
      }
    },
    onEvent(l) {
      listeners.add(l);
      return () => listeners.delete(l);
    },
    async importCheckpoint(job) {
      if (!opened.has(real(job.dir)))
        throw new DlensError(
          `the app imports only a checkpoint folder you chose (Record → Import Hugging Face checkpoint… in the desktop app); in a browser, run dlens convert ${job.dir} --out ${join(userModelsDir(), 'NAME')} where dlens serve runs`,
        );
      if (importing) throw new DlensError('a checkpoint is already being imported; wait for it to finish');
      const name =
        job.name ??
        (basename(real(job.dir))
          .replace(/[^\w.-]+/g, '_')
          .replace(/^[.-]+/, '') ||
          'model');
      const out = join(userModelsDir(), name);
      if (existsSync(out))
        throw new DlensError(`a model named ${name} already exists in ${userModelsDir()}; choose another name`);
      const id = randomUUID();
      importing = true;
      convertCheckpoint(job.dir, out, {
        dtype: job.dtype,
        kvDtype: job.kvDtype,
        blockSize: job.blockSize,
        name,
        onProgress: (done, total, tensor) => emit({ type: 'import-progress', data: { id, done, total, tensor } }),
      })
        .then((r) => emit({ type: 'import-done', data: { id, model: name, dir: r.dir, architecture: r.architecture } }))
        .catch((e: unknown) =>
          emit({ type: 'error', data: { id, message: e instanceof Error ? e.message : String(e) } }),
        )
        .finally(() => (importing = false));
      return { id };
    },
    allow(path) {
      opened.add(real(path));
    },
    ...sets,
    async close() {
      for (const ac of running.values()) ac.abort();
      // A model that failed to load has nothing to release.
      for (const m of models.values()) await m.then((x) => x.release()).catch(() => {});
    },
  };
}
