import { useCallback } from 'react';
import { useApp } from '../context.js';
import { active } from '../store.js';
import { volatilitySvg, type FigureSize } from '../lib/exporters.js';
import { bandsWithin, REGION_LABEL } from '../../../engine/metrics/index.js';
import { SvgFigure, Stat } from './SvgFigure.js';
import { RegionSwitch } from './RegionSwitch.js';

/** Confidence dynamics: the volatility band (AdaBlock) per step, block boundaries, mean block confidence. */
export function Volatility() {
  const lt = useApp(active)!;
  const step = useApp((s) => s.step);
  const region = useApp((s) => s.region);
  const build = useCallback(
    (size: FigureSize) =>
      volatilitySvg(lt, size, `${lt.name}: volatility band and blocks (${REGION_LABEL[region]})`, region),
    [lt, region],
  );
  const { S } = lt.trace.dims;
  const band = bandsWithin(lt.bands, (p) => lt.regions.has(region, p))[Math.min(step, S - 1)];
  const v = lt.metrics.regions[region].volatility;
  return (
    <div className="timeline">
      <div className="stats" data-testid="volatility-stats">
        <RegionSwitch />
        <Stat k="steps with a band" v={`${v.steps_with_band} of ${S}`} />
        <Stat k="mean band width" v={`${v.mean_band_width.toFixed(1)} positions`} />
        <Stat k="band at cursor" v={band && band.start >= 0 ? `[${band.start}, ${band.end})` : 'none'} />
        <Stat k="rule" v="sd of confidence over 4 steps > 0.1, masked positions" />
      </div>
      {!lt.trace.holds.has('confidence') && (
        <div className="note" data-testid="volatility-missing">
          This trace holds no confidence (its source recorded states only): there is no band to find.
        </div>
      )}
      <SvgFigure name={`volatility-${region}`} steps={S} build={build} />
    </div>
  );
}
