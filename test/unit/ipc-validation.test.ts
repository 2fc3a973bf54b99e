import { describe, it, expect, vi, beforeEach } from 'vitest';
import { readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { createIpcHandlers } from '../../electron/ipc.js';
import { validateCall } from '../../engine/api/schema.js';
import { API_METHODS, type EngineApi } from '../../engine/api/types.js';
import { record } from '../../engine/record.js';
import { FIXTURE, tmp } from '../helpers.js';

const good = {
  strategy: 'low-confidence',
  params: {},
  cache: 'none',
  cacheParams: {},
  genLength: 32,
  blockLength: 8,
  steps: 32,
  seed: 0,
  temperature: 0,
  prompt: 'hi',
};

function fakeService() {
  const calls: [string, unknown[]][] = [];
  const svc = Object.fromEntries(
    API_METHODS.map((m) => [
      m,
      async (...a: unknown[]) => {
        calls.push([m, a]);
        return m === 'startRecording' ? { id: 'x' } : [];
      },
    ]),
  );
  return { svc: { ...svc, onEvent: () => () => {} } as unknown as EngineApi, calls };
}

describe('IPC validation in the main process', () => {
  const dir = tmp();
  const dialogs = { chooseSavePath: vi.fn(async (name: string): Promise<string | null> => join(dir, name)) };
  beforeEach(() => {
    dialogs.chooseSavePath.mockClear();
  });

  it('passes a well-formed call through to the engine', async () => {
    const { svc, calls } = fakeService();
    const h = createIpcHandlers(svc, dialogs);
    expect(await h.call('startRecording', [good])).toEqual({ id: 'x' });
    expect(calls).toEqual([['startRecording', [good]]]);
  });

  it.each([
    ['a method name that is not a string', 42, []],
    ['an unknown method', 'eval', ['1+1']],
    ['a prototype key as method', 'constructor', []],
    ['arguments that are not an array', 'models', 'all'],
    ['extra arguments', 'models', [1]],
    ['a record job with an unknown field', 'startRecording', [{ ...good, nodeIntegration: true }]],
    ['a record job with both prompt and task', 'startRecording', [{ ...good, task: { suite: 'sort', index: 0 } }]],
    ['a negative gen length', 'startRecording', [{ ...good, genLength: -1 }]],
    ['a string where a number belongs', 'startRecording', [{ ...good, steps: '32' }]],
    ['a non-finite temperature', 'startRecording', [{ ...good, temperature: Infinity }]],
    ['a cache mode that does not exist', 'startRecording', [{ ...good, cache: 'all' }]],
    ['a cancel id with path characters', 'cancelRecording', ['../../etc']],
    ['a trace path that is empty', 'readTrace', ['']],
    ['bytes that are not bytes', 'saveTrace', ['x.dlens', 'AAAA']],
  ])('refuses %s, and the engine never sees it', async (_what, method, args) => {
    const { svc, calls } = fakeService();
    const h = createIpcHandlers(svc, dialogs);
    await expect(h.call(method, args)).rejects.toThrow(/invalid|unknown engine method/);
    expect(calls).toEqual([]);
  });

  it('names the offending field', () => {
    expect(() => validateCall('startRecording', [{ ...good, genLength: 0 }])).toThrow(/at 0\.genLength: .*>=1/);
  });

  it('writes a trace only after checking it, where the user chose, atomically', async () => {
    const { svc } = fakeService();
    const h = createIpcHandlers(svc, dialogs);
    await expect(h.call('saveTrace', ['x.dlens', new Uint8Array([1, 2, 3])])).rejects.toThrow(
      /not a valid \.dlens trace/,
    );
    expect(dialogs.chooseSavePath).not.toHaveBeenCalled();
    const src = join(dir, 'src.dlens');
    await record({ model: FIXTURE, prompt: 'ipc', genLength: 8, blockLength: 8, steps: 8, out: src });
    const bytes = new Uint8Array(readFileSync(src));
    expect(await h.call('saveTrace', ['copy.dlens', bytes])).toEqual({ path: join(dir, 'copy.dlens') });
    expect(readFileSync(join(dir, 'copy.dlens')).equals(Buffer.from(bytes))).toBe(true);
    dialogs.chooseSavePath.mockImplementationOnce(async () => null);
    expect(await h.call('saveTrace', ['cancelled.dlens', bytes])).toBeNull();
    expect(existsSync(join(dir, 'cancelled.dlens'))).toBe(false);
  });

  it('refuses malformed export saves', async () => {
    const h = createIpcHandlers(fakeService().svc, dialogs);
    await expect(h.saveFile('', new Uint8Array(1))).rejects.toThrow(/invalid save request/);
    await expect(h.saveFile('fig.svg', '<svg/>')).rejects.toThrow(/invalid save request/);
    expect(await h.saveFile('fig.svg', new TextEncoder().encode('<svg/>'))).toBe(join(dir, 'fig.svg'));
  });
});

describe('preload bridge', () => {
  it('exposes one function per API method that forwards to the call channel, and drops malformed events', async () => {
    const exposed: Record<string, unknown> = {};
    const invoke = vi.fn(async () => 'ok');
    const handlers: Record<string, (e: unknown, x: unknown) => void> = {};
    vi.doMock('electron', () => ({
      contextBridge: {
        exposeInMainWorld: (k: string, v: unknown) => {
          exposed[k] = v;
        },
      },
      ipcRenderer: {
        invoke,
        on: (ch: string, h: (e: unknown, x: unknown) => void) => {
          handlers[ch] = h;
        },
        removeListener: vi.fn(),
      },
    }));
    await import('../../electron/preload.js');
    const api = exposed.dlens as Record<string, (...a: unknown[]) => unknown>;
    for (const m of API_METHODS) expect(typeof api[m]).toBe('function');
    expect(Object.keys(api).sort()).toEqual([...API_METHODS, 'onEvent', 'onMenu', 'saveFile', 'chooseFolder'].sort());
    await api.chooseFolder!('Pick');
    expect(invoke).toHaveBeenCalledWith('dlens:choose-folder', 'Pick');
    await api.taskPrompt!('sort', 3);
    expect(invoke).toHaveBeenCalledWith('dlens:call', 'taskPrompt', ['sort', 3]);
    const got: unknown[] = [];
    api.onEvent!((e: unknown) => got.push(e));
    handlers['dlens:event']!({}, { type: 'progress', data: { id: 'a' } });
    handlers['dlens:event']!({}, { type: 'import-done', data: { id: 'b' } });
    handlers['dlens:event']!({}, { type: 'exec', data: {} });
    handlers['dlens:event']!({}, 'rm -rf');
    expect(got).toEqual([
      { type: 'progress', data: { id: 'a' } },
      { type: 'import-done', data: { id: 'b' } },
    ]);
  });
});
