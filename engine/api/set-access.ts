import { completeRows, openSet, type OpenSet } from '../traceset/set.js';
import { packGrids } from '../metrics/confidence-grid.js';
import { DlensError } from '../errors.js';
import type { EngineApi, SetIndex } from './types.js';
import { gzipSync } from 'node:zlib';

/**
 * The engine API's trace sets: only those the person named (`dlens serve --set DIR`, the desktop app's File menu)
 * open, each one's index read once (10,000 rows are read once, not per call). `real` resolves a folder's links, so
 * that a set named one way is the set asked for another.
 */
export function setAccess(real: (p: string) => string): Pick<
  EngineApi,
  'openSet' | 'setConfidenceGrids' | 'setTrace'
> & {
  allowSet(dir: string): void;
  setIndexGzip(dir: string): Promise<Uint8Array>;
} {
  const allowed = new Set<string>();
  const sets = new Map<string, OpenSet>();
  // What openSet answers, built once per set: 10,000 rows are copied (without their grids) once, not per page.
  const indexes = new Map<string, SetIndex>();
  const wires = new Map<string, Uint8Array>();
  const index = (dir: string): SetIndex => {
    const key = real(dir);
    const s = setOf(dir);
    // Without the confidence grids: setConfidenceGrids sends them packed, when the view draws them.
    if (!indexes.has(key))
      indexes.set(key, { dir, rows: s.rows.map(({ conf_grid: _, ...r }) => r), skipped: s.skipped });
    return { ...indexes.get(key)!, dir };
  };
  // As `dlens serve` sends it: 10,000 rows are 5 MB of JSON and about 300 kB compressed, which the browser inflates
  // off the page's thread (the page then only parses).
  const indexGzip = (dir: string): Uint8Array => {
    const key = real(dir);
    if (!wires.has(key)) wires.set(key, gzipSync(JSON.stringify(index(dir)), { level: 6 }));
    return wires.get(key)!;
  };
  const setOf = (dir: string): OpenSet => {
    const key = real(dir);
    if (!allowed.has(key))
      throw new DlensError(
        `the page may open only the trace sets named on the command line (dlens serve --set ${dir})`,
      );
    if (!sets.has(key)) {
      const s = openSet(key);
      completeRows(s);
      sets.set(key, s);
    }
    return sets.get(key)!;
  };
  return {
    allowSet(dir) {
      allowed.add(real(dir));
    },
    async openSet(dir) {
      return index(dir);
    },
    async setIndexGzip(dir) {
      return indexGzip(dir);
    },
    async setConfidenceGrids(dir) {
      return Buffer.from(packGrids(setOf(dir).rows)).toString('base64');
    },
    async setTrace(dir, id) {
      return setOf(dir).trace(id);
    },
  };
}
