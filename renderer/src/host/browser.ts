import type { EngineApi, EngineEvent, ApiMethod } from '../../../engine/api/types.js';
import type { Host } from './types.js';
import { fetchSetIndex } from './early-set-index.js';

/**
 * The engine over `dlens serve`: JSON calls and events on one WebSocket, trace bytes over HTTP. The page was opened
 * with ?token=…; the server then holds it in an HttpOnly cookie, which both channels carry.
 */
export function browserHost(): Host {
  const token = new URLSearchParams(location.search).get('token') ?? '';
  // The server has put the token into an HttpOnly cookie with this page; keep it out of the address bar, the
  // history and anything copied from there.
  if (token) {
    const url = new URL(location.href);
    url.searchParams.delete('token');
    history.replaceState(history.state, '', url.pathname + url.search + url.hash);
  }
  const wsUrl = `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/api${token ? `?token=${encodeURIComponent(token)}` : ''}`;
  const listeners = new Set<(e: EngineEvent) => void>();
  const pending = new Map<number, { ok: (v: unknown) => void; fail: (e: Error) => void }>();
  let next = 1;
  let socket: Promise<WebSocket> | null = null;
  const connect = () =>
    (socket ??= new Promise<WebSocket>((ok, fail) => {
      const ws = new WebSocket(wsUrl);
      ws.onopen = () => ok(ws);
      ws.onerror = () => {
        socket = null;
        fail(new Error('cannot reach the dlens engine (is `dlens serve` still running?)'));
      };
      ws.onclose = () => {
        socket = null;
        for (const p of pending.values()) p.fail(new Error('connection to the engine closed'));
        pending.clear();
      };
      ws.onmessage = (m) => {
        const msg = JSON.parse(String(m.data));
        if (msg.event) {
          for (const l of listeners) l(msg.event);
          return;
        }
        const p = pending.get(msg.id);
        if (!p) return;
        pending.delete(msg.id);
        if (msg.error) p.fail(new Error(msg.error));
        else p.ok(msg.result);
      };
    }));
  // Results arrive as JSON from the engine, which typed them (engine/api/types.ts); T names what the method returns.
  const call = async <T>(method: ApiMethod, ...args: unknown[]): Promise<T> => {
    const ws = await connect();
    const id = next++;
    return new Promise<T>((ok, fail) => {
      pending.set(id, { ok: (v) => ok(v as T), fail });
      ws.send(JSON.stringify({ id, method, args }));
    });
  };
  const headers = token ? { 'x-dlens-token': token } : undefined;
  const api: EngineApi = {
    models: () => call('models'),
    strategies: () => call('strategies'),
    caches: () => call('caches'),
    suites: () => call('suites'),
    taskPrompt: (s, i) => call('taskPrompt', s, i),
    startRecording: (j) => call('startRecording', j),
    cancelRecording: (id) => call('cancelRecording', id),
    recent: () => call('recent'),
    importCheckpoint: (j) => call('importCheckpoint', j),
    bench: (j) => call('bench', j),
    async readTrace(path) {
      const r = await fetch(`/api/trace?path=${encodeURIComponent(path)}`, { headers });
      if (!r.ok) throw new Error((await r.json().catch(() => ({ error: r.statusText }))).error);
      return new Uint8Array(await r.arrayBuffer());
    },
    async traceSize(path) {
      const r = await fetch(`/api/trace-size?path=${encodeURIComponent(path)}`, { headers });
      if (!r.ok) throw new Error((await r.json().catch(() => ({ error: r.statusText }))).error);
      return (await r.json()).size;
    },
    async readTraceRange(path, offset, length) {
      if (length === 0) return new Uint8Array();
      const r = await fetch(`/api/trace?path=${encodeURIComponent(path)}`, {
        headers: { ...headers, range: `bytes=${offset}-${offset + length - 1}` },
      });
      if (r.status !== 206) throw new Error((await r.json().catch(() => ({ error: r.statusText }))).error);
      return new Uint8Array(await r.arrayBuffer());
    },
    traces: () => call('traces'),
    openSet: (dir) => fetchSetIndex(dir, headers),
    setConfidenceGrids: (dir) => call('setConfidenceGrids', dir),
    async setTrace(dir, id) {
      const r = await fetch(`/api/set-trace?dir=${encodeURIComponent(dir)}&id=${encodeURIComponent(id)}`, { headers });
      if (!r.ok) throw new Error((await r.json().catch(() => ({ error: r.statusText }))).error);
      return new Uint8Array(await r.arrayBuffer());
    },
    async saveTrace(name, bytes) {
      const r = await fetch(`/api/trace?name=${encodeURIComponent(name)}`, {
        method: 'POST',
        body: bytes as BodyInit,
        headers,
      });
      if (!r.ok) throw new Error((await r.json().catch(() => ({ error: r.statusText }))).error);
      return r.json();
    },
    onEvent(l) {
      listeners.add(l);
      void connect().catch(() => {});
      return () => listeners.delete(l);
    },
  };
  return {
    kind: 'browser',
    api,
    async saveFile(name, data) {
      // A browser has no save dialog API that works everywhere: a download is the save.
      const url = URL.createObjectURL(new Blob([data as BlobPart]));
      const a = document.createElement('a');
      a.href = url;
      a.download = name;
      document.body.appendChild(a);
      a.click();
      a.remove();
      setTimeout(() => URL.revokeObjectURL(url), 10_000);
      return name;
    },
    onMenu() {
      return () => {};
    },
  };
}
