import { describe, it, expect } from 'vitest';
import { encodeSafetensors, decodeSafetensors, FormatError } from '../../engine/trace/safetensors.js';
import { readTrace, TraceError, evictions } from '../../engine/trace/trace.js';
import { writeTrace } from '../../engine/trace/write.js';
import { toHalf, fromHalf } from '../../engine/trace/f16.js';
import { Rng } from '../../engine/util/rng.js';
import { sampleTrace, sampleTraceInput } from '../support/sample-trace.js';

describe('safetensors codec', () => {
  it('round-trips tensors and metadata with an 8-byte aligned data section', () => {
    const bytes = encodeSafetensors(
      [
        ['a', { dtype: 'I32', shape: [2, 2], data: new Int32Array([1, 2, 3, 4]) }],
        ['b', { dtype: 'U8', shape: [3], data: new Uint8Array([9, 8, 7]) }],
      ],
      { k: 'v' },
    );
    const n = Number(new DataView(bytes.buffer).getBigUint64(0, true));
    expect((8 + n) % 8).toBe(0);
    const { metadata, tensors } = decodeSafetensors(bytes);
    expect(metadata).toEqual({ k: 'v' });
    expect([...(tensors.get('a')!.data as Int32Array)]).toEqual([1, 2, 3, 4]);
    expect(tensors.get('b')!.shape).toEqual([3]);
  });

  it('refuses overlapping ranges, gaps and wrong sizes with a message naming the tensor', () => {
    const mk = (header: object, dataLen: number) => {
      const j = new TextEncoder().encode(JSON.stringify(header));
      const out = new Uint8Array(8 + j.length + dataLen);
      new DataView(out.buffer).setBigUint64(0, BigInt(j.length), true);
      out.set(j, 8);
      return out;
    };
    expect(() =>
      decodeSafetensors(
        mk(
          {
            a: { dtype: 'U8', shape: [4], data_offsets: [0, 4] },
            b: { dtype: 'U8', shape: [4], data_offsets: [2, 6] },
          },
          6,
        ),
      ),
    ).toThrow(/"b" overlaps/);
    expect(() => decodeSafetensors(mk({ a: { dtype: 'U8', shape: [2], data_offsets: [2, 4] } }, 4))).toThrow(
      /belong to no tensor/,
    );
    expect(() => decodeSafetensors(mk({ a: { dtype: 'I32', shape: [2], data_offsets: [0, 4] } }, 4))).toThrow(
      /"a".*needs 8 bytes/,
    );
    expect(() => decodeSafetensors(mk({ a: { dtype: 'Q7', shape: [2], data_offsets: [0, 2] } }, 2))).toThrow(
      /unsupported dtype/,
    );
    expect(() => decodeSafetensors(mk({ a: { dtype: 'U8', shape: [9], data_offsets: [0, 9] } }, 4))).toThrow(
      /truncated/,
    );
    expect(() => decodeSafetensors(new Uint8Array(4))).toThrow(FormatError);
  });
});

describe('trace reader', () => {
  it('reads back what the writer wrote', () => {
    const t = readTrace(sampleTrace());
    expect(t.dims).toMatchObject({ S: 3, T: 6, G: 4, K: 2, Ly: 1, P: 2 });
    expect(t.manifest.complete).toBe(true);
    expect(Array.from(t.commitStep)).toEqual([-1, -1, 1, 2, 3, 3]);
    expect(t.confidence[0]).toBeCloseTo(0.5, 3);
  });

  it('derives evictions per step and layer from the cached tensor', () => {
    expect(evictions(readTrace(sampleTrace()))).toEqual([
      { step: 1, layer: 0, positions: [2] },
      { step: 2, layer: 0, positions: [1] },
    ]);
  });

  it('refuses a truncated trace with a TraceError naming truncation', () => {
    const b = sampleTrace();
    expect(() => readTrace(b.subarray(0, b.length - 10))).toThrow(/truncated|no tensor|needs/);
    expect(() => readTrace(b.subarray(0, 20))).toThrow(TraceError);
  });

  it('refuses a manifest that breaks the schema or disagrees with the tensors', () => {
    expect(() => readTrace(sampleTrace({ format: 'other' as never }))).toThrow(/manifest is invalid at "format"/);
    expect(() => readTrace(sampleTrace({ steps: 5 }))).toThrow(/5 steps but "state" holds 3/);
  });

  it('reads the logit lens and refuses one that is half there, of the wrong shape or outside the vocabulary', () => {
    const base = sampleTraceInput();
    const { S, Ly, G } = base.dims;
    const n = S * Ly * G;
    const ids = Int32Array.from({ length: n }, (_, i) => (i % 3 === 0 ? -1 : i % 10));
    const probs = Float32Array.from({ length: n }, (_, i) => (i % 3 === 0 ? NaN : 0.25));
    const t = readTrace(writeTrace({ ...base, lensIds: ids, lensProbs: probs }));
    expect(t.lensIds.shape).toEqual([S, Ly, G]);
    expect(Array.from(t.lensIds.row(0)!)).toEqual(Array.from(ids.subarray(0, Ly * G)));
    expect(t.lensProbs.row(0)![1]).toBeCloseTo(0.25, 3);
    expect(() => readTrace(writeTrace({ ...base, lensIds: ids }))).toThrow(/"lens_ids" and "lens_probs" come together/);
    const bad = ids.slice();
    bad[4] = 10;
    expect(() => readTrace(writeTrace({ ...base, lensIds: bad, lensProbs: probs }))).toThrow(
      /lens_ids holds token id 10 at step 1/,
    );
    // Two layers of lens beside one layer of saliency.
    const { metadata, tensors } = decodeSafetensors(writeTrace({ ...base, lensIds: ids, lensProbs: probs }));
    tensors.set('lens_ids', { dtype: 'I32', shape: [S, 2, G], data: new Int32Array(2 * n) });
    tensors.set('lens_probs', { dtype: 'F16', shape: [S, 2, G], data: new Uint16Array(2 * n) });
    expect(() => readTrace(encodeSafetensors(tensors, metadata))).toThrow(
      /"lens_ids" has shape \[3,2,4\], expected \[3,1,4\]/,
    );
  });

  it('never throws anything but TraceError on corrupted bytes (seeded fuzz)', () => {
    const base = sampleTrace();
    const rng = new Rng(7);
    let refused = 0;
    for (let i = 0; i < 400; i++) {
      const b = base.slice();
      const flips = rng.int(1, 8);
      for (let f = 0; f < flips; f++) b[rng.int(0, i % 2 ? 200 : b.length - 1)] = rng.int(0, 255);
      const cut = i % 5 === 0 ? rng.int(0, b.length) : b.length;
      try {
        readTrace(b.subarray(0, cut));
      } catch (e) {
        expect(e).toBeInstanceOf(TraceError);
        refused++;
      }
    }
    expect(refused).toBeGreaterThan(100);
  });
});

describe('f16', () => {
  it('round-trips representable values and keeps NaN', () => {
    for (const v of [0, 1, -2, 0.5, 0.333251953125, 65504, 6.103515625e-5]) expect(fromHalf(toHalf(v))).toBe(v);
    expect(Number.isNaN(fromHalf(toHalf(NaN)))).toBe(true);
    expect(fromHalf(toHalf(0.1))).toBeCloseTo(0.1, 4);
  });
});
