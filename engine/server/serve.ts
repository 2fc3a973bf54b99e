import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { extname, join, normalize, resolve, sep } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { WebSocketServer, type WebSocket } from 'ws';
import { validateCall } from '../api/schema.js';
import { checkJsonShape } from '../trace/json-guard.js';
import type { EngineApi } from '../api/types.js';
import type { ServiceHost } from '../api/service.js';
import { DlensError } from '../errors.js';

export interface ServeOptions {
  host?: string;
  port?: number;
  rendererDir: string;
  service: EngineApi & Pick<ServiceHost, 'setIndexGzip'>;
  token?: string;
}
export interface RunningServer {
  url: string;
  token: string;
  port: number;
  close(): Promise<void>;
}

const LOOPBACK = new Set(['127.0.0.1', '::1', 'localhost']);
const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript',
  '.css': 'text/css',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.json': 'application/json',
  '.woff2': 'font/woff2',
  '.ico': 'image/x-icon',
};
const MAX_UPLOAD = 1 << 30;
/** Engine calls are small JSON (a prompt of at most 200,000 characters); trace bytes go over HTTP, not the socket. */
const MAX_MESSAGE = 1 << 20;
const MAX_MESSAGE_DEPTH = 16;

/**
 * `dlens serve`: the renderer and the engine API for a browser, on loopback only, behind a random per-run token.
 * The token arrives once in the printed URL and is then kept in an HttpOnly, SameSite=Strict cookie, so another site
 * can neither read the page nor drive the engine; WebSocket upgrades must also come from this origin.
 */
