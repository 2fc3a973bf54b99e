import { describe, it, expect } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { readTrace, openTrace, type ByteSource } from '../../engine/trace/trace.js';
import { writeLargeTrace } from '../../bench/large-trace.js';
import { tmp } from '../helpers.js';

/** A large trace opened through range reads must be the trace read whole, while reading only what views ask. */
describe('opening a trace lazily, through range reads', () => {
  const file = join(tmp(), 'large.dlens');
  writeLargeTrace(file, 4, 300, 80);
  const bytes = new Uint8Array(readFileSync(file));
  const reads: [number, number][] = [];
  const src: ByteSource = {
    size: bytes.length,
    read: async (o, n) => {
      reads.push([o, n]);
      return bytes.slice(o, o + n);
    },
  };

  it('reads the per-position tensors at once and each step of top-k, saliency and cache on demand', async () => {
    const whole = readTrace(bytes);
    const lazy = await openTrace(src);
    const opened = reads.reduce((a, [, n]) => a + n, 0);
    const layered = lazy.saliency.shape.reduce((a, b) => a * b, 1) * 2 + lazy.cached.shape.reduce((a, b) => a * b, 1);
    expect(opened).toBeLessThan(bytes.length - layered); // the layers were not read
    expect(Array.from(lazy.state)).toEqual(Array.from(whole.state));
    expect(Array.from(lazy.confidence)).toEqual(Array.from(whole.confidence));
    expect(lazy.saliency.row(7)).toBeUndefined(); // not in memory yet: the read starts
    await lazy.saliency.load(7);
    expect(Array.from(lazy.saliency.row(7)!)).toEqual(Array.from(whole.saliency.row(7)!));
    await lazy.topkIds.load(0, 80);
    expect(Array.from(lazy.topkIds.row(79)!)).toEqual(Array.from(whole.topkIds.row(79)!));
    const all = await lazy.cached.loadFull();
    expect(Array.from(all!)).toEqual(Array.from(whole.cached.full()!));
  });

  it('refuses a malformed row when a view reads it, with the step named', async () => {
    const bad = bytes.slice();
    const lazy0 = await openTrace(src);
    const e = lazy0.topkIds;
    // the first id of step 3 of topk_ids, set outside the vocabulary
    const header = Number(new DataView(bad.buffer).getBigUint64(0, true));
    const meta = JSON.parse(new TextDecoder().decode(bad.subarray(8, 8 + header)));
    const off = 8 + header + meta.topk_ids.data_offsets[0] + 3 * e.rowLength * 4;
    new DataView(bad.buffer).setInt32(off, 999999, true);
    const lazy = await openTrace({ size: bad.length, read: async (o, n) => bad.slice(o, o + n) });
    await expect(lazy.topkIds.load(3)).rejects.toThrow(/topk_ids holds token id 999999 at step 3/);
  });
});
