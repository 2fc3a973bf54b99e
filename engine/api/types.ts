/**
 * The engine API (docs/engine-api.md): one typed interface the renderer talks to, served over Electron IPC
 * (electron/preload.ts) and over a loopback WebSocket (engine/server). Types only: the renderer imports this file.
 */
import type { ParamSpec } from '../params.js';
import type { RecordJob, BenchJob, ImportJob } from './schema.js';
import type { BenchCell } from '../evaluate/run.js';
import type { IndexRow } from '../traceset/index-row.js';

export type { ParamSpec, RecordJob, BenchJob, BenchCell, ImportJob };
export interface ModelInfo {
  name: string;
  dir: string;
  vocab_size: number;
  num_layers: number;
  max_positions: number;
  default: boolean;
}
export interface StrategyInfo {
  name: string;
  description: string;
  paper: string;
  params: Record<string, ParamSpec>;
}
export interface CacheInfo {
  mode: string;
  description: string;
  paper: string;
  params: Record<string, ParamSpec>;
}
export interface SuiteInfo {
  name: string;
  kind: string;
  description: string;
}
export interface RecentFile {
  path: string;
  name: string;
  openedAt: string;
}

export interface ProgressEvent {
  id: string;
  step: number;
  totalSteps: number;
  committed: number;
  genLength: number;
  elapsedMs: number;
  tokensPerS: number;
  etaMs: number;
}
export interface DoneEvent {
  id: string;
  path: string;
  output: string;
  complete: boolean;
  steps: number;
  nfe: number;
  wall_ms: number;
}
export interface ErrorEvent {
  id: string;
  message: string;
}
export interface ImportProgressEvent {
  id: string;
  done: number;
  total: number;
  tensor: string;
}
export interface ImportDoneEvent {
  id: string;
  model: string;
  dir: string;
  architecture: string;
}
export type EngineEvent =
  | { type: 'import-progress'; data: ImportProgressEvent }
  | { type: 'import-done'; data: ImportDoneEvent }
  | { type: 'progress'; data: ProgressEvent }
  | { type: 'done'; data: DoneEvent }
  | { type: 'error'; data: ErrorEvent };

/** A trace set's index as the Set view gets it. */
export interface SetIndex {
  dir: string;
  rows: IndexRow[];
  /** Rows left out (cut short by a killed writer). */
  skipped: number;
  /** The rows' confidence grids, packed (the page fetches them with setConfidenceGrids when first drawn). */
  grids?: Uint8Array;
}
export type { IndexRow };

export interface EngineApi {
  models(): Promise<ModelInfo[]>;
  strategies(): Promise<StrategyInfo[]>;
  caches(): Promise<CacheInfo[]>;
  suites(): Promise<SuiteInfo[]>;
  taskPrompt(suite: string, index: number): Promise<{ prompt: string; reference: string }>;
  startRecording(job: RecordJob): Promise<{ id: string }>;
  cancelRecording(id: string): Promise<void>;
  /** Bytes of a trace the engine can reach (a recorded or recent file). */
  readTrace(path: string): Promise<Uint8Array>;
  /** Size in bytes of a trace the engine can reach: large ones open lazily, through readTraceRange. */
  traceSize(path: string): Promise<number>;
  /** Bytes [offset, offset + length) of a trace the page may read (at most 64 MiB per call). */
  readTraceRange(path: string, offset: number, length: number): Promise<Uint8Array>;
  /** The traces in dlens's traces folder (`dlens serve --traces-dir`, where a recorder there writes), newest first. */
  traces(): Promise<RecentFile[]>;
  /** Writes a trace; the host decides where (a save dialog in the app, the traces folder under `dlens serve`). */
  saveTrace(name: string, bytes: Uint8Array): Promise<{ path: string } | null>;
  recent(): Promise<RecentFile[]>;
  bench(job: BenchJob): Promise<BenchCell[]>;
  /**
   * Converts a Hugging Face checkpoint folder the person chose (a folder dialog in the app) into a model in
   * ~/.dlens/models; progress and the result arrive as import-progress / import-done (or error) events.
   */
  importCheckpoint(job: ImportJob): Promise<{ id: string }>;
  /** A trace set the person opened (`dlens serve --set DIR`): its index rows (docs/trace-set.md). */
  openSet(dir: string): Promise<SetIndex>;
  /** One decode of an opened set, as the bytes of a `.dlens` trace. */
  setTrace(dir: string, id: string): Promise<Uint8Array>;
  /**
   * The confidence grids of an opened set's decodes (IndexRow.conf_grid), base64 of GRID × GRID bytes per row in
   * openSet's row order: byte q is a mean confidence of q / 254, 255 no statistic. Fetched only when the Set view
   * draws them: as JSON in every row they would double the index the view opens.
   */
  setConfidenceGrids(dir: string): Promise<string>;
  onEvent(listener: (e: EngineEvent) => void): () => void;
}

export { API_METHODS, type ApiMethod } from './methods.js';