export async function serve(o: ServeOptions): Promise<RunningServer> {
  const host = o.host ?? '127.0.0.1';
  if (!LOOPBACK.has(host))
    throw new DlensError(
      `dlens serve listens on loopback only (127.0.0.1 or ::1), not ${host}; to reach it from another machine use an SSH tunnel: ssh -L 8765:127.0.0.1:8765 HOST`,
    );
  if (!existsSync(join(o.rendererDir, 'index.html')))
    throw new DlensError(`the renderer is not built (${o.rendererDir}/index.html is missing); run npm run build first`);
  const token = o.token ?? randomBytes(24).toString('base64url');
  const tokenBuf = Buffer.from(token);
  // Compare bytes, not characters: a string of the same length in characters can differ in bytes, and
  // timingSafeEqual throws on buffers of different lengths.
  const okToken = (t: unknown) => {
    if (typeof t !== 'string' || !t) return false;
    const b = Buffer.from(t);
    return b.length === tokenBuf.length && timingSafeEqual(b, tokenBuf);
  };
  const cookieToken = (req: IncomingMessage) => /(?:^|;\s*)dlens=([^;]+)/.exec(req.headers.cookie ?? '')?.[1];
  const authorised = (req: IncomingMessage, url: URL) =>
    okToken(url.searchParams.get('token')) || okToken(cookieToken(req)) || okToken(req.headers['x-dlens-token']);
  let origin = '',
    port = 0;
  // DNS rebinding: a page of evil.example whose name now resolves to 127.0.0.1 sends Host: evil.example.
  const hosts = () => [`127.0.0.1:${port}`, `localhost:${port}`, `[::1]:${port}`];
  const hostOk = (req: IncomingMessage) => hosts().includes((req.headers.host ?? '').toLowerCase());
  // A request from a page of another origin says so; our own page may be opened under any of the loopback names.
  const originOk = (req: IncomingMessage) =>
    !req.headers.origin || hosts().some((h) => req.headers.origin === `http://${h}`);
  const parseUrl = (req: IncomingMessage) => {
    try {
      return new URL(req.url ?? '/', origin);
    } catch {
      return null;
    }
  };
  const csp = () =>
    `default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; connect-src 'self' ${origin.replace('http', 'ws')}; object-src 'none'; base-uri 'none'; frame-src 'none'; frame-ancestors 'none'; form-action 'none'`;
  const root = resolve(o.rendererDir);

  const send = (
    res: ServerResponse,
    code: number,
    body: string | Uint8Array,
    type = 'text/plain; charset=utf-8',
    extra: Record<string, string> = {},
  ) => {
    if (res.headersSent) {
      res.end();
      return;
    }
    res.writeHead(code, {
      'content-type': type,
      'x-content-type-options': 'nosniff',
      'cache-control': 'no-store',
      'referrer-policy': 'no-referrer',
      'content-security-policy': csp(),
      ...extra,
    });
    res.end(body);
  };
  const readBody = (req: IncomingMessage) =>
    new Promise<Uint8Array>((ok, fail) => {
      const parts: Buffer[] = [];
      let n = 0;
      req.on('data', (c: Buffer) => {
        n += c.length;
        if (n > MAX_UPLOAD) {
          fail(new DlensError(`upload refused: traces sent to dlens serve may be at most ${MAX_UPLOAD >> 20} MB`));
          req.destroy();
        } else parts.push(c);
      });
      req.on('end', () => ok(new Uint8Array(Buffer.concat(parts))));
      req.on('error', fail);
    });

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const url = parseUrl(req);
    if (!url) return send(res, 400, 'dlens serve: malformed request target');
    if (!hostOk(req)) return send(res, 403, `dlens serve answers only to 127.0.0.1:${port} or localhost:${port}`);
    if (!authorised(req, url))
      return send(
        res,
        403,
        'dlens serve: this URL needs the token that `dlens serve` printed (open the full URL it printed)',
      );
    const setCookie: Record<string, string> = okToken(url.searchParams.get('token'))
      ? { 'set-cookie': `dlens=${token}; HttpOnly; SameSite=Strict; Path=/` }
      : {};
    try {
      if (url.pathname === '/api/trace-size' && req.method === 'GET') {
        const path = validateCall('traceSize', [url.searchParams.get('path') ?? '']).args[0] as string;
        return send(res, 200, JSON.stringify({ size: await o.service.traceSize(path) }), 'application/json');
      }
      if (url.pathname === '/api/trace' && req.method === 'GET' && req.headers.range !== undefined) {
        // A large trace is read in ranges (one chunk of steps per request): RFC 9110 single byte ranges.
        const m = /^bytes=(\d{1,16})-(\d{1,16})$/.exec(req.headers.range);
        if (!m || Number(m[2]) < Number(m[1]))
          return send(
            res,
            416,
            JSON.stringify({ error: 'only one byte range, bytes=FIRST-LAST, is served' }),
            'application/json',
          );
        const [first, last] = [Number(m[1]), Number(m[2])];
        const { args } = validateCall('readTraceRange', [url.searchParams.get('path') ?? '', first, last - first + 1]);
        const bytes = await o.service.readTraceRange(args[0] as string, first, last - first + 1);
        return send(res, 206, bytes, 'application/octet-stream', {
          'content-range': `bytes ${first}-${first + bytes.length - 1}/*`,
        });
      }
      if (url.pathname === '/api/set-index' && req.method === 'GET') {
        // openSet over HTTP, compressed once (the page starts it before its script runs:
        // renderer/public/early-set-index.js).
        const { args } = validateCall('openSet', [url.searchParams.get('dir') ?? '']);
        const gz = await o.service.setIndexGzip(args[0] as string);
        if (/\bgzip\b/.test(String(req.headers['accept-encoding'] ?? '')))
          return send(res, 200, gz, 'application/json', { 'content-encoding': 'gzip' });
        return send(res, 200, gunzipSync(gz), 'application/json');
      }
      if (url.pathname === '/api/set-trace' && req.method === 'GET') {
        const { args } = validateCall('setTrace', [
          url.searchParams.get('dir') ?? '',
          url.searchParams.get('id') ?? '',
        ]);
        const bytes = await o.service.setTrace(args[0] as string, args[1] as string);
        return send(res, 200, bytes, 'application/octet-stream');
      }
      if (url.pathname === '/api/trace' && req.method === 'GET') {
        const bytes = await o.service.readTrace(
          validateCall('readTrace', [url.searchParams.get('path') ?? '']).args[0] as string,
        );
        return send(res, 200, bytes, 'application/octet-stream');
      }
      if (url.pathname === '/api/trace' && req.method === 'POST') {
        if (!originOk(req)) return send(res, 403, 'cross-origin upload refused');
        if (Number(req.headers['content-length'] ?? 0) > MAX_UPLOAD) {
          send(
            res,
            413,
            JSON.stringify({
              error: `upload refused: traces sent to dlens serve may be at most ${MAX_UPLOAD >> 20} MB`,
            }),
            'application/json',
            { connection: 'close' },
          );
          req.destroy();
          return;
        }
        const bytes = await readBody(req);
        const { args } = validateCall('saveTrace', [url.searchParams.get('name') ?? '', bytes]);
        return send(
          res,
          200,
          JSON.stringify(await o.service.saveTrace(args[0] as string, args[1] as Uint8Array)),
          'application/json',
        );
      }
      if (req.method !== 'GET') return send(res, 405, 'method not allowed');
      let rel: string;
      try {
        rel = url.pathname === '/' ? 'index.html' : decodeURIComponent(url.pathname.slice(1));
      } catch {
        return send(res, 400, 'malformed path');
      }
      const file = normalize(join(root, rel));
      if (!file.startsWith(root + sep) || !existsSync(file) || !statSync(file).isFile())
        return send(res, 404, `not found: ${url.pathname}`);
      return send(res, 200, readFileSync(file), TYPES[extname(file)] ?? 'application/octet-stream', setCookie);
    } catch (e) {
      return send(res, 400, JSON.stringify({ error: (e as Error).message }), 'application/json');
    }
  };
  // No request may stop the server: whatever a handler throws becomes an answer, never an uncaught exception.
  const server = createServer((req, res) => {
    handle(req, res).catch((e: unknown) => {
      try {
        send(res, 500, `dlens serve: ${(e as Error)?.message ?? e}`);
      } catch {
        res.destroy();
      }
    });
  });
  server.on('clientError', (_e, socket) => {
    if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nconnection: close\r\n\r\n');
    else socket.destroy();
  });

  const wss = new WebSocketServer({ noServer: true, maxPayload: MAX_MESSAGE });
  wss.on('error', () => {
    /* a failed handshake: the socket is already answered */
  });
  server.on('upgrade', (req, socket, head) => {
    socket.on('error', () => socket.destroy());
    const url = parseUrl(req);
    if (!url || url.pathname !== '/api' || !hostOk(req) || !authorised(req, url) || !originOk(req)) {
      socket.end(`HTTP/1.1 ${url ? '403 Forbidden' : '400 Bad Request'}\r\nconnection: close\r\n\r\n`);
      return;
    }
    try {
      wss.handleUpgrade(req, socket, head, (ws) => wss.emit('connection', ws));
    } catch {
      socket.destroy();
    }
  });
  wss.on('connection', (ws: WebSocket) => {
    const off = o.service.onEvent((e) => {
      if (ws.readyState === ws.OPEN) ws.send(JSON.stringify({ event: e }));
    });
    ws.on('close', off);
    // A protocol error (invalid UTF-8, an oversized frame) closes this socket with its code; the server carries on.
    ws.on('error', () => ws.terminate());
    ws.on('message', async (raw, isBinary) => {
      let id: unknown = null;
      try {
        if (isBinary) throw new Error('engine calls are JSON text messages');
        const text = String(raw);
        // JSON.parse itself copes with any depth; what walks the value afterwards (validation) might not.
        const msg = JSON.parse(text);
        id = msg?.id;
        if (typeof id !== 'number') throw new Error('a call needs a numeric id');
        checkJsonShape(text, MAX_MESSAGE_DEPTH);
        const { method, args } = validateCall(String(msg.method), msg.args);
        if (method === 'readTrace' || method === 'saveTrace' || method === 'readTraceRange')
          throw new Error(`${method} goes over HTTP (/api/trace), not the WebSocket`);
        const fn = o.service[method] as (...a: unknown[]) => Promise<unknown>;
        const result = await fn(...args);
        if (ws.readyState === ws.OPEN) ws.send(JSON.stringify({ id, result: result ?? null }));
      } catch (e) {
        if (ws.readyState === ws.OPEN) ws.send(JSON.stringify({ id, error: (e as Error).message }));
      }
    });
  });

  try {
    await new Promise<void>((ok, fail) => {
      server.once('error', fail);
      server.listen(o.port ?? 0, host, () => ok());
    });
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'EADDRINUSE')
      throw new DlensError(
        `port ${o.port} on ${host} is already in use (another dlens serve?); choose another with --port N, or --port 0 for any free port`,
      );
    if (code === 'EACCES')
      throw new DlensError(`not allowed to listen on port ${o.port}; choose a port above 1023 with --port N`);
    throw e;
  }
  server.on('error', () => {
    /* after listening, errors belong to single connections */
  });
  const addr = server.address();
  port = typeof addr === 'object' && addr ? addr.port : 0;
  origin = `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
  return {
    url: `${origin}/?token=${token}`,
    token,
    port,
    close: () =>
      new Promise<void>((ok) => {
        for (const c of wss.clients) c.terminate();
        wss.close();
        server.close(() => ok());
        server.closeAllConnections();
      }),
  };
}
