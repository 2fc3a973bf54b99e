import { useEffect, useMemo, useState } from 'react';
import { useStoreApi } from '../context.js';
import { buildMatrix, loadMatrix, type Matrix } from './heatmap.js';
import type { LoadedTrace } from './traceModel.js';

/**
 * A heatmap's matrix for a view. A large trace opened lazily has its per-step rows read now, in chunks: until then the
 * matrix is the pending one and `progress` says how far the reading got (0-1); a read that fails shows its error.
 */
export function useMatrix(lt: LoadedTrace, metric: string, layer = -1): { matrix: Matrix; progress: number } {
  const store = useStoreApi();
  const built = useMemo(() => buildMatrix(lt, metric, layer), [lt, metric, layer]);
  const [loaded, setLoaded] = useState<{ key: Matrix; m: Matrix } | null>(null);
  const [progress, setProgress] = useState(0);
  useEffect(() => {
    if (!built.pending) return;
    let live = true;
    setProgress(0);
    loadMatrix(lt, metric, layer, (d) => live && setProgress(d)).then(
      (m) => live && setLoaded({ key: built, m }),
      (e: Error) => live && store.getState().setError(e.message),
    );
    return () => {
      live = false;
    };
  }, [built]);
  return { matrix: built.pending && loaded?.key === built ? loaded.m : built, progress };
}
