/** What AUP needs of a bench cell (engine/evaluate/run.ts's BenchCell, or a bench JSON's cell in the app). */
export interface AupCell {
  strategy: string;
  cache: string;
  accuracy: number;
  tpf: number;
  tpf_answer: number;
  steps: number;
}

/**
 * AUP, Accuracy Under Parallelism (hao-ai-lab's parallel-decoder leaderboard): the area under a strategy's
 * accuracy-TPF curve with each accuracy weighted by W(y) = min(1, exp(-alpha (1 - y / yMax))), so speed bought with
 * accuracy counts for little. Our reading of it for one operating point per strategy: the curve runs from the
 * one-token-per-forward baseline (TPF 1, the baseline's accuracy) to the strategy's point, trapezoid rule; yMax is the
 * best accuracy in the table. The leaderboard's code could not be read here, so this is stated, not copied.
 */
export function aup(points: { tpf: number; accuracy: number }[], yMax: number, alpha = 3): number {
  const w = (y: number) => (yMax > 0 ? Math.min(1, Math.exp(-alpha * (1 - y / yMax))) : 0);
  const pts = [...points].sort((a, b) => a.tpf - b.tpf);
  let area = 0;
  for (let i = 1; i < pts.length; i++) {
    const a = pts[i - 1]!,
      b = pts[i]!;
    area += ((b.tpf - a.tpf) * (a.accuracy * w(a.accuracy) + b.accuracy * w(b.accuracy))) / 2;
  }
  return area;
}

/** Per strategy (and cache) over the suites: mean accuracy, mean TPF, and AUP against the first strategy at TPF 1. */
export function aupTable(cells: AupCell[]) {
  const keys = [...new Set(cells.map((c) => `${c.strategy}|${c.cache}`))];
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);
  const rows = keys.map((k) => {
    const cs = cells.filter((c) => `${c.strategy}|${c.cache}` === k);
    return {
      strategy: cs[0]!.strategy,
      cache: cs[0]!.cache,
      accuracy: mean(cs.map((c) => c.accuracy)),
      tpf: mean(cs.map((c) => c.tpf)),
      tpf_answer: mean(cs.map((c) => c.tpf_answer)),
      steps: mean(cs.map((c) => c.steps)),
    };
  });
  const yMax = Math.max(...rows.map((r) => r.accuracy));
  const base = rows[0]!;
  return rows.map((r) => ({
    ...r,
    aup: aup(
      [
        { tpf: 1, accuracy: base.accuracy },
        { tpf: r.tpf, accuracy: r.accuracy },
      ],
      yMax,
    ),
  }));
}
