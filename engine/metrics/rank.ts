/**
 * Rank correlations as scipy.stats computes them (kendalltau's default tau-b, spearmanr), which ParallelBench's
 * decoding-order measure calls.
 */

/**
 * Kendall's tau-b: concordant minus discordant pairs over the pairs not tied in x and not tied in y. NaN if either
 * side is constant (as scipy). Knight's O(n log n) algorithm, as scipy's: sort by (x, y), count the ties, and count
 * the discordant pairs as the swaps a merge sort of y makes (a 4,096-position decode: 8M pairs one by one took 90 ms
 * of opening a large trace).
 */
export function kendallTauB(x: ArrayLike<number>, y: ArrayLike<number>): number {
  const n = x.length;
  const idx = Array.from({ length: n }, (_, i) => i).sort((a, b) => x[a]! - x[b]! || y[a]! - y[b]!);
  const pairs = (t: number) => (t * (t - 1)) / 2;
  let xTies = 0,
    jointTies = 0;
  for (let i = 0, j = 0, k = 0; i < n; i = j) {
    for (j = i + 1; j < n && x[idx[j]!] === x[idx[i]!];) j++;
    xTies += pairs(j - i);
    for (let g = i; g < j; g = k) {
      for (k = g + 1; k < j && y[idx[k]!] === y[idx[g]!];) k++;
      jointTies += pairs(k - g);
    }
  }
  // Merge sort of y in that order; each time an element of the right half passes elements of the left, those pairs
  // are discordant.
  let ys = Float64Array.from(idx, (i) => y[i]!),
    buf = new Float64Array(n),
    swaps = 0;
  for (let w = 1; w < n; w *= 2) {
    for (let lo = 0; lo < n; lo += 2 * w) {
      const mid = Math.min(lo + w, n),
        hi = Math.min(lo + 2 * w, n);
      let i = lo,
        j = mid,
        o = lo;
      while (i < mid && j < hi)
        if (ys[j]! < ys[i]!) {
          swaps += mid - i;
          buf[o++] = ys[j++]!;
        } else buf[o++] = ys[i++]!;
      while (i < mid) buf[o++] = ys[i++]!;
      while (j < hi) buf[o++] = ys[j++]!;
    }
    [ys, buf] = [buf, ys];
  }
  let yTies = 0;
  for (let i = 0, j = 0; i < n; i = j) {
    for (j = i + 1; j < n && ys[j] === ys[i];) j++;
    yTies += pairs(j - i);
  }
  const all = pairs(n);
  const den = Math.sqrt((all - xTies) * (all - yTies));
  return den > 0 ? (all - xTies - yTies + jointTies - 2 * swaps) / den : NaN;
}

/** Average ranks (1-based), ties sharing the mean of their ranks. */
export function ranks(x: ArrayLike<number>): Float64Array {
  const idx = Array.from({ length: x.length }, (_, i) => i).sort((a, b) => x[a]! - x[b]!);
  const r = new Float64Array(x.length);
  for (let i = 0; i < idx.length;) {
    let j = i;
    while (j + 1 < idx.length && x[idx[j + 1]!] === x[idx[i]!]) j++;
    for (let k = i; k <= j; k++) r[idx[k]!] = (i + j) / 2 + 1;
    i = j + 1;
  }
  return r;
}

/** Spearman's rho: Pearson's correlation of the average ranks. NaN if either side is constant. */
export function spearmanRho(x: ArrayLike<number>, y: ArrayLike<number>): number {
  const rx = ranks(x),
    ry = ranks(y),
    n = rx.length;
  if (n < 2) return NaN;
  const mean = (n + 1) / 2;
  let sxy = 0,
    sxx = 0,
    syy = 0;
  for (let i = 0; i < n; i++) {
    const a = rx[i]! - mean,
      b = ry[i]! - mean;
    sxy += a * b;
    sxx += a * a;
    syy += b * b;
  }
  return sxx > 0 && syy > 0 ? sxy / Math.sqrt(sxx * syy) : NaN;
}
