import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { cpSync, readFileSync, writeFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { loadModel, type LoadedModel } from '../../engine/model/load.js';
import { FIXTURE, ROOT, tmp } from '../helpers.js';

/** Full pass over all T positions, then the last Q positions again with the first C as cache: logits must agree. */
async function cachedVsFull(m: LoadedModel, ids: number[], C: number) {
  const { num_layers: Ly, num_heads: H, head_dim: Dh, vocab_size: V } = m.card;
  const T = ids.length,
    Q = T - C;
  const full = await m.forward({
    inputIds: BigInt64Array.from(ids.map(BigInt)),
    positionIds: BigInt64Array.from(ids.map((_, i) => BigInt(i))),
    B: 1,
    Q: T,
    pastKeys: new Float32Array(0),
    pastValues: new Float32Array(0),
    C: 0,
    queryWeights: new Float32Array(T).fill(1),
    needLogits: true,
  });
  const pk = new Float32Array(Ly * H * C * Dh),
    pv = new Float32Array(Ly * H * C * Dh);
  for (let l = 0; l < Ly; l++)
    for (let h = 0; h < H; h++)
      for (let c = 0; c < C; c++)
        for (let d = 0; d < Dh; d++) {
          pk[((l * H + h) * C + c) * Dh + d] = full.keys[((l * H + h) * T + c) * Dh + d]!;
          pv[((l * H + h) * C + c) * Dh + d] = full.values[((l * H + h) * T + c) * Dh + d]!;
        }
  const part = await m.forward({
    inputIds: BigInt64Array.from(ids.slice(C).map(BigInt)),
    positionIds: BigInt64Array.from(ids.slice(C).map((_, i) => BigInt(C + i))),
    B: 1,
    Q,
    pastKeys: pk,
    pastValues: pv,
    C,
    queryWeights: new Float32Array(Q).fill(1),
    needLogits: true,
  });
  let maxDiff = 0;
  for (let q = 0; q < Q; q++)
    for (let v = 0; v < V; v++)
      maxDiff = Math.max(maxDiff, Math.abs(part.logits[q * V + v]! - full.logits[(C + q) * V + v]!));
  return { maxDiff, saliencyLen: part.saliency.length / (Ly * H) };
}

describe('model loading (fixture and dlens-tiny, real onnxruntime-node)', () => {
  let fixture: LoadedModel, tiny: LoadedModel;
  beforeAll(async () => {
    fixture = await loadModel(FIXTURE);
    tiny = await loadModel();
  });
  afterAll(async () => {
    await fixture.release();
    await tiny.release();
  });

  it('loads the fixture and the bundled default model with their cards and tokenizers', () => {
    expect(fixture.card.name).toBe('tiny-random');
    expect(tiny.card.name).toBe('dlens-tiny');
    const ids = tiny.encode('Sort: 42 7');
    expect(tiny.decode(ids)).toBe('Sort: 42 7');
    expect(tiny.encode('<|user|>x<|assistant|>')[0]).toBe(2);
  });

  it('cached pass equals full pass within 1e-4 on the fixture', async () => {
    const ids = Array.from({ length: 40 }, (_, i) => 4 + ((i * 37) % 250));
    const r = await cachedVsFull(fixture, ids, 25);
    expect(r.maxDiff).toBeLessThan(1e-4);
    expect(r.saliencyLen).toBe(40);
  });

  it('cached pass equals full pass within 1e-4 on the shipped dlens-tiny', async () => {
    const ids = tiny
      .encode(tiny.card.prompt_template.replace('{prompt}', 'Copy: lemon 41 river 7 salt'))
      .concat(Array(32).fill(1));
    const r = await cachedVsFull(tiny, ids, 12);
    expect(r.maxDiff).toBeLessThan(1e-4);
  });
});

describe('model folder errors name what is wrong', () => {
  it('missing folder, missing file, broken contract, vocab mismatch, bad card', async () => {
    await expect(loadModel(join(ROOT, 'no/such/model'))).rejects.toThrow(/does not exist/);
    const d = tmp();
    cpSync(FIXTURE, d, { recursive: true });
    rmSync(join(d, 'tokenizer.json'));
    await expect(loadModel(d)).rejects.toThrow(/lacks tokenizer.json/);
    await expect(loadModel(join(ROOT, 'test/fixtures/broken-no-past-keys'))).rejects.toThrow(
      /missing input "past_keys"/,
    );
    const e = tmp();
    cpSync(FIXTURE, e, { recursive: true });
    const card = JSON.parse(readFileSync(join(e, 'dlens-model.json'), 'utf8'));
    writeFileSync(join(e, 'dlens-model.json'), JSON.stringify({ ...card, vocab_size: 200 }));
    await expect(loadModel(e)).rejects.toThrow(
      /vocab size mismatch: dlens-model.json says 200 but tokenizer.json has 260/,
    );
    // A larger vocabulary than the tokenizer's is allowed (padded embeddings), but it must be the graph's.
    writeFileSync(join(e, 'dlens-model.json'), JSON.stringify({ ...card, vocab_size: 300 }));
    await expect(loadModel(e)).rejects.toThrow(/dlens-model.json says vocab_size 300, but the graph has 260/);
    writeFileSync(join(e, 'dlens-model.json'), JSON.stringify({ ...card, num_layers: 'two' }));
    await expect(loadModel(e)).rejects.toThrow(/field "num_layers"/);
  });
});
