import { describe, it, expect } from 'vitest';
import { readTrace } from '../../engine/trace/trace.js';
import { writeTrace } from '../../engine/trace/write.js';
import { handMadeManifest } from '../support/sample-trace.js';
import { positionTimings, delaySummary, volatilityBands } from '../../engine/metrics/index.js';

/**
 * A hand-made 4-step trace: position 1 is right from step 1 but committed at step 3; position 2 right and committed at
 * step 0.
 */
function trace(conf: number[] = [0.2, 0.9, 0.5, 0.9, 0.3, 0.1, 0.8, 0.1]) {
  const S = 4,
    P = 1,
    G = 2,
    T = 3,
    K = 1;
  const state = new Int32Array([3, 1, 1, 3, 1, 8, 3, 1, 8, 3, 1, 8, 3, 7, 8]);
  return readTrace(
    writeTrace({
      manifest: handMadeManifest(P, G, S),
      dims: { S, T, G, K, Ly: 1, P },
      state,
      commitStep: new Int32Array([-1, 4, 1]),
      topkIds: new Int32Array([5, 8, 7, 9, 7, 9, 7, 9]),
      topkProbs: new Float32Array(8).fill(0.5),
      confidence: new Float32Array(conf),
      entropy: new Float32Array(8),
      block: new Int32Array([1, 3, 1, 3, 1, 3, 1, 3]),
      stepMs: new Float32Array(4),
      saliency: new Float32Array(12),
      cached: new Uint8Array(12),
    }),
  );
}

describe('delayed-decoding metrics', () => {
  it('finds first-correct, stable-from, commit and delay per position', () => {
    expect(positionTimings(trace())).toEqual([
      { position: 1, finalToken: 7, firstCorrect: 1, stableFrom: 1, commit: 3, delay: 2 },
      { position: 2, finalToken: 8, firstCorrect: 0, stableFrom: 0, commit: 0, delay: 0 },
    ]);
  });
  it('summarises delays and the oracle step count', () => {
    const d = delaySummary(trace());
    expect(d.meanDelay).toBe(1);
    expect(d.delayedMoreThan).toMatchObject({ '0': 0.5, '1': 0.5, '2': 0 });
    expect(d.oracleSteps).toBe(2);
    expect(d.actualSteps).toBe(4);
  });
  it('marks masked positions whose confidence swings as the volatility band', () => {
    // position 1 swings 0.2 -> 0.9 -> 0.5 -> 0.9 while masked; position 2 is committed after step 0
    const bands = volatilityBands(trace(), 4, 0.1);
    expect(bands[0]!.positions).toEqual([]);
    expect(bands[1]).toMatchObject({ start: 1, end: 2, positions: [1] });
    const calm = volatilityBands(
      trace([0.5, 0.9, 0.5, 0.9, 0.5, 0.1, 0.5, 0.1].map((_, i) => (i % 2 ? 0.1 : 0.5))),
      4,
      0.1,
    );
    expect(calm.every((b) => b.positions.length === 0)).toBe(true);
  });
});
