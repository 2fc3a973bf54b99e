import type { Trace } from '../trace/trace.js';

/**
 * Volatility band, after AdaBlock-dLLM's analysis of confidence dynamics: at each step, the still-masked
 * positions whose confidence swings — the standard deviation of their confidence over the last `window` steps
 * exceeds `threshold` — and the span [start, end) from the first to the last of them. AdaBlock sizes the next
 * block so that it ends inside this band. NaN-free: positions never computed in the window are skipped.
 */
export interface VolatilityBand {
  step: number;
  start: number;
  end: number;
  positions: number[];
}

export function volatilityBands(trace: Trace, window = 4, threshold = 0.1): VolatilityBand[] {
  const { S, G, P, T } = trace.dims;
  const out: VolatilityBand[] = [];
  for (let s = 0; s < S; s++) {
    const positions: number[] = [];
    for (let g = 0; g < G; g++) {
      if (!trace.masked[s * T + P + g]) continue;
      let n = 0,
        sum = 0,
        sq = 0;
      for (let w = Math.max(0, s - window + 1); w <= s; w++) {
        const c = trace.confidence[w * G + g]!;
        if (Number.isNaN(c)) continue;
        n++;
        sum += c;
        sq += c * c;
      }
      if (n < 2) continue;
      const mean = sum / n,
        sd = Math.sqrt(Math.max(0, sq / n - mean * mean));
      if (sd > threshold) positions.push(P + g);
    }
    out.push({
      step: s,
      start: positions.length ? positions[0]! : -1,
      end: positions.length ? positions[positions.length - 1]! + 1 : -1,
      positions,
    });
  }
  return out;
}

/** The bands restricted to the positions `keep` accepts (a region's), spans recomputed. */
export function bandsWithin(bands: VolatilityBand[], keep: (position: number) => boolean): VolatilityBand[] {
  return bands.map((b) => {
    const positions = b.positions.filter(keep);
    return {
      step: b.step,
      start: positions.length ? positions[0]! : -1,
      end: positions.length ? positions[positions.length - 1]! + 1 : -1,
      positions,
    };
  });
}

/** Steps with a band and its mean width (positions from first to last volatile one). */
export function bandSummary(bands: VolatilityBand[]) {
  const widths = bands.filter((b) => b.start >= 0).map((b) => b.end - b.start);
  return {
    steps_with_band: widths.length,
    mean_band_width: widths.length ? widths.reduce((a, b) => a + b, 0) / widths.length : 0,
  };
}
