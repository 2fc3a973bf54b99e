import type { SetIndex } from '../../../engine/api/types.js';

/**
 * A set's index over HTTP (`dlens serve`, GET /api/set-index, compressed in transit). A set the
 * address names (?set=DIR) was asked for by renderer/public/early-set-index.js before the bundle ran; that answer is
 * taken once, any later open asks again.
 */
export async function fetchSetIndex(dir: string, headers?: Record<string, string>): Promise<SetIndex> {
  const started = window.__dlensEarlySetIndex?.get(dir);
  window.__dlensEarlySetIndex?.delete(dir);
  const r = await (started ?? fetch(`/api/set-index?dir=${encodeURIComponent(dir)}`, { headers }));
  if (!r.ok) throw new Error((await r.json().catch(() => ({ error: r.statusText }))).error);
  return r.json();
}
