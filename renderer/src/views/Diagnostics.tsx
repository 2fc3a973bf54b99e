import { useCallback } from 'react';
import { useApp, useStoreApi } from '../context.js';
import { active, type AppState } from '../store.js';
import type { FigureSize } from '../lib/exporters.js';
import { orderMapSvg } from '../lib/figures/order-map.js';
import { SvgFigure, Stat } from './SvgFigure.js';
import type { Finding } from '../../../engine/metrics/index.js';

/** The cursor to a finding's step, the pointer's highlight on its first position. */
const jumpTo = (s: AppState, f: Finding) => {
  s.setStep(f.step);
  s.setHover(f.positions[0] ?? null);
};

const num = (x: number) => (Number.isNaN(x) ? 'n/a' : x.toFixed(2));

/**
 * What went wrong and in what order tokens were decided: every failure detector's findings (each jumps to its
 * step), the decoding-order correlations overall and per block, and the decoding-order map.
 */
export function Diagnostics() {
  const lt = useApp(active)!;
  const store = useStoreApi();
  const build = useCallback((size: FigureSize) => orderMapSvg(lt, size, `${lt.name}: decoding order`), [lt]);
  const { order, detectors } = lt.metrics;
  const jump = (f: Finding) => jumpTo(store.getState(), f);
  return (
    <div className="timeline diagnostics">
      <div className="stats" data-testid="order-stats">
        <Stat k="Kendall τ (answer)" v={num(order.overall.answer.kendall)} />
        <Stat k="Spearman ρ (answer)" v={num(order.overall.answer.spearman)} />
        <Stat k="τ / ρ (all positions)" v={`${num(order.overall.all.kendall)} / ${num(order.overall.all.spearman)}`} />
        <Stat
          k="per block τ"
          v={`${order.blocks.map((b) => num(b.kendall)).join(' · ')} (mean ${num(order.meanBlock.kendall)})`}
        />
        <Stat k="reads" v="1 = left to right, 0 = no order, −1 = right to left (ParallelBench)" />
      </div>
      <div className="findings" data-testid="findings">
        {detectors.map((d) => (
          <details key={d.id} open={d.findings.length > 0} data-detector={d.id}>
            <summary>
              <span className={`badge ${d.notApplicable ? 'na' : d.findings.length ? 'hit' : 'ok'}`}>
                {d.label}: {d.notApplicable ? 'n/a' : d.findings.length || 'none'}
              </span>{' '}
              <span className="dim">{d.notApplicable ?? d.definition}</span>
            </summary>
            <ul>
              {d.findings.slice(0, 50).map((f, i) => (
                <li key={i}>
                  <button className="link" onClick={() => jump(f)}>
                    step {f.step}
                  </button>{' '}
                  {f.detail}
                </li>
              ))}
              {d.findings.length > 50 && <li className="dim">and {d.findings.length - 50} more</li>}
            </ul>
          </details>
        ))}
      </div>
      <SvgFigure name="decoding-order" steps={lt.trace.dims.S} build={build} />
    </div>
  );
}

/** The detectors that flagged the active trace, as badges; a click moves the cursor to the first finding. */
export function DetectorBadges() {
  const lt = useApp(active);
  const store = useStoreApi();
  if (!lt) return null;
  const hits = lt.metrics.detectors.filter((d) => d.findings.length);
  if (!hits.length) return null;
  return (
    <span className="badges" data-testid="detector-badges">
      {hits.map((d) => (
        <button
          key={d.id}
          className="badge hit"
          title={`${d.definition}. First: step ${d.findings[0]!.step}, ${d.findings[0]!.detail}. Click to go there; the Diagnostics view lists all.`}
          onClick={() => jumpTo(store.getState(), d.findings[0]!)}
        >
          {d.label} {d.findings.length}
        </button>
      ))}
    </span>
  );
}
