/**
 * Block-wise weight quantization in onnxruntime's MatMulNBits layout (com.microsoft): a linear layer's [N, K] weight
 * (rows = outputs, as checkpoints store it) cut into blocks of `blockSize` along K; per block a scale
 * s = max|w| / (2^(bits−1) − 1), integers q = round(w / s) + 2^(bits−1) in [0, 2^bits − 1], and no zero-point
 * input, so the operator's default zero point 2^(bits−1) applies (symmetric quantization). 4-bit values are packed
 * two per byte, the even element in the low nibble. Dequantized: w ≈ (q − 2^(bits−1)) · s.
 */
export function quantizeBlocks(w: Float32Array, N: number, K: number, bits: 4 | 8, blockSize: number) {
  const kBlocks = Math.ceil(K / blockSize),
    blob = (blockSize * bits) / 8,
    zero = 1 << (bits - 1),
    qmax = zero - 1,
    top = (1 << bits) - 1;
  const packed = new Uint8Array(N * kBlocks * blob);
  const scales = new Float32Array(N * kBlocks);
  for (let n = 0; n < N; n++)
    for (let b = 0; b < kBlocks; b++) {
      const k0 = b * blockSize,
        k1 = Math.min(K, k0 + blockSize);
      let m = 0;
      for (let k = k0; k < k1; k++) m = Math.max(m, Math.abs(w[n * K + k]!));
      const s = m / qmax || 1;
      scales[n * kBlocks + b] = s;
      const base = (n * kBlocks + b) * blob;
      for (let j = 0; j < blockSize; j++) {
        const k = k0 + j;
        const q = k < k1 ? Math.max(0, Math.min(top, Math.round(w[n * K + k]! / s) + zero)) : zero;
        if (bits === 8) packed[base + j] = q;
        else packed[base + (j >> 1)]! |= j & 1 ? q << 4 : q;
      }
    }
  return { packed, scales };
}
