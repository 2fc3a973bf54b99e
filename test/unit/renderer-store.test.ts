import { describe, it, expect, beforeAll } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createAppStore, active } from '../../renderer/src/store.js';
import { record } from '../../engine/record.js';
import { FIXTURE, tmp } from '../helpers.js';

describe('renderer store', () => {
  let bytes: Uint8Array, bytesB: Uint8Array;
  beforeAll(async () => {
    const d = tmp();
    await record({
      model: FIXTURE,
      prompt: 'store',
      genLength: 32,
      blockLength: 8,
      steps: 16,
      out: join(d, 'a.dlens'),
    });
    await record({
      model: FIXTURE,
      prompt: 'store',
      genLength: 32,
      blockLength: 8,
      steps: 32,
      cache: 'dual',
      out: join(d, 'b.dlens'),
    });
    bytes = new Uint8Array(readFileSync(join(d, 'a.dlens')));
    bytesB = new Uint8Array(readFileSync(join(d, 'b.dlens')));
  });

  it('opens a trace at its last step and clamps the cursor to the trace', () => {
    const s = createAppStore();
    const lt = s.getState().openBytes(bytes, 'a.dlens')!;
    expect(active(s.getState())!.id).toBe(lt.id);
    expect(s.getState().step).toBe(16);
    s.getState().setStep(99);
    expect(s.getState().step).toBe(16);
    s.getState().setStep(-3);
    expect(s.getState().step).toBe(0);
    s.getState().stepBy(5);
    expect(s.getState().step).toBe(5);
  });

  it('play from the end restarts at step 0', () => {
    const s = createAppStore();
    s.getState().openBytes(bytes, 'a.dlens');
    s.getState().togglePlay();
    expect(s.getState()).toMatchObject({ playing: true, step: 0 });
    s.getState().togglePlay();
    expect(s.getState().playing).toBe(false);
  });

  it('refuses a malformed file with a message and keeps the traces already open', () => {
    const s = createAppStore();
    s.getState().openBytes(bytes, 'a.dlens');
    expect(s.getState().openBytes(new Uint8Array([1, 2, 3]), 'junk.dlens')).toBeNull();
    expect(s.getState().error).toMatch(/^Could not open junk\.dlens: not a valid \.dlens trace/);
    expect(s.getState().traces.length).toBe(1);
  });

  it('keeps at most four traces in a comparison and forgets closed ones', () => {
    const s = createAppStore();
    const ids = [bytes, bytesB, bytes, bytesB, bytes].map((b, i) => s.getState().openBytes(b, `t${i}`)!.id);
    expect(s.getState().compareIds).toEqual(ids.slice(1));
    s.getState().closeTrace(ids[4]!);
    expect(s.getState().compareIds).toEqual(ids.slice(1, 4));
    expect(s.getState().activeId).toBe(ids[3]);
    s.getState().toggleCompare(ids[2]!);
    expect(s.getState().compareIds).toEqual([ids[1], ids[3]]);
  });

  it('reopening the same path replaces the open copy', () => {
    const s = createAppStore();
    s.getState().openBytes(bytes, 'a.dlens', '/x/a.dlens');
    s.getState().openBytes(bytes, 'a.dlens', '/x/a.dlens');
    expect(s.getState().traces.length).toBe(1);
  });
});
