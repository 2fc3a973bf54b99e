import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { connect } from 'node:net';
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import WebSocket from 'ws';
import { startServe, tmp, FIXTURE } from '../helpers.js';
import { record } from '../../engine/record.js';
import { syntheticSet } from '../support/synthetic-set.js';

/** A recording request as the page sends it: a long decode of dlens-tiny unless told otherwise. */
const job = (over: Record<string, unknown> = {}) => ({
  prompt: 'Define: lantern',
  strategy: 'low-confidence',
  params: {},
  cache: 'none',
  cacheParams: {},
  genLength: 512,
  blockLength: 32,
  steps: 512,
  seed: 0,
  temperature: 0,
  ...over,
});

/** Sends raw bytes to the server and returns what it answered before closing (or after a short wait). */
function raw(port: number, data: string | Buffer, waitMs = 1500): Promise<string> {
  return new Promise((ok) => {
    const s = connect(port, '127.0.0.1', () => s.write(data));
    let got = '';
    s.on('data', (d) => {
      got += d.toString('latin1');
    });
    s.on('error', () => ok(got));
    s.on('close', () => ok(got));
    setTimeout(() => {
      s.destroy();
      ok(got);
    }, waitMs);
  });
}

/** A masked client WebSocket frame (RFC 6455 §5.2) with any payload, also one ws would refuse to send. */
function frame(opcode: number, payload: Buffer, claimedLength = payload.length): Buffer {
  const mask = randomBytes(4);
  const head =
    claimedLength < 126
      ? Buffer.from([0x80 | opcode, 0x80 | claimedLength])
      : claimedLength < 65536
        ? Buffer.from([0x80 | opcode, 0x80 | 126, claimedLength >> 8, claimedLength & 255])
        : Buffer.concat([
            Buffer.from([0x80 | opcode, 0x80 | 127]),
            (() => {
              const b = Buffer.alloc(8);
              b.writeBigUInt64BE(BigInt(claimedLength));
              return b;
            })(),
          ]);
  const body = Buffer.from(payload.map((b, i) => b ^ mask[i % 4]!));
  return Buffer.concat([head, mask, body]);
}

