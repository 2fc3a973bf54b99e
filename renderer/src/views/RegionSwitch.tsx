import { useApp, useStoreApi } from '../context.js';
import { REGIONS, REGION_LABEL, type Region } from '../../../engine/metrics/index.js';

/**
 * Which positions per-position metrics count: the answer's tokens (default), the EOS padding, or all positions
 * (docs/metrics.md). One setting for the Timeline, Volatility and Compare views and the exports.
 */
export function RegionSwitch() {
  const store = useStoreApi();
  const region = useApp((s) => s.region);
  const counts = useApp((s) => s.traces.find((t) => t.id === s.activeId)?.regions.counts);
  return (
    <label title="what per-position metrics count (docs/metrics.md)">
      count{' '}
      <select
        data-testid="region"
        value={region}
        onChange={(e) => store.getState().setRegion(e.target.value as Region)}
      >
        {REGIONS.map((r) => (
          <option key={r} value={r}>
            {REGION_LABEL[r]}
            {counts ? ` (${counts[r]})` : ''}
          </option>
        ))}
      </select>
    </label>
  );
}
