import { describe, it, expect } from 'vitest';
import { readTrace } from '../../engine/trace/trace.js';
import { writeTrace } from '../../engine/trace/write.js';
import { handMadeManifest } from '../support/sample-trace.js';
import { classifyPositions, positionRegions, traceMetrics } from '../../engine/metrics/index.js';

/**
 * A hand-made 3-step decode of 5 positions after a 1-token prompt (mask 1, EOS 0): the answer "7 8" then three EOS.
 * Step 0 commits the last two EOS, step 1 the first EOS and 7, step 2 the 8. Position 2's final token becomes top-1
 * only at step 1 (so the answer needs two oracle steps), and position 1's confidence swings at step 1 (a band).
 */
function decode() {
  const S = 3,
    P = 1,
    G = 5,
    T = 6,
    K = 1;
  return readTrace(
    writeTrace({
      manifest: handMadeManifest(P, G, S, {
        model: { name: 'm', card: { vocab_size: 10, eos_token_id: 0, pad_token_id: 0, mask_token_id: 1 } },
        output: '7 8',
        eos_token_id: 0,
      }),
      dims: { S, T, G, K, Ly: 1, P },
      // prettier-ignore
      state: new Int32Array([
        3, 1, 1, 1, 1, 1,
        3, 1, 1, 1, 0, 0,
        3, 7, 1, 0, 0, 0,
        3, 7, 8, 0, 0, 0,
      ]),
      commitStep: new Int32Array([-1, 2, 3, 2, 1, 1]),
      // prettier-ignore
      topkIds: new Int32Array([
        7, 9, 0, 0, 0,
        7, 8, 0, 0, 0,
        7, 8, 0, 0, 0,
      ]),
      topkProbs: new Float32Array(15).fill(0.5),
      // prettier-ignore
      confidence: new Float32Array([
        0.2, 0.4, 0.5, 0.5, 0.5,
        0.9, 0.45, 0.5, 0.5, 0.5,
        0.9, 0.5, 0.5, 0.5, 0.5,
      ]),
      entropy: new Float32Array(15),
      block: new Int32Array([1, 6, 1, 6, 1, 6]),
      stepMs: new Float32Array(3),
      saliency: new Float32Array(18),
      cached: new Uint8Array(18),
    }),
  );
}

describe('answer tokens and EOS padding (docs/metrics.md)', () => {
  it('the answer ends at the first EOS or pad; padding is EOS or pad after it; anything else counts in all only', () => {
    const ids = { eos: 0, pad: 2, mask: 1 };
    expect(Array.from(classifyPositions([5, 6, 0, 9, 0, 2], ids))).toEqual([0, 0, 1, 2, 1, 1]);
    expect(Array.from(classifyPositions([5, 2, 0], ids))).toEqual([0, 1, 1]); // pad ends the answer too
    expect(Array.from(classifyPositions([5, 6, 7], ids))).toEqual([0, 0, 0]); // no EOS: all answer
    expect(Array.from(classifyPositions([5, 1, 0, 1], ids))).toEqual([0, 2, 1, 2]); // still masked: neither
    expect(Array.from(classifyPositions([0, 0], ids))).toEqual([1, 1]); // empty answer
  });

  it('splits a trace into answer and padding positions', () => {
    const r = positionRegions(decode());
    expect(r.counts).toEqual({ answer: 2, padding: 3, all: 5 });
    expect([1, 2, 3, 4, 5].map((p) => r.has('answer', p))).toEqual([true, true, false, false, false]);
    expect([1, 2, 3, 4, 5].map((p) => r.has('padding', p))).toEqual([false, false, true, true, true]);
  });

  it('gives delay, delayed shares and oracle steps per region', () => {
    const m = traceMetrics(decode()).regions;
    // answer: position 1 stable from 0, committed at 1 (delay 1); position 2 stable from 1, committed at 2 (delay 1)
    expect(m.answer.delay).toMatchObject({ meanDelay: 1, oracleSteps: 2, actualSteps: 3 });
    expect(m.answer.delay.delayedMoreThan['0']).toBe(1);
    // padding: position 3 stable from 0, committed at 1 (delay 1); 4 and 5 committed at once (delay 0)
    expect(m.padding.delay.meanDelay).toBeCloseTo(1 / 3, 6);
    expect(m.padding.delay).toMatchObject({ oracleSteps: 1 });
    expect(m.padding.delay.delayedMoreThan['0']).toBeCloseTo(1 / 3, 6);
    expect(m.all.delay.meanDelay).toBeCloseTo(3 / 5, 6);
    expect(m.all.delay.oracleSteps).toBe(2);
  });

  it("gives tokens per forward and per step per region (answer: d3LLM's TPF excluding EOS)", () => {
    const m = traceMetrics(decode());
    expect(m.tpf).toBeCloseTo(5 / 3, 6);
    expect(m.regions.all.tpf).toBeCloseTo(5 / 3, 6);
    expect(m.regions.answer.tpf).toBeCloseTo(2 / 3, 6);
    expect(m.regions.padding.tpf).toBeCloseTo(1, 6);
    expect(m.regions.answer.tokens_per_step).toBeCloseTo(2 / 3, 6);
  });

  it("keeps a volatility band only where it covers the region's positions", () => {
    const m = traceMetrics(decode()).regions;
    // position 1's confidence goes 0.2 -> 0.9 while masked: a band at step 1, of width 1, in the answer
    expect(m.answer.volatility).toEqual({ steps_with_band: 1, mean_band_width: 1 });
    expect(m.all.volatility).toEqual({ steps_with_band: 1, mean_band_width: 1 });
    expect(m.padding.volatility).toEqual({ steps_with_band: 0, mean_band_width: 0 });
  });
});
