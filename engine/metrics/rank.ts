/**
 * Rank correlations as scipy.stats computes them (kendalltau's default tau-b, spearmanr), which ParallelBench's
 * decoding-order measure calls. O(n²) Kendall: a decode has at most a few thousand positions.
 */

/** Kendall's tau-b: concordant minus discordant pairs over the pairs not tied in x and not tied in y. NaN if either
 * side is constant (as scipy). */
export function kendallTauB(x: ArrayLike<number>, y: ArrayLike<number>): number {
  const n = x.length;
  let c = 0,
    d = 0,
    tx = 0,
    ty = 0;
  for (let i = 0; i < n; i++)
    for (let j = i + 1; j < n; j++) {
      const a = Math.sign(x[j]! - x[i]!),
        b = Math.sign(y[j]! - y[i]!);
      if (a === 0 && b === 0) continue;
      if (a === 0) tx++;
      else if (b === 0) ty++;
      else if (a === b) c++;
      else d++;
    }
  const den = Math.sqrt((c + d + tx) * (c + d + ty));
  return den > 0 ? (c - d) / den : NaN;
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