describe('dlens serve under hostile requests', () => {
  let srv: Awaited<ReturnType<typeof startServe>>;
  let home: string, outside: string, port: number, base: string;
  const auth = () => ({ 'x-dlens-token': srv.token });
  const alive = async () => {
    const r = await fetch(`${base}/`, { headers: auth() });
    expect(r.status).toBe(200);
  };
  const upgrade = (extra: string) =>
    `GET /api HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ${randomBytes(16).toString('base64')}\r\nSec-WebSocket-Version: 13\r\n${extra}\r\n`;
  const call = (ws: WebSocket, id: number, method: string, args: unknown[]) =>
    new Promise<{ result?: unknown; error?: string }>((ok) => {
      const on = (m: WebSocket.RawData) => {
        const x = JSON.parse(String(m));
        if (x.id === id) {
          ws.off('message', on);
          ok(x);
        }
      };
      ws.on('message', on);
      ws.send(JSON.stringify({ id, method, args }));
    });
  const openWs = () =>
    new Promise<WebSocket>((ok, fail) => {
      const ws = new WebSocket(`ws://127.0.0.1:${port}/api`, { headers: auth() });
      ws.on('open', () => ok(ws));
      ws.on('error', fail);
    });

  beforeAll(async () => {
    const d = tmp();
    home = join(d, 'home');
    outside = join(d, 'outside');
    mkdirSync(join(home, 'traces'), { recursive: true });
    mkdirSync(outside);
    await record({
      model: FIXTURE,
      prompt: 'hi',
      genLength: 8,
      blockLength: 8,
      steps: 8,
      out: join(outside, 'secret.dlens'),
    });
    await record({
      model: FIXTURE,
      prompt: 'hi',
      genLength: 8,
      blockLength: 8,
      steps: 8,
      out: join(home, 'traces', 'mine.dlens'),
    });
    srv = await startServe({ DLENS_HOME: home });
    port = srv.port;
    base = `http://127.0.0.1:${port}`;
  }, 60_000);
  afterAll(() => srv?.stop());

  it('1. a token of 32 non-ASCII characters, anywhere, is refused and the server carries on', async () => {
    const bad = 'é'.repeat(32);
    expect(bad.length).toBe(srv.token.length);
    const enc = encodeURIComponent(bad);
    const answers = [
      await raw(port, `GET /?token=${enc} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n\r\n`),
      await raw(
        port,
        Buffer.from(`GET / HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nCookie: dlens=${bad}\r\n\r\n`, 'latin1'),
      ),
      await raw(
        port,
        Buffer.from(`GET / HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nX-Dlens-Token: ${bad}\r\n\r\n`, 'latin1'),
      ),
      await raw(port, upgrade(`Cookie: dlens=${enc}\r\n`).replace('GET /api', `GET /api?token=${enc}`)),
    ];
    for (const a of answers) expect(a).toMatch(/^HTTP\/1\.1 403/);
    await alive();
  });

  it('1. a malformed request target gets 400 in the HTTP and the upgrade handler', async () => {
    expect(await raw(port, `GET http://[ HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n\r\n`)).toMatch(/^HTTP\/1\.1 400/);
    expect(await raw(port, upgrade('').replace('GET /api', 'GET http://['))).toMatch(/^HTTP\/1\.1 400/);
    await alive();
  });

  it('1. WebSocket protocol errors close that socket only, and a recording in progress survives them', async () => {
    const ws = await openWs();
    const events: { type: string; data: { id: string; complete?: boolean; path?: string } }[] = [];
    ws.on('message', (m) => {
      const x = JSON.parse(String(m));
      if (x.event) events.push(x.event);
    });
    const started = await call(ws, 1, 'startRecording', [job()]);
    const id = (started.result as { id: string }).id;
    await new Promise((r) => setTimeout(r, 1500));
    const handshake = upgrade(`X-Dlens-Token: ${srv.token}\r\n`);
    const invalidUtf8 = await raw(
      port,
      Buffer.concat([Buffer.from(handshake), frame(0x1, Buffer.from([0xff, 0xfe, 0xfd]))]),
    );
    expect(invalidUtf8).toMatch(/^HTTP\/1\.1 101/);
    const oversized = await raw(port, Buffer.concat([Buffer.from(handshake), frame(0x1, Buffer.from('x'), 2 << 20)]));
    expect(oversized).toMatch(/^HTTP\/1\.1 101/);
    const nested = await call(ws, 2, 'models', JSON.parse(`[${'['.repeat(50)}${']'.repeat(50)}]`));
    expect(nested.error).toMatch(/nested more than 16 levels/);
    const progressBefore = events.filter((e) => e.type === 'progress').length;
    await new Promise((r) => setTimeout(r, 1000));
    expect(events.filter((e) => e.type === 'progress').length).toBeGreaterThan(progressBefore);
    await call(ws, 3, 'cancelRecording', [id]);
    for (let i = 0; i < 100 && !events.some((e) => e.type === 'done'); i++)
      await new Promise((r) => setTimeout(r, 100));
    expect(events.find((e) => e.type === 'done')?.data).toMatchObject({ id, complete: false });
    ws.close();
    await alive();
  }, 60_000);

  it('2. only Host 127.0.0.1:PORT or localhost:PORT is answered, with no referrer, and pages of other origins cannot upload', async () => {
    expect(
      await raw(port, `GET / HTTP/1.1\r\nHost: evil.example:${port}\r\nX-Dlens-Token: ${srv.token}\r\n\r\n`),
    ).toMatch(/^HTTP\/1\.1 403/);
    expect(
      await raw(
        port,
        upgrade(`X-Dlens-Token: ${srv.token}\r\n`).replace(`Host: 127.0.0.1:${port}`, `Host: rebind.example:${port}`),
      ),
    ).toMatch(/^HTTP\/1\.1 403/);
    const ok = await raw(port, `GET / HTTP/1.1\r\nHost: localhost:${port}\r\nX-Dlens-Token: ${srv.token}\r\n\r\n`);
    expect(ok).toMatch(/^HTTP\/1\.1 200/);
    expect(ok.toLowerCase()).toContain('referrer-policy: no-referrer');
    const up = await fetch(`${base}/api/trace?name=x`, {
      method: 'POST',
      headers: { ...auth(), origin: 'http://evil.example' },
      body: 'x',
    });
    expect(up.status).toBe(403);
    await alive();
  });

  it('3. bounded: an upload over the limit is refused at once, and at most two recordings run at once', async () => {
    const big = await raw(
      port,
      `POST /api/trace?name=big HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nX-Dlens-Token: ${srv.token}\r\nContent-Length: ${2 ** 31}\r\n\r\n`,
    );
    expect(big).toMatch(/^HTTP\/1\.1 413/);
    const ws = await openWs();
    const a = await call(ws, 1, 'startRecording', [job()]),
      b = await call(ws, 2, 'startRecording', [job()]),
      c = await call(ws, 3, 'startRecording', [job()]);
    expect(c.error).toBe('2 recordings are already running; wait for one to finish or cancel it, then record again');
    for (const [i, r] of [a, b].entries()) await call(ws, 10 + i, 'cancelRecording', [(r.result as { id: string }).id]);
    ws.close();
    await alive();
  }, 60_000);

  it('4. the page reads only traces it may: not outside files, not ../, not a FIFO, and no file content in errors', async () => {
    const read = async (path: string) => {
      const r = await fetch(`${base}/api/trace?path=${encodeURIComponent(path)}`, { headers: auth() });
      return { status: r.status, body: r.status === 200 ? '' : ((await r.json()).error as string) };
    };
    expect((await read(join(home, 'traces', 'mine.dlens'))).status).toBe(200);
    for (const p of [join(outside, 'secret.dlens'), join(home, 'traces', '..', '..', 'outside', 'secret.dlens')]) {
      const r = await read(p);
      expect(r.status).toBe(400);
      expect(r.body).toMatch(/dlens opens only traces you opened yourself/);
    }
    execFileSync('mkfifo', [join(home, 'traces', 'pipe.dlens')]);
    const t0 = Date.now();
    expect(await read(join(home, 'traces', 'pipe.dlens'))).toEqual({
      status: 400,
      body: `trace ${join(home, 'traces', 'pipe.dlens')} is not a regular file; dlens reads only files`,
    });
    expect(Date.now() - t0).toBeLessThan(2000);
    const ws = await openWs();
    const short = { prompt: 'x', genLength: 8, blockLength: 8, steps: 8 };
    const f = await call(ws, 1, 'startRecording', [
      job({ ...short, strategy: 'learn2pd', params: { filter: '/etc/passwd' } }),
    ]);
    expect(f.error).toMatch(/^Learn2PD filter "\/etc\/passwd" is not one of your filters/);
    expect(f.error).not.toContain('root:');
    const m = await call(ws, 2, 'startRecording', [job({ ...short, model: FIXTURE })]);
    expect(m.error).toMatch(/loads models by name .* or from a folder you chose/);
    const n = await call(ws, 3, 'startRecording', [job({ ...short, model: 'etc' })]);
    expect(n.error).toMatch(/^no model named "etc"/);
    ws.close();
    await alive();
  });

  it('5. saving a trace under a name that exists picks a free name and never overwrites', async () => {
    const bytes = readFileSync(join(home, 'traces', 'mine.dlens'));
    const save = async () =>
      (
        await (
          await fetch(`${base}/api/trace?name=mine.dlens`, { method: 'POST', headers: auth(), body: bytes })
        ).json()
      ).path as string;
    const first = await save(),
      second = await save();
    expect([first, second]).toEqual([join(home, 'traces', 'mine-1.dlens'), join(home, 'traces', 'mine-2.dlens')]);
    expect(readFileSync(join(home, 'traces', 'mine.dlens')).equals(bytes)).toBe(true);
    writeFileSync(join(home, 'traces', 'note.txt'), 'x');
    await alive();
  });
});

