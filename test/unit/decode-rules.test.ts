import { describe, it, expect } from 'vitest';
import { numTransferTokens } from '../../engine/decode/schedule.js';
import { predictRow } from '../support/predict-row.js';
import { predictRows } from '../../engine/decode/row-stats.js';
import { validateSchedule } from '../../engine/decode/run.js';
import { lowConfidence } from '../../engine/strategies/low-confidence.js';
import { randomRemasking } from '../../engine/strategies/random.js';
import { resolveParams, getStrategy } from '../../engine/strategies/index.js';
import { Rng } from '../../engine/util/rng.js';
import type { StepView } from '../../engine/strategies/types.js';

describe('LLaDA schedule', () => {
  it('splits masked tokens over steps like get_num_transfer_tokens', () => {
    expect(numTransferTokens(32, 32)).toEqual(Array(32).fill(1));
    expect(numTransferTokens(10, 4)).toEqual([3, 3, 2, 2]);
    expect(numTransferTokens(8, 8).reduce((a, b) => a + b)).toBe(8);
  });
  it('refuses gen lengths and steps LLaDA cannot split, saying what to use', () => {
    expect(() => validateSchedule({ genLength: 30, blockLength: 8, steps: 30 }, 512, 4)).toThrow(
      /not a multiple of --block-length 8.*--gen-length 32/,
    );
    expect(() => validateSchedule({ genLength: 32, blockLength: 8, steps: 6 }, 512, 4)).toThrow(
      /cannot be split evenly over 4 blocks/,
    );
    expect(() => validateSchedule({ genLength: 32, blockLength: 8, steps: 64 }, 512, 4)).toThrow(
      /exceeds --gen-length/,
    );
    expect(() => validateSchedule({ genLength: 512, blockLength: 32, steps: 512 }, 512, 4)).toThrow(
      /exceeds the model's 512 positions/,
    );
  });
});

describe('predictRow', () => {
  it('finds the same top-k as a full sort, with softmax probabilities and entropy', () => {
    const rng = new Rng(3);
    const V = 300,
      K = 5;
    const logits = Float32Array.from({ length: V }, () => rng.next() * 8 - 4);
    const p = predictRow(logits.slice(), 0, V, K, 0, null);
    const sorted = [...logits.keys()].sort((a, b) => logits[b]! - logits[a]!).slice(0, K);
    expect(Array.from(p.topIds)).toEqual(sorted);
    const z = logits.reduce((s, l) => s + Math.exp(l), 0);
    expect(p.topProbs[0]).toBeCloseTo(Math.exp(logits[sorted[0]!]!) / z, 5);
    const ent = -logits.reduce((s, l) => {
      const q = Math.exp(l) / z;
      return s + q * Math.log(q);
    }, 0);
    expect(p.entropy).toBeCloseTo(ent, 4);
    expect(p.token).toBe(sorted[0]);
  });
  it('never predicts the mask token', () => {
    const logits = new Float32Array([0, 10, 1, 2]);
    expect(predictRow(logits, 0, 4, 2, 0, null, 1).token).toBe(3);
  });
  it('samples with Gumbel noise reproducibly under a seed', () => {
    const logits = new Float32Array(50).fill(0);
    const a = Array.from({ length: 20 }, (_, i) => predictRow(logits.slice(), 0, 50, 3, 1, new Rng(i)).token);
    const b = Array.from({ length: 20 }, (_, i) => predictRow(logits.slice(), 0, 50, 3, 1, new Rng(i)).token);
    expect(a).toEqual(b);
    expect(new Set(a).size).toBeGreaterThan(5);
  });
});

describe('predictRows (onnxruntime row statistics)', () => {
  it('agrees with the scalar reference on many rows, the mask token excluded', async () => {
    const rng = new Rng(11);
    const V = 517,
      K = 5,
      N = 40,
      MASK = 7;
    const logits = Float32Array.from({ length: N * V }, () => rng.next() * 20 - 10);
    for (let i = 0; i < N; i += 3) logits[i * V + MASK] = 50; // the mask would win every third row
    const fast = await predictRows(logits.slice(), 2, N, V, K, 0, null, MASK);
    expect(fast.length).toBe(N - 2);
    fast.forEach((f, i) => {
      const ref = predictRow(logits.slice(), (i + 2) * V, V, K, 0, null, MASK);
      expect(Array.from(f.topIds)).toEqual(Array.from(ref.topIds));
      f.topProbs.forEach((p, j) => expect(p).toBeCloseTo(ref.topProbs[j]!, 5));
      expect(f.entropy).toBeCloseTo(ref.entropy, 4);
      expect(f.token).not.toBe(MASK);
      expect(f.confidence).toBeCloseTo(ref.confidence, 5);
    });
  });
  it('samples only the rows it is asked to, so recording more rows leaves the random stream alone', async () => {
    const logits = new Float32Array(6 * 50).fill(0);
    const a = await predictRows(logits.slice(), 0, 6, 50, 3, 1, new Rng(5), -1, (r) => r >= 4);
    const b = await predictRows(logits.slice(4 * 50), 0, 2, 50, 3, 1, new Rng(5), -1);
    expect(a.slice(4).map((x) => x.token)).toEqual(b.map((x) => x.token));
    expect(a.slice(0, 4).every((x) => x.token === x.topIds[0])).toBe(true);
  });
});

function view(confs: number[], scheduled: number, random: number[] = confs.map(() => 0)): StepView {
  const P = 2;
  return {
    step: 0,
    blockStep: 0,
    stepsInBlock: confs.length,
    blockStart: P,
    blockEnd: P + confs.length,
    masked: confs.map((_, i) => P + i),
    promptLength: P,
    scheduled,
    random,
    tokenText: (id) => `t${id}`,
    eosId: 0,
    blockLength: confs.length,
    genLength: confs.length,
    totalSteps: confs.length,
    vocabSize: 4096,
    maskId: 1,
    tokens: new Int32Array(P + confs.length).fill(1),
    held: null,
    noise: null,
    logits: null,
    predictions: confs.map((c, i) => ({
      token: 100 + i,
      confidence: c,
      entropy: 0,
      topIds: new Int32Array([100 + i]),
      topProbs: new Float32Array([c]),
    })),
  };
}

describe('LLaDA remasking strategies', () => {
  it('low-confidence commits the scheduled count with the highest confidence', () => {
    const d = lowConfidence.decide(view([0.2, 0.9, 0.5, 0.95], 2), {}, undefined);
    expect(d.commit).toEqual([
      { position: 5, token: 103 },
      { position: 3, token: 101 },
    ]);
  });
  it('random commits where the random draw is highest, whatever the confidence', () => {
    const d = randomRemasking.decide(view([0.99, 0.1, 0.2], 1, [0.1, 0.7, 0.3]), {}, undefined);
    expect(d.commit).toEqual([{ position: 3, token: 101 }]);
  });
  it('refuses unknown strategies and parameters', () => {
    expect(() => getStrategy('nope')).toThrow(/unknown strategy "nope": choose one of/);
    expect(() => resolveParams(lowConfidence, { threshold: 1 })).toThrow(/has no parameter "threshold"/);
  });
});
