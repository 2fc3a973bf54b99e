import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { extname, join, normalize, resolve, sep } from 'node:path';
import { WebSocketServer, type WebSocket } from 'ws';
import { validateCall } from '../api/schema.js';
import type { EngineApi } from '../api/types.js';
import { DlensError } from '../errors.js';

export interface ServeOptions { host?: string; port?: number; rendererDir: string; service: EngineApi; token?: string }
export interface RunningServer { url: string; token: string; port: number; close(): Promise<void> }

const LOOPBACK = new Set(['127.0.0.1', '::1', 'localhost']);
const TYPES: Record<string, string> = { '.html': 'text/html; charset=utf-8', '.js': 'text/javascript', '.css': 'text/css', '.svg': 'image/svg+xml', '.png': 'image/png', '.json': 'application/json', '.woff2': 'font/woff2', '.ico': 'image/x-icon' };
const MAX_UPLOAD = 1 << 30;

/**
 * `dlens serve`: the renderer and the engine API for a browser, on loopback only, behind a random per-run token.
 * The token arrives once in the printed URL and is then kept in an HttpOnly, SameSite=Strict cookie, so another site
 * can neither read the page nor drive the engine; WebSocket upgrades must also come from this origin.
 */
export async function serve(o: ServeOptions): Promise<RunningServer> {
  const host = o.host ?? '127.0.0.1';
  if (!LOOPBACK.has(host)) throw new DlensError(`dlens serve listens on loopback only (127.0.0.1 or ::1), not ${host}; to reach it from another machine use an SSH tunnel: ssh -L 8765:127.0.0.1:8765 HOST`);
  if (!existsSync(join(o.rendererDir, 'index.html'))) throw new DlensError(`the renderer is not built (${o.rendererDir}/index.html is missing); run npm run build first`);
  const token = o.token ?? randomBytes(24).toString('base64url');
  const tokenBuf = Buffer.from(token);
  const okToken = (t: string | null | undefined) => !!t && t.length === token.length && timingSafeEqual(Buffer.from(t), tokenBuf);
  const cookieToken = (req: IncomingMessage) => /(?:^|;\s*)dlens=([^;]+)/.exec(req.headers.cookie ?? '')?.[1];
  const authorised = (req: IncomingMessage, url: URL) => okToken(url.searchParams.get('token')) || okToken(cookieToken(req)) || okToken(req.headers['x-dlens-token'] as string | undefined);
  let origin = '';
  const csp = () => `default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; connect-src 'self' ${origin.replace('http', 'ws')}; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'none'`;
  const root = resolve(o.rendererDir);

  const send = (res: ServerResponse, code: number, body: string | Uint8Array, type = 'text/plain; charset=utf-8', extra: Record<string, string> = {}) => {
    res.writeHead(code, { 'content-type': type, 'x-content-type-options': 'nosniff', 'cache-control': 'no-store', 'content-security-policy': csp(), ...extra });
    res.end(body);
  };
  const readBody = (req: IncomingMessage) => new Promise<Uint8Array>((ok, fail) => {
    const parts: Buffer[] = []; let n = 0;
    req.on('data', (c: Buffer) => { n += c.length; if (n > MAX_UPLOAD) { fail(new Error('upload too large')); req.destroy(); } else parts.push(c); });
    req.on('end', () => ok(new Uint8Array(Buffer.concat(parts))));
    req.on('error', fail);
  });

  const server = createServer(async (req, res) => {
    const url = new URL(req.url ?? '/', origin || 'http://localhost');
    if (!authorised(req, url)) return send(res, 403, 'dlens serve: this URL needs the token that `dlens serve` printed (open the full URL it printed)');
    const setCookie: Record<string, string> = okToken(url.searchParams.get('token')) ? { 'set-cookie': `dlens=${token}; HttpOnly; SameSite=Strict; Path=/` } : {};
    try {
      if (url.pathname === '/api/trace' && req.method === 'GET') {
        const bytes = await o.service.readTrace(validateCall('readTrace', [url.searchParams.get('path') ?? '']).args[0] as string);
        return send(res, 200, bytes, 'application/octet-stream');
      }
      if (url.pathname === '/api/trace' && req.method === 'POST') {
        if (req.headers.origin && req.headers.origin !== origin) return send(res, 403, 'cross-origin upload refused');
        const bytes = await readBody(req);
        const { args } = validateCall('saveTrace', [url.searchParams.get('name') ?? '', bytes]);
        return send(res, 200, JSON.stringify(await o.service.saveTrace(args[0] as string, args[1] as Uint8Array)), 'application/json');
      }
      if (req.method !== 'GET') return send(res, 405, 'method not allowed');
      const rel = url.pathname === '/' ? 'index.html' : decodeURIComponent(url.pathname.slice(1));
      const file = normalize(join(root, rel));
      if (!file.startsWith(root + sep) || !existsSync(file) || !statSync(file).isFile()) return send(res, 404, `not found: ${url.pathname}`);
      return send(res, 200, readFileSync(file), TYPES[extname(file)] ?? 'application/octet-stream', setCookie);
    } catch (e) {
      return send(res, 400, JSON.stringify({ error: (e as Error).message }), 'application/json');
    }
  });

  const wss = new WebSocketServer({ noServer: true, maxPayload: 64 << 20 });
  server.on('upgrade', (req, socket, head) => {
    const url = new URL(req.url ?? '/', origin);
    if (url.pathname !== '/api' || !authorised(req, url) || (req.headers.origin && req.headers.origin !== origin)) {
      socket.write('HTTP/1.1 403 Forbidden\r\n\r\n'); socket.destroy(); return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => wss.emit('connection', ws));
  });
  wss.on('connection', (ws: WebSocket) => {
    const off = o.service.onEvent((e) => ws.send(JSON.stringify({ event: e })));
    ws.on('close', off);
    ws.on('message', async (raw) => {
      let id: unknown = null;
      try {
        const msg = JSON.parse(String(raw));
        id = msg?.id;
        if (typeof id !== 'number') throw new Error('a call needs a numeric id');
        const { method, args } = validateCall(String(msg.method), msg.args);
        if (method === 'readTrace' || method === 'saveTrace') throw new Error(`${method} goes over HTTP (/api/trace), not the WebSocket`);
        const fn = o.service[method] as (...a: unknown[]) => Promise<unknown>;
        const result = await fn(...args);
        ws.send(JSON.stringify({ id, result: result ?? null }));
      } catch (e) {
        ws.send(JSON.stringify({ id, error: (e as Error).message }));
      }
    });
  });

  await new Promise<void>((ok, fail) => { server.once('error', fail); server.listen(o.port ?? 0, host, () => ok()); });
  const addr = server.address();
  const port = typeof addr === 'object' && addr ? addr.port : 0;
  origin = `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
  return {
    url: `${origin}/?token=${token}`, token, port,
    close: () => new Promise<void>((ok) => { for (const c of wss.clients) c.terminate(); wss.close(); server.close(() => ok()); server.closeAllConnections(); }),
  };
}