describe('dlens serve FILE...', () => {
  it('lets the page open the files named on its command line (and tells it to), and no others', async () => {
    const d = tmp();
    const named = join(d, 'named.dlens'),
      other = join(d, 'other.dlens');
    await record({ model: FIXTURE, prompt: 'hi', genLength: 8, blockLength: 8, steps: 8, out: named });
    await record({ model: FIXTURE, prompt: 'hi', genLength: 8, blockLength: 8, steps: 8, out: other });
    const srv = await startServe({ DLENS_HOME: join(d, 'home') }, [named]);
    try {
      expect(srv.url).toContain(`&open=${encodeURIComponent(named)}`);
      const get = (p: string) =>
        fetch(`http://127.0.0.1:${srv.port}/api/trace?path=${encodeURIComponent(p)}`, {
          headers: { 'x-dlens-token': srv.token },
        });
      expect((await get(named)).status).toBe(200);
      expect((await get(other)).status).toBe(400);
    } finally {
      srv.stop();
    }
  });
});

describe('dlens serve --set DIR', () => {
  it("sends the named set's index compressed over HTTP, the same rows as openSet, and no other set's", async () => {
    const d = tmp();
    const named = join(d, 'named.dlset'),
      other = join(d, 'other.dlset');
    await syntheticSet(named, d, 12, 'low-confidence');
    await syntheticSet(other, d, 3, 'low-confidence');
    const srv = await startServe({ DLENS_HOME: join(d, 'home') }, ['--set', named]);
    try {
      const index = (dir: string, headers: Record<string, string> = { 'x-dlens-token': srv.token }) =>
        fetch(`http://127.0.0.1:${srv.port}/api/set-index?dir=${encodeURIComponent(dir)}`, { headers });
      const r = await index(named);
      expect(r.status).toBe(200);
      expect(r.headers.get('content-encoding')).toBe('gzip'); // fetch asked for gzip and inflated it
      const got = await r.json();
      const ws = new WebSocket(`ws://127.0.0.1:${srv.port}/api`, { headers: { 'x-dlens-token': srv.token } });
      await new Promise((ok) => ws.on('open', ok));
      const viaWs = await new Promise<{ result: unknown }>((ok) => {
        ws.on('message', (m) => ok(JSON.parse(String(m))));
        ws.send(JSON.stringify({ id: 1, method: 'openSet', args: [named] }));
      });
      ws.close();
      expect(got).toEqual(viaWs.result);
      expect(got.rows).toHaveLength(12);
      expect(got.rows[0].conf_grid).toBeUndefined(); // the grids come with setConfidenceGrids, when drawn
      const refused = await index(other);
      expect(refused.status).toBe(400);
      expect((await refused.json()).error).toMatch(/only the trace sets named on the command line/);
      expect((await index(named, {})).status).toBe(403);
    } finally {
      srv.stop();
    }
  }, 120_000);
});
