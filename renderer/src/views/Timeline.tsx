import { useCallback, useMemo } from 'react';
import { useApp, useStoreApi } from '../context.js';
import { active, zoomKey, ZOOM_NONE, type ZoomState } from '../store.js';
import { timelineSteps, timelineSvg, type FigureSize } from '../lib/exporters.js';
import { REGION_LABEL } from '../../../engine/metrics/index.js';
import { SvgFigure, Stat } from './SvgFigure.js';
import { RegionSwitch } from './RegionSwitch.js';

/** Delayed decoding: per position when it first became right, from when it stayed right, when it was committed. */
export function Timeline() {
  const lt = useApp(active)!;
  const region = useApp((s) => s.region);
  const store = useStoreApi();
  const key = zoomKey(lt.id, 'timeline');
  const zs = useApp((s) => s.zooms[key]) ?? ZOOM_NONE;
  const { fit } = zs;
  const zoom = useMemo(() => ({ k: zs.k, x: zs.x, y: zs.y }), [zs.k, zs.x, zs.y]);
  // A reset keeps the padding choice: it is what the rows are, not where the view is.
  const onZoom = useCallback(
    (z: { k: number; x: number; y: number } | null) => store.getState().setZoom(key, z ?? { k: 1, x: 0, y: 0 }),
    [key],
  );
  const build = useCallback(
    (size: FigureSize) =>
      timelineSvg(lt, size, `${lt.name}: token timeline (${REGION_LABEL[region]})`, region, fit, zoom),
    [lt, region, fit, zoom],
  );
  const d = lt.metrics.regions[region].delay;
  return (
    <div className="timeline">
      <div className="stats" data-testid="delay-stats">
        <RegionSwitch />
        <Stat k="mean delay" v={`${d.meanDelay.toFixed(2)} steps`} />
        {Object.entries(d.delayedMoreThan).map(([k, v]) => (
          <Stat key={k} k={`delayed > ${k}`} v={`${(v * 100).toFixed(1)}%`} />
        ))}
        <Stat k="oracle steps" v={`${d.oracleSteps} of ${d.actualSteps}`} />
        <label>
          padding{' '}
          <select
            data-testid="timeline-fit"
            value={fit}
            onChange={(e) =>
              store.getState().setZoom(key, { fit: e.target.value as ZoomState['fit'], k: 1, x: 0, y: 0 })
            }
          >
            <option value="all">a row per position, every step</option>
            <option value="answer">one band; steps up to the answer&apos;s last commit</option>
          </select>
        </label>
        <span className="hint">
          scroll or +/− to zoom, drag to pan, double-click or 0 to reset, click to move the cursor
        </span>
      </div>
      {!lt.trace.holds.has('topk_ids') && (
        <div className="note" data-testid="timeline-missing">
          This trace holds no top-1 predictions (no topk_ids): the commit steps are shown, not when each token was first
          right, so delays cannot be measured.
        </div>
      )}
      <SvgFigure
        name={`token-timeline-${region}`}
        steps={timelineSteps(lt, fit)}
        build={build}
        zoom={zoom}
        onZoom={onZoom}
      />
    </div>
  );
}
