import { describe, it, expect } from 'vitest';
import { copyFileSync, cpSync, mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import WebSocket from 'ws';
import { startServe, tmp, FIXTURE } from '../helpers.js';

describe('dlens serve after a failed model load', () => {
  it('forgets the failure, so fixing the folder and recording again works; stopping prints no stack trace', async () => {
    const d = tmp();
    const models = join(d, 'models');
    mkdirSync(models);
    cpSync(FIXTURE, join(models, 'mine'), { recursive: true });
    rmSync(join(models, 'mine', 'model.onnx'));
    const srv = await startServe({ DLENS_HOME: join(d, 'home'), DLENS_MODEL_PATH: models });
    const ws = await new Promise<WebSocket>((ok, fail) => {
      const w = new WebSocket(`ws://127.0.0.1:${srv.port}/api`, { headers: { 'x-dlens-token': srv.token } });
      w.on('open', () => ok(w));
      w.on('error', fail);
    });
    const events: { type: string; data: { message?: string; complete?: boolean } }[] = [];
    ws.on('message', (m) => {
      const x = JSON.parse(String(m));
      if (x.event && x.event.type !== 'progress') events.push(x.event);
    });
    const job = {
      model: 'mine',
      prompt: 'hi',
      strategy: 'low-confidence',
      params: {},
      cache: 'none',
      cacheParams: {},
      genLength: 8,
      blockLength: 8,
      steps: 8,
      seed: 0,
      temperature: 0,
    };
    const until = async (n: number) => {
      for (let i = 0; i < 200 && events.length < n; i++) await new Promise((r) => setTimeout(r, 50));
    };
    ws.send(JSON.stringify({ id: 1, method: 'startRecording', args: [job] }));
    await until(1);
    expect(events[0]).toMatchObject({ type: 'error' });
    expect(events[0]!.data.message).toMatch(/lacks model\.onnx/);
    copyFileSync(join(FIXTURE, 'model.onnx'), join(models, 'mine', 'model.onnx'));
    ws.send(JSON.stringify({ id: 2, method: 'startRecording', args: [job] }));
    await until(2);
    expect(events[1]).toMatchObject({ type: 'done', data: { complete: true } });
    ws.close();
    srv.stop();
    await srv.exited;
    expect(srv.stderr()).not.toMatch(/\n\s+at |Error/);
  }, 60_000);
});
