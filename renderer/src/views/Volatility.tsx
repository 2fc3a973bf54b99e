import { useCallback } from 'react';
import { useApp } from '../context.js';
import { active } from '../store.js';
import { volatilitySvg, type FigureSize } from '../lib/exporters.js';
import { SvgFigure, Stat } from './SvgFigure.js';

/** Confidence dynamics: the volatility band (AdaBlock) per step, block boundaries, mean block confidence. */
export function Volatility() {
  const lt = useApp(active)!;
  const step = useApp((s) => s.step);
  const build = useCallback(
    (size: FigureSize) => volatilitySvg(lt, size, `${lt.name}: volatility band and blocks`),
    [lt],
  );
  const { S } = lt.trace.dims;
  const band = lt.bands[Math.min(step, S - 1)];
  return (
    <div className="timeline">
      <div className="stats" data-testid="volatility-stats">
        <Stat k="steps with a band" v={`${lt.metrics.volatility.steps_with_band} of ${S}`} />
        <Stat k="mean band width" v={`${lt.metrics.volatility.mean_band_width.toFixed(1)} positions`} />
        <Stat k="band at cursor" v={band && band.start >= 0 ? `[${band.start}, ${band.end})` : 'none'} />
        <Stat k="rule" v="sd of confidence over 4 steps > 0.1, masked positions" />
      </div>
      <SvgFigure name="volatility" steps={S} build={build} />
    </div>
  );
}
