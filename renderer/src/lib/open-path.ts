import type { StoreApi } from 'zustand/vanilla';
import type { AppState } from '../store.js';
import type { Host } from '../host/types.js';
import { LAZY_ABOVE } from './traceModel.js';
import { parseBenchJson } from './bench-file.js';

/**
 * Opens a trace the engine can reach by its path (a recent file, one in the traces folder, one the command line
 * named): whole when small, through range reads when large. A refusal (a path the page may not read) shows as the
 * app's error, with the engine's reason.
 */
export async function openTracePath(store: StoreApi<AppState>, host: Host, path: string) {
  performance.mark('dlens:open-start'); // bench:ui measures opening a large trace from here to its first frame
  try {
    const name = path.split(/[\\/]/).pop() ?? path;
    const size = await host.api.traceSize(path);
    if (size > LAZY_ABOVE)
      await store.getState().openSource({ size, read: (o, n) => host.api.readTraceRange(path, o, n) }, name, path);
    else store.getState().openBytes(await host.api.readTrace(path), name, path);
    requestAnimationFrame(() => requestAnimationFrame(() => performance.measure('dlens:open', 'dlens:open-start')));
  } catch (e) {
    store.getState().setError(`Could not open ${path}: ${(e as Error).message}`);
  }
}

/** Opens a trace set the engine may read (named on the command line, or chosen in the desktop app's File menu) in
 * the Set view; a refusal or a folder that is not a set shows as the app's error, with the engine's reason. */
export async function openTraceSet(store: StoreApi<AppState>, host: Host, dir: string, show = true) {
  try {
    store.getState().setOpeningSet(dir.split(/[\\/]/).filter(Boolean).pop() ?? dir);
    store.getState().addSet(await host.api.openSet(dir));
    if (show) store.getState().setSetBrowse({ dir });
    store.getState().setView('set');
  } catch (e) {
    store.getState().setError(`Could not open the trace set ${dir}: ${(e as Error).message}`);
  } finally {
    store.getState().setOpeningSet(null);
  }
}

/** Opens a bench result (`dlens bench --format json`) in the Bench view: loaded there, or dropped on the page. */
export async function openBenchFile(store: StoreApi<AppState>, f: { name: string; text(): Promise<string> }) {
  try {
    store.getState().setBench({ cells: parseBenchJson(await f.text()), source: f.name, selected: null, suite: 'all' });
    store.getState().setView('bench');
  } catch (e) {
    store.getState().setError(`Could not load ${f.name}: ${(e as Error).message}`);
  }
}
