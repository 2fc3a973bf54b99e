import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { homedir } from 'node:os';
import { randomUUID } from 'node:crypto';
import { loadModel, listModelDirs, readCard, DEFAULT_MODEL, type LoadedModel } from '../model/load.js';
import { STRATEGIES } from '../strategies/index.js';
import { CACHE_MODES, CACHE_PARAMS, makeCache } from '../cache/index.js';
import { SUITES } from '../tasks/suites.js';
import { taskAt } from '../tasks/generate.js';
import { fileCorpus } from '../tasks/corpus.js';
import { record, writeFileAtomic } from '../record.js';
import { readTrace } from '../trace/trace.js';
import { runBench } from '../bench/run.js';
import { DlensError } from '../errors.js';
import type { EngineApi, EngineEvent, RecentFile, RecordJob } from './types.js';

export interface ServiceOptions {
  /** Where recordings (and traces saved from a browser) are written. */
  tracesDir: string;
  /** Where the recent-files list lives. */
  stateDir: string;
}

export function defaultServiceOptions(): ServiceOptions {
  const home = process.env.DLENS_HOME ?? join(homedir(), '.dlens');
  return { tracesDir: join(home, 'traces'), stateDir: home };
}

const TASK_SEED = 424242;

/**
 * The engine behind the API, in the process that can load onnxruntime (Electron's main process or `dlens serve`).
 * Arguments arrive validated (schema.ts); this layer checks what only the engine knows (names of models,
 * strategies, suites) and turns every failure into a message the UI can show.
 */
export function createEngineService(opts: ServiceOptions = defaultServiceOptions()): EngineApi & { close(): Promise<void> } {
  const listeners = new Set<(e: EngineEvent) => void>();
  const emit = (e: EngineEvent) => { for (const l of listeners) l(e); };
  const running = new Map<string, AbortController>();
  const models = new Map<string, Promise<LoadedModel>>();
  const model = (name = DEFAULT_MODEL) => { if (!models.has(name)) models.set(name, loadModel(name)); return models.get(name)!; };
  const recentPath = join(opts.stateDir, 'recent.json');
  const readRecent = (): RecentFile[] => {
    try { const r = JSON.parse(readFileSync(recentPath, 'utf8')); return Array.isArray(r) ? r.filter((x) => x && typeof x.path === 'string') : []; } catch { return []; }
  };
  const addRecent = (path: string) => {
    const list = [{ path, name: basename(path), openedAt: new Date().toISOString() }, ...readRecent().filter((r) => r.path !== path)].slice(0, 12);
    mkdirSync(opts.stateDir, { recursive: true });
    writeFileSync(recentPath, JSON.stringify(list, null, 1));
  };
  const spec = (p: Record<string, { type: string; default: number | boolean | string; description: string }>) => p as never;

  return {
    async models() {
      return listModelDirs().map((dir) => {
        const c = readCard(dir), name = basename(dir);
        return { name, dir, vocab_size: c.vocab_size, num_layers: c.num_layers, max_positions: c.max_positions, default: name === DEFAULT_MODEL };
      });
    },
    async strategies() {
      return STRATEGIES.map((s) => ({ name: s.name, description: s.description, paper: s.paper, params: spec(s.params as never) }));
    },
    async caches() {
      return CACHE_MODES.map((m) => {
        const p = makeCache(m, {}, 'bidirectional');
        return { mode: m, description: p.description, paper: p.paper, params: spec(CACHE_PARAMS[m] as never) };
      });
    },
    async suites() { return SUITES.map((s) => ({ name: s.name, kind: s.kind, description: s.description })); },
    async taskPrompt(suite, index) {
      const t = taskAt(suite, index, TASK_SEED, { split: 'eval', corpus: fileCorpus() });
      return { prompt: t.prompt, reference: t.reference };
    },
    async startRecording(job: RecordJob) {
      const id = randomUUID();
      const ac = new AbortController();
      running.set(id, ac);
      mkdirSync(opts.tracesDir, { recursive: true });
      const stamp = new Date().toISOString().replace(/[:.]/g, '-').slice(0, 19);
      const out = join(opts.tracesDir, `${stamp}-${job.strategy}-${job.cache}-${id.slice(0, 6)}.dlens`);
      (async () => {
        const m = await model(job.model);
        const task = job.task ? taskAt(job.task.suite, job.task.index, job.task.seed ?? TASK_SEED, { split: 'eval', corpus: fileCorpus() }) : undefined;
        const r = await record({
          prompt: job.prompt, task, strategy: job.strategy, params: job.params, cache: job.cache, cacheParams: job.cacheParams,
          genLength: job.genLength, blockLength: job.blockLength, steps: job.steps, seed: job.seed, temperature: job.temperature, eot: job.eot, out,
        }, {
          model: m, signal: ac.signal,
          onStep: (p) => {
            const tps = p.elapsedMs ? (p.committed / p.elapsedMs) * 1000 : 0;
            emit({ type: 'progress', data: { id, ...p, tokensPerS: tps, etaMs: p.step ? (p.elapsedMs / p.step) * (p.totalSteps - p.step) : 0 } });
          },
        });
        addRecent(out);
        emit({ type: 'done', data: { id, path: out, output: r.output, complete: r.complete, steps: r.steps, nfe: r.nfe, wall_ms: r.wall_ms } });
      })().catch((e: unknown) => emit({ type: 'error', data: { id, message: e instanceof Error ? e.message : String(e) } }))
        .finally(() => running.delete(id));
      return { id };
    },
    async cancelRecording(id) {
      const ac = running.get(id);
      if (!ac) throw new DlensError(`no recording ${id} is running (it may have finished already)`);
      ac.abort();
    },
    async readTrace(path) {
      const p = resolve(path);
      if (!p.endsWith('.dlens')) throw new DlensError(`${path} is not a .dlens trace`);
      if (!existsSync(p)) throw new DlensError(`${path} does not exist`);
      const bytes = new Uint8Array(readFileSync(p));
      readTrace(bytes); // refuse a malformed file here, with the reader's message
      addRecent(p);
      return bytes;
    },
    async saveTrace(name, bytes) {
      readTrace(bytes);
      const file = basename(name).replace(/[^\w.\-]+/g, '_');
      const out = join(opts.tracesDir, file.endsWith('.dlens') ? file : `${file}.dlens`);
      mkdirSync(opts.tracesDir, { recursive: true });
      writeFileAtomic(out, bytes);
      addRecent(out);
      return { path: out };
    },
    async recent() { return readRecent().filter((r) => existsSync(r.path)); },
    async bench(job) {
      const cells = await runBench({ model: job.model, suites: job.suites, strategies: job.strategies, caches: job.caches as never, limit: job.limit, genLength: job.genLength, blockLength: Math.min(32, job.genLength), steps: job.genLength });
      return cells as unknown as Record<string, unknown>[];
    },
    onEvent(l) { listeners.add(l); return () => listeners.delete(l); },
    async close() {
      for (const ac of running.values()) ac.abort();
      for (const m of models.values()) await (await m).release().catch(() => {});
    },
  };
}
