import type { StoreApi } from 'zustand/vanilla';
import { active, zoomKey, type AppState, type ZoomState } from '../store.js';
import { VIEW_IDS, type ViewId } from '../views/ids.js';

/**
 * A link to a moment (Perfetto's way): the traces opened from paths, which is in front and which are compared, the
 * view, the step, the position and the zoom, in the page's query string. A reload or a pasted link restores them
 * (`dlens serve` still decides which paths the page may read). Dropped files have no path: a link cannot name them.
 */
export function linkParams(s: AppState): URLSearchParams {
  const q = new URLSearchParams();
  const withPath = s.traces.filter((t) => t.path);
  for (const t of withPath) q.append('open', t.path!);
  const lt = active(s);
  const at = (id: string) => withPath.findIndex((t) => t.id === id);
  if (lt && at(lt.id) > 0) q.set('active', String(at(lt.id)));
  q.set('view', s.view);
  if (lt) q.set('step', String(s.step));
  if (s.hover !== null) q.set('pos', String(s.hover));
  const cmp = s.compareIds.map(at).filter((i) => i >= 0);
  if (s.view === 'compare' && cmp.length) q.set('compare', cmp.join(','));
  const z = lt ? s.zooms[zoomKey(lt.id, s.view)] : undefined;
  if (z) q.set('zoom', [z.k, Math.round(z.x), Math.round(z.y), z.fit].join(','));
  for (const set of s.sets) q.append('set', set.dir);
  return q;
}

/** After the link's traces are open (in its order): the rest of its state. Values out of range are ignored. */
export function applyLink(store: StoreApi<AppState>, q: URLSearchParams) {
  const s = store.getState();
  const opened = q.getAll('open').map((p) => s.traces.find((t) => t.path === p));
  const nth = (i: number) => opened[i];
  const front = nth(Number(q.get('active') ?? 0));
  if (front) s.setActive(front.id);
  const view = q.get('view');
  if (view && (VIEW_IDS as readonly string[]).includes(view)) s.setView(view as ViewId);
  const compare = (q.get('compare') ?? '')
    .split(',')
    .filter(Boolean)
    .map((i) => nth(Number(i))?.id)
    .filter((id): id is string => !!id);
  if (compare.length >= 2) s.setCompare(compare);
  const step = Number(q.get('step'));
  if (q.has('step') && Number.isFinite(step)) s.setStep(step);
  const pos = Number(q.get('pos'));
  if (q.has('pos') && Number.isInteger(pos) && pos >= 0) s.setHover(pos);
  const [k, x, y, fit] = (q.get('zoom') ?? '').split(',');
  const lt = active(store.getState());
  if (lt && Number(k) >= 1 && Number.isFinite(Number(x)) && Number.isFinite(Number(y)))
    s.setZoom(zoomKey(lt.id, store.getState().view), {
      k: Number(k),
      x: Number(x),
      y: Number(y),
      fit: (fit === 'answer' ? 'answer' : 'all') as ZoomState['fit'],
    });
}

/**
 * The desktop app's link: a command line that reopens the same traces and moment (`dlens FILE... --state=...`),
 * shell-quoted. A trace opened without a path (dropped) cannot be named.
 */
export function commandLine(s: AppState, app = 'dlens'): string {
  const q = linkParams(s);
  const files = q.getAll('open');
  q.delete('open');
  const quote = (x: string) => `'${x.replace(/'/g, `'\\''`)}'`;
  return [app, ...files.map(quote), quote(`--state=${q}`)].join(' ');
}
