import { completeRows, openSet, type OpenSet } from '../traceset/set.js';
import { packGrids } from '../metrics/confidence-grid.js';
import { DlensError } from '../errors.js';
import type { EngineApi } from './types.js';

/**
 * The engine API's trace sets: only those the person named (`dlens serve --set DIR`, the desktop app's File menu)
 * open, each one's index read once (10,000 rows are read once, not per call). `real` resolves a folder's links, so
 * that a set named one way is the set asked for another.
 */
export function setAccess(
  real: (p: string) => string,
): Pick<EngineApi, 'openSet' | 'setConfidenceGrids' | 'setTrace'> & { allowSet(dir: string): void } {
  const allowed = new Set<string>();
  const sets = new Map<string, OpenSet>();
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
      const s = setOf(dir);
      // Without the confidence grids: setConfidenceGrids sends them packed, when the view draws them.
      return { dir, rows: s.rows.map(({ conf_grid: _, ...r }) => r), skipped: s.skipped };
    },
    async setConfidenceGrids(dir) {
      return Buffer.from(packGrids(setOf(dir).rows)).toString('base64');
    },
    async setTrace(dir, id) {
      return setOf(dir).trace(id);
    },
  };
}
