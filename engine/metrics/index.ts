import type { Trace } from '../trace/trace.js';
import { summary } from '../trace/trace.js';
import { positionTimings, delaySummary } from './delay.js';
import { volatilityBands } from './volatility.js';

export { positionTimings, delaySummary, volatilityBands };
export type { PositionTiming, DelaySummary } from './delay.js';
export type { VolatilityBand } from './volatility.js';

/** Everything `dlens info` prints and the app's metrics table shows. */
export function traceMetrics(trace: Trace) {
  const timings = positionTimings(trace);
  const bands = volatilityBands(trace);
  const widths = bands.filter((b) => b.start >= 0).map((b) => b.end - b.start);
  return {
    ...summary(trace),
    tpf: trace.manifest.nfe ? trace.dims.G / trace.manifest.nfe : 0,
    delay: delaySummary(trace, timings),
    volatility: {
      steps_with_band: widths.length,
      mean_band_width: widths.length ? widths.reduce((a, b) => a + b, 0) / widths.length : 0,
    },
    accuracy: trace.manifest.task?.score ?? null,
  };
}
