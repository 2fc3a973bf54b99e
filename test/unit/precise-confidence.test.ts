import { describe, it, expect } from 'vitest';
import { formatProb } from '../../renderer/src/lib/format.js';
import { readTrace, writeTrace } from '../../engine/trace/trace.js';
import { sampleTraceInput } from '../support/sample-trace.js';

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
});
