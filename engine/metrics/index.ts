import type { Trace } from '../trace/trace.js';
import { summary } from '../trace/trace.js';
import { positionTimings, delaySummary } from './delay.js';
import { volatilityBands, bandsWithin, bandSummary } from './volatility.js';
import { positionRegions, REGIONS, type Region } from './regions.js';
import { decodingOrder } from './order.js';
import { detectFailures } from './detectors/index.js';
import { revisions } from './revisions.js';

export { positionTimings, delaySummary, volatilityBands, bandsWithin, bandSummary, positionRegions };
export { decodingOrder, commitOrder, confidenceAtCommit, blockSpans } from './order.js';
export type { DecodingOrder, OrderCorrelation } from './order.js';
export { detectFailures, DETECTORS } from './detectors/index.js';
export type { DetectorReport, DetectorId, Finding } from './detectors/index.js';
export { divergence } from './divergence.js';
export { revisions, revisionsLine } from './revisions.js';
export type { Revisions } from './revisions.js';
export { confidenceGrid, gridHex, GRID } from './confidence-grid.js';
export { firstCorrectLayerRow, finalTokens, lensSummary } from './lens.js';
export type { LensSummary } from './lens.js';
export type { Divergence, Parting } from './divergence.js';
export { REGIONS, REGION_LABEL, classifyPositions, answerTokens, endIds } from './regions.js';
export type { Region, Regions } from './regions.js';
export type { PositionTiming, DelaySummary } from './delay.js';
export type { VolatilityBand } from './volatility.js';

/**
 * Everything `dlens info` and the app's metrics table show. Per-position metrics come per region (answer tokens,
 * EOS padding, all positions: docs/metrics.md); tokens per forward (TPF) too: `all` is the gen length over the
 * forward passes, `answer` counts the answer's tokens only (d3LLM's leaderboard: TPF excluding EOS).
 */
export function traceMetrics(trace: Trace, timings = positionTimings(trace), bands = volatilityBands(trace)) {
  const regions = positionRegions(trace);
  const { nfe } = trace.manifest,
    { S } = trace.dims;
  const byRegion = (r: Region) => {
    const keep = (p: number) => regions.has(r, p);
    const n = regions.counts[r];
    return {
      positions: n,
      tpf: nfe ? n / nfe : 0,
      tokens_per_step: S ? n / S : 0,
      delay: delaySummary(trace, timings, keep),
      volatility: bandSummary(bandsWithin(bands, keep)),
    };
  };
  return {
    ...summary(trace),
    tpf: nfe ? trace.dims.G / nfe : 0,
    regions: Object.fromEntries(REGIONS.map((r) => [r, byRegion(r)])) as Record<Region, ReturnType<typeof byRegion>>,
    accuracy: trace.manifest.task?.score ?? null,
    order: decodingOrder(trace),
    revisions: revisions(trace, regions),
    detectors: detectFailures(trace),
  };
}
