import { describe, it, expect } from 'vitest';
import { quantizeBlocks } from '../../engine/convert/quantize.js';

const dequant = (packed: Uint8Array, scales: Float32Array, N: number, K: number, bits: 4 | 8, block: number) => {
  const kb = Math.ceil(K / block),
    blob = (block * bits) / 8,
    zero = 1 << (bits - 1);
  return Float32Array.from({ length: N * K }, (_, i) => {
    const n = Math.floor(i / K),
      k = i % K,
      b = Math.floor(k / block),
      j = k % block;
    const byte = packed[(n * kb + b) * blob + (bits === 8 ? j : j >> 1)]!;
    const q = bits === 8 ? byte : j & 1 ? byte >> 4 : byte & 15;
    return (q - zero) * scales[n * kb + b]!;
  });
};

describe('block quantization for MatMulNBits', () => {
  it('packs 4-bit values two per byte, the even element low, around the default zero point 8', () => {
    const w = Float32Array.from([7, -7, 0, 3.5, ...new Array(28).fill(0)]); // one row, one block of 32
    const { packed, scales } = quantizeBlocks(w, 1, 32, 4, 32);
    expect(scales[0]).toBe(1); // max |w| / 7
    expect(packed[0]).toBe(15 | (1 << 4)); // 7 -> 15, -7 -> 1
    expect(packed[1]).toBe(8 | (12 << 4)); // 0 -> 8, 3.5 -> round(3.5) + 8 = 12
  });

  it('round-trips within half a step per block, at 8 and 4 bits, with a ragged last block', () => {
    const N = 3,
      K = 70;
    const w = Float32Array.from({ length: N * K }, (_, i) => Math.sin(i * 1.7) * (1 + (i % 5)));
    for (const bits of [8, 4] as const) {
      const { packed, scales } = quantizeBlocks(w, N, K, bits, 32);
      expect(scales.length).toBe(N * 3);
      const back = dequant(packed, scales, N, K, bits, 32);
      for (let i = 0; i < w.length; i++) {
        const s = scales[Math.floor(i / K) * 3 + Math.floor((i % K) / 32)]!;
        expect(Math.abs(back[i]! - w[i]!)).toBeLessThanOrEqual(s / 2 + 1e-6);
      }
    }
  });
});
