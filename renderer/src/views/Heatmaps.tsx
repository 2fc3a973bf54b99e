import { useCallback, useEffect, useMemo, useRef } from 'react';
import { useApp, useStoreApi } from '../context.js';
import { active, zoomKey, ZOOM_NONE, type ZoomState } from '../store.js';
import { metricOptions, missingTensors } from '../lib/heatmap.js';
import { useMatrix } from '../lib/use-matrix.js';
import { COLORMAPS, CATEGORICAL, cssColor } from '../lib/colormaps.js';
import { heatmapSvg } from '../lib/exporters.js';
import { HeatmapCanvas, type HeatmapHandle } from './HeatmapCanvas.js';
import { PositionCard } from './Replay.js';

export function Heatmaps() {
  const lt = useApp(active)!;
  const store = useStoreApi();
  const metric = useApp((s) => s.metric);
  const layer = useApp((s) => s.layer);
  const colormap = useApp((s) => s.colormap);
  const step = useApp((s) => s.step);
  const hover = useApp((s) => s.hover);
  const options = useMemo(() => metricOptions(lt), [lt]);
  const opt = options.find((o) => o.id === metric) ?? options[0]!;
  const { Ly } = lt.trace.dims;
  const effLayer = opt.id === 'cache' ? Math.max(0, layer) : layer;
  const { matrix, progress } = useMatrix(lt, opt.id, opt.layered ? effLayer : -1);
  const missing = missingTensors(lt);
  const h = useRef<HeatmapHandle | null>(null);
  const empty = opt.id === 'saliency' && !!lt.trace.manifest.no_saliency_reason;
  const key = zoomKey(lt.id, 'heatmaps');
  const zoom = useApp((s) => s.zooms[key]) ?? ZOOM_NONE;
  const onZoom = useCallback(
    (t: { k: number; x: number; y: number } | null) => store.getState().setZoom(key, t ?? { k: 1, x: 0, y: 0 }),
    [key],
  );
  useEffect(() => {
    if (empty) return store.getState().setFigure(null); // nothing drawn, nothing to export
    store.getState().setFigure({
      name: `heatmap-${opt.id.replace(/\W+/g, '_')}`,
      svg: (size) =>
        heatmapSvg(matrix, h.current!.png(), colormap, size, `${lt.name}: ${matrix.label}`, h.current!.view()),
    });
    return () => store.getState().setFigure(null);
  }, [matrix, colormap, lt, empty]);
  return (
    <div className="heatmaps">
      <div className="controls">
        <label>
          metric{' '}
          <select data-testid="metric" value={opt.id} onChange={(e) => store.getState().setMetric(e.target.value)}>
            {options.map((o) => (
              <option key={o.id} value={o.id}>
                {o.label}
              </option>
            ))}
          </select>
        </label>
        {opt.layered && (
          <label>
            layer{' '}
            <select
              data-testid="layer"
              value={effLayer}
              onChange={(e) => store.getState().setLayer(Number(e.target.value))}
            >
              {opt.id !== 'cache' && <option value={-1}>mean</option>}
              {Array.from({ length: Ly }, (_, l) => (
                <option key={l} value={l}>
                  {l}
                </option>
              ))}
            </select>
          </label>
        )}
        <label>
          colours{' '}
          <select
            data-testid="colormap"
            value={colormap}
            onChange={(e) => store.getState().setColormap(e.target.value)}
          >
            {Object.entries(COLORMAPS).map(([k, v]) => (
              <option key={k} value={k}>
                {v.label}
              </option>
            ))}
          </select>
        </label>
        <Legend kind={matrix.kind} domain={matrix.domain} categories={matrix.categories} colormap={colormap} />
        <label>
          rows{' '}
          <select
            data-testid="heatmap-fit"
            value={zoom.fit}
            onChange={(e) =>
              store.getState().setZoom(key, { fit: e.target.value as ZoomState['fit'], k: 1, x: 0, y: 0 })
            }
          >
            <option value="all">every position</option>
            <option value="answer">fit to the answer</option>
          </select>
        </label>
        <span className="dim">
          scroll or +/− to zoom, drag to pan, double-click or 0 to reset, click to move the cursor
        </span>
        {matrix.pending && (
          <span data-testid="heatmap-loading">reading {Math.round(progress * 100)}% of the steps…</span>
        )}
        {missing.length > 0 && (
          <span className="dim" data-testid="heatmap-missing">
            this trace holds no {missing.join(', ')}: {missing.includes('topk_ids') ? 'candidates and ' : ''}the metrics
            that need them are not offered
          </span>
        )}
      </div>
      <div className="split">
        {empty ? (
          <div className="note" data-testid="heatmap-empty">
            No attention to show: {lt.trace.manifest.no_saliency_reason}.
          </div>
        ) : (
          <HeatmapCanvas
            matrix={matrix}
            colormap={colormap}
            step={step}
            hover={hover}
            onStep={(s) => store.getState().setStep(s)}
            onHover={(p) => store.getState().setHover(p)}
            handle={(x) => {
              h.current = x;
            }}
            zoom={zoom}
            onZoom={onZoom}
            rows={zoom.fit === 'answer' ? answerRows(lt) : undefined}
          />
        )}
        <aside>
          {hover !== null && hover >= lt.trace.dims.P ? (
            <PositionCard lt={lt} pos={hover} step={step} />
          ) : (
            <div className="dim">Hover a cell for its candidates and history.</div>
          )}
        </aside>
      </div>
    </div>
  );
}

export function Legend({
  kind,
  domain,
  categories,
  colormap,
}: {
  kind: string;
  domain: [number, number];
  categories?: string[];
  colormap: string;
}) {
  if (kind === 'categorical')
    return (
      <span className="legend" data-testid="legend">
        {(categories ?? []).map((c, i) => (
          <span key={c}>
            <i style={{ background: CATEGORICAL[i % CATEGORICAL.length] }} />
            {c}
          </span>
        ))}
      </span>
    );
  const grad = `linear-gradient(90deg, ${Array.from({ length: 11 }, (_, i) => cssColor(colormap, i / 10)).join(',')})`;
  return (
    <span className="legend" data-testid="legend">
      {domain[0].toPrecision(2)} <i className="wide" style={{ background: grad }} /> {domain[1].toPrecision(2)}
    </span>
  );
}

/** The answer's positions (the generated ones before EOS padding), as the heatmap's row range. */
function answerRows(lt: ReturnType<typeof active> & object): [number, number] {
  const { P } = lt.trace.dims;
  return [P, P + Math.max(1, lt.regions.counts.answer)];
}
