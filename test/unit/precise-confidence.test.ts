import { describe, it, expect } from 'vitest';
import { formatProb } from '../../renderer/src/lib/format.js';
import { readTrace } from '../../engine/trace/trace.js';
import { writeTrace } from '../../engine/trace/write.js';
import { sampleTraceInput } from '../support/sample-trace.js';
import { predictRows } from '../../engine/decode/row-stats.js';

describe('confidence near 1 stays readable (issue 15, item 3)', () => {
  it('formats probabilities with the digits that tell them apart', () => {
    expect(formatProb(0.9999996)).toBe('99.99996%');
    expect(formatProb(0.99999994)).toBe('99.999994%');
    expect(formatProb(0.5)).toBe('50.0%');
    expect(formatProb(0.999)).toBe('99.9%');
    expect(formatProb(0.9995)).toBe('99.95%');
    expect(formatProb(1)).toBe('100%');
    expect(formatProb(2e-7)).toBe('0.00002%');
    expect(formatProb(NaN)).toBe('–');
  });

  it('v2 traces keep confidence in float32: 0.9999996 and 0.99999994 stay apart from 1 and from each other', () => {
    const t = sampleTraceInput();
    const conf = new Float32Array(t.dims.S * t.dims.G).fill(0.5);
    conf[0] = 0.9999996;
    conf[1] = 0.99999994;
    const back = readTrace(writeTrace({ ...t, confidence: conf }));
    expect(back.confidence[0]).toBe(Math.fround(0.9999996));
    expect(back.confidence[1]).toBe(Math.fround(0.99999994));
    expect(back.confidence[0]).not.toBe(1);
  });

  it('v2 traces keep top-k candidate probabilities in float32 too', () => {
    const t = sampleTraceInput();
    const probs = new Float32Array(t.dims.S * t.dims.G * t.dims.K).fill(0.1);
    probs[0] = 0.9999996;
    probs[1] = 3e-7;
    const back = readTrace(writeTrace({ ...t, topkProbs: probs }));
    const row = back.topkProbs.row(0)!;
    expect(row[0]).toBe(Math.fround(0.9999996));
    expect(row[1]).toBe(Math.fround(3e-7));
  });
});

describe('the row statistics graph keeps the top probability apart from 1 (issue 15, item 3)', () => {
  it('gives 1 / s for the top token, not exp(top - log Z) rounded to 1', async () => {
    // logits 15 and seven 0s: p(top) = 1 / (1 + 7e^-15) = 1 - 2.1e-6. In float32, m + log s = 15 + 2.1e-6 is rounded
    // to a multiple of 9.5e-7, so exp(top - (m + log s)) gives 0.9999981, off by 2.3e-7; closer to 1 it gives 1.
    const V = 8;
    const logits = new Float32Array(V).fill(0);
    logits[3] = 15;
    const [r] = await predictRows(logits, 0, 1, V, 2, 0, null);
    expect(r!.token).toBe(3);
    expect(r!.confidence).toBeLessThan(1);
    expect(r!.confidence).toBeCloseTo(1 / (1 + 7 * Math.exp(-15)), 7);
  });

  it("keeps the mask token out of the candidates but in the softmax, as the papers' decoders rank", async () => {
    // logits: mask (id 1) 3, token 2 at 2, the rest 0 over 8 ids: p(2) = e^2 / (e^3 + e^2 + 6) = 0.2345…
    const V = 8,
      logits = new Float32Array(V);
    logits[1] = 3;
    logits[2] = 2;
    const [r] = await predictRows(logits, 0, 1, V, 3, 0, null, 1);
    expect(Array.from(r!.topIds)).not.toContain(1);
    expect(r!.token).toBe(2);
    expect(r!.confidence).toBeCloseTo(Math.exp(2) / (Math.exp(3) + Math.exp(2) + 6), 6);
  });
});
