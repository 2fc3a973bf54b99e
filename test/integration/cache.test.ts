import { describe, it, expect, beforeAll } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadModel, type LoadedModel } from '../../engine/model/load.js';
import { decode } from '../../engine/decode/run.js';
import { lowConfidence } from '../../engine/strategies/low-confidence.js';
import { record } from '../../engine/record.js';
import { readTrace, evictions } from '../../engine/trace/trace.js';
import { FIXTURE, python, tmp } from '../helpers.js';

const base = { genLength: 32, blockLength: 8, steps: 32, temperature: 0, seed: 0, topK: 5, record: true };

describe('KV-cache policies on real models', () => {
  let fixture: LoadedModel, tiny: LoadedModel;
  beforeAll(async () => {
    fixture = await loadModel(FIXTURE);
    tiny = await loadModel();
  });

  it('sparse with keep_ratio 1 (selecting at the refresh pass, delay 0) gives exactly the tokens of dual', async () => {
    for (const [m, prompt] of [
      [fixture, 'hello world'],
      [tiny, 'Copy: lemon 41 river 7 salt'],
    ] as const) {
      const ids = m.encode(m.card.prompt_template.replace('{prompt}', prompt));
      const dual = await decode(m, ids, lowConfidence, {}, { ...base, cache: 'dual' });
      const sparse = await decode(
        m,
        ids,
        lowConfidence,
        {},
        { ...base, cache: 'sparse', cacheParams: { keep_ratio: 1, delay: 0 } },
      );
      expect(Array.from(sparse.state)).toEqual(Array.from(dual.state));
    }
  });

  it('prefix gives the same predictions as none at each block first step (both are full passes of the same state)', async () => {
    const ids = fixture.encode('<|user|>hello<|assistant|>');
    const none = await decode(fixture, ids, lowConfidence, {}, { ...base, cache: 'none' });
    const prefix = await decode(fixture, ids, lowConfidence, {}, { ...base, cache: 'prefix' });
    let compared = 0;
    for (let s = 0; s < 32; s += 8) {
      const same = none.recorder.states[s]!.every((v, i) => v === prefix.recorder.states[s]![i]);
      if (!same) continue;
      compared++;
      expect(Array.from(prefix.recorder.confidence[s]!)).toEqual(Array.from(none.recorder.confidence[s]!));
      expect(Array.from(prefix.recorder.topkIds[s]!)).toEqual(Array.from(none.recorder.topkIds[s]!));
    }
    expect(compared).toBeGreaterThanOrEqual(1);
  });

  it('prefix computes block and suffix between refreshes, dual only the block, and sparse evicts half the cache one step after each refresh', async () => {
    const d = tmp();
    const modes = ['none', 'prefix', 'dual', 'sparse'] as const;
    for (const cache of modes)
      await record({
        model: FIXTURE,
        prompt: 'hello',
        genLength: 32,
        blockLength: 8,
        steps: 32,
        cache,
        out: join(d, `${cache}.dlens`),
      });
    expect((await python(['test/check_trace.py', ...modes.map((c) => join(d, `${c}.dlens`))])).code).toBe(0);
    const t = Object.fromEntries(modes.map((c) => [c, readTrace(new Uint8Array(readFileSync(join(d, `${c}.dlens`))))]));
    const { T, Ly } = t.prefix!.dims;
    expect(t.prefix!.manifest.refresh_steps).toEqual([0, 8, 16, 24]);
    // step 1: prefix caches [0, 8+P) ... positions before the block; nothing after it
    const cachedAt = (tr: typeof t.none, s: number, l: number) =>
      Array.from(tr!.cached.full()!.subarray((s * Ly + l) * T, (s * Ly + l + 1) * T));
    const blockStart = t.prefix!.block[2 * 9]!;
    expect(
      cachedAt(t.prefix, 9, 0)
        .map((v, p) => (v ? p : -1))
        .filter((p) => p >= 0),
    ).toEqual(Array.from({ length: blockStart }, (_, i) => i));
    expect(cachedAt(t.dual, 9, 0).reduce((a, b) => a + b, 0)).toBe(T - 8);
    expect(cachedAt(t.none, 9, 0).reduce((a, b) => a + b, 0)).toBe(0);
    // prefix recomputes the block and the masked suffix at every step (Fast-dLLM's model(x[:, start:], past)), so
    // the suffix has predictions at step 9; dual reads the suffix from its cache and computes only the block
    const { P, G } = t.prefix!.dims;
    const lastRow = (tr: typeof t.none) => tr!.confidence.subarray(9 * G, 10 * G);
    expect(Array.from(lastRow(t.prefix).subarray(blockStart + 8 - P)).every((c) => !Number.isNaN(c))).toBe(true);
    expect(Array.from(lastRow(t.dual).subarray(blockStart + 8 - P)).every((c) => Number.isNaN(c))).toBe(true);
    // sparse (Sparse-dLLM, delay 1): the block's first step stores nothing, the second is a full pass that writes
    // prefix and suffix and keeps half of them, which is all the cache holds from then on
    expect(cachedAt(t.sparse, 8, 0).reduce((a, b) => a + b, 0)).toBe(0);
    expect(cachedAt(t.sparse, 9, 0).reduce((a, b) => a + b, 0)).toBe(T - 8);
    expect(cachedAt(t.sparse, 10, 0).reduce((a, b) => a + b, 0)).toBe(Math.floor((T - 8) / 2));
    expect(t.sparse!.manifest.refresh_steps).toEqual([1, 9, 17, 25]);
    const ev = evictions(t.sparse!).filter((e) => e.step === 10);
    expect(ev.length).toBe(Ly);
    expect(ev[0]!.positions.length).toBe(T - 8 - Math.floor((T - 8) / 2));
    // the kept share is all that is ever held between steps: half of dual's bytes
    const sparseBytes = t.sparse!.extras.get('extra.cache_bytes')!,
      dualBytes = t.dual!.extras.get('extra.cache_bytes')!;
    const peak = (x: typeof sparseBytes) => Math.max(...Array.from(x.data as Float32Array));
    expect(peak(sparseBytes) / peak(dualBytes)).toBeCloseTo(Math.floor((T - 8) / 2) / (T - 8), 5);
    // saliency is NaN exactly where a position was neither cached nor computed
    const s = 10,
      l = 1;
    for (let p = 0; p < T; p++) {
      const inBlock = p >= t.sparse!.block[2 * s]! && p < t.sparse!.block[2 * s + 1]!;
      expect(Number.isNaN(t.sparse!.saliency.full()![(s * Ly + l) * T + p]!)).toBe(
        !inBlock && !t.sparse!.cached.full()![(s * Ly + l) * T + p],
      );
    }
    const bytes = t.sparse!.extras.get('extra.cache_bytes')!;
    expect(bytes.shape).toEqual([32]);
  });

  it('refuses bad cache parameters with clear messages', async () => {
    const ids = fixture.encode('hi');
    await expect(
      decode(fixture, ids, lowConfidence, {}, { ...base, cache: 'sparse', cacheParams: { keep_ratio: 0 } }),
    ).rejects.toThrow(/keep_ratio must be in \(0, 1\]/);
    await expect(
      decode(fixture, ids, lowConfidence, {}, { ...base, cache: 'sparse', cacheParams: { keep_ratio: 1.5 } }),
    ).rejects.toThrow(/keep_ratio must be in \(0, 1\]/);
    await expect(
      decode(fixture, ids, lowConfidence, {}, { ...base, cache: 'sparse', cacheParams: { kernel_size: 4 } }),
    ).rejects.toThrow(/kernel_size must be an odd integer/);
    await expect(
      decode(fixture, ids, lowConfidence, {}, { ...base, cache: 'sparse', cacheParams: { kernel_size: 0 } }),
    ).rejects.toThrow(/kernel_size must be an odd integer/);
    await expect(decode(fixture, ids, lowConfidence, {}, { ...base, cache: 'bogus' as never })).rejects.toThrow(
      /unknown cache mode "bogus"/,
    );
    const blockCausal = { ...fixture, card: { ...fixture.card, attention: 'block-causal' as const } };
    await expect(decode(blockCausal, ids, lowConfidence, {}, { ...base, cache: 'dual' })).rejects.toThrow(
      /block-causal.*use --cache prefix/,
    );
    // A model exported before key_scores existed cannot rank as Sparse-dLLM does: refused, not approximated.
    const older = { ...fixture, hasKeyScores: false };
    await expect(decode(older, ids, lowConfidence, {}, { ...base, cache: 'sparse' })).rejects.toThrow(
      /no key_scores output.*convert the checkpoint again/,
    );
    expect((await decode(older, ids, lowConfidence, {}, { ...base, cache: 'dual' })).complete).toBe(true);
  });
});
