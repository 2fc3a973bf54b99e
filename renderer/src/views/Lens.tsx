import { useCallback, useMemo } from 'react';
import { useApp, useStoreApi } from '../context.js';
import { active, zoomKey, ZOOM_NONE } from '../store.js';
import type { FigureSize } from '../lib/exporters.js';
import { lensLayersSvg } from '../lib/figures/lens-layers.js';
import { useMatrix } from '../lib/use-matrix.js';
import { HeatmapCanvas } from './HeatmapCanvas.js';
import { Legend } from './Heatmaps.js';
import { SvgFigure, Stat } from './SvgFigure.js';
import { finalTokens, firstCorrectLayerRow, lensSummary } from '../../../engine/metrics/index.js';
import { isMaskedAt } from '../../../engine/trace/trace.js';

const num = (x: number) => (Number.isNaN(x) ? 'n/a' : x.toFixed(2));

/**
 * The logit lens across the diffusion loop: what each layer believed at the cursor step (position × layer, through
 * the final norm and the output head), and for every step the first layer whose top-1 is each position's final token.
 */
export function Lens() {
  const lt = useApp(active)!;
  const t = lt.trace;
  if (!t.lensIds.present)
    return (
      <div className="note" data-testid="lens-absent">
        This trace holds no logit lens. A model converted with <code>dlens convert --lens</code> records it at every
        step (the bundled dlens-tiny has it); <code>dlens record --no-lens</code> and <code>dlens bench</code> leave it
        out, and other tools&apos; records do not have it.
      </div>
    );
  return <LensViews />;
}

function LensViews() {
  const lt = useApp(active)!;
  const zkey = zoomKey(lt.id, 'lens');
  const zoom = useApp((s) => s.zooms[zkey]) ?? ZOOM_NONE;
  const store = useStoreApi();
  const step = useApp((s) => s.step);
  const hover = useApp((s) => s.hover);
  const colormap = useApp((s) => s.colormap);
  useApp((s) => s.rowsRead); // a large trace's lens rows arrive after the cursor moved: redraw then
  const t = lt.trace,
    { S, Ly, G, P } = t.dims;
  const s = Math.min(Math.max(0, S - 1), step);
  const ids = t.lensIds.row(s),
    probs = t.lensProbs.row(s);
  const build = useCallback(
    (size: FigureSize) =>
      ids && probs
        ? lensLayersSvg(lt, s, { ids, probs }, size, `${lt.name}: logit lens at step ${s}`)
        : '<svg xmlns="http://www.w3.org/2000/svg"/>',
    [lt, s, ids, probs],
  );
  // At the cursor: the still-masked positions, how many of them the last layer already gets right, and how deep.
  const atStep = useMemo(() => {
    if (!ids) return null;
    const final = finalTokens(t);
    const first = firstCorrectLayerRow(ids, final, Ly, G);
    let masked = 0,
      right = 0,
      sum = 0,
      n = 0;
    for (let g = 0; g < G; g++) {
      if (!isMaskedAt(t, s, P + g) || Number.isNaN(first[g]!)) continue;
      masked++;
      if (ids[(Ly - 1) * G + g] === final[g]) right++;
      if (first[g]! <= Ly) {
        sum += first[g]!;
        n++;
      }
    }
    return { masked, right, meanFirst: n ? sum / n : NaN };
  }, [t, s, ids]);
  const summary = useMemo(() => lensSummary(t), [t, t.lensIds.full()]);
  const { matrix } = useMatrix(lt, 'lens_first');
  return (
    <div className="timeline lens">
      <div className="stats" data-testid="lens-stats">
        <Stat k="layers" v={String(Ly)} />
        {atStep && (
          <Stat
            k={`masked at step ${s}`}
            v={`${atStep.masked}; final token on top in the last layer at ${atStep.right}; first on top at layer ${num(atStep.meanFirst)} on average`}
          />
        )}
        {summary && (
          <Stat
            k="at commit (answer)"
            v={`first on top at layer ${num(summary.meanFirstLayer)} on average (median ${summary.medianFirstLayer}); from layer 1: ${(summary.fromFirstLayer * 100).toFixed(0)}%`}
          />
        )}
      </div>
      {ids ? <SvgFigure name={`logit-lens-step-${s}`} build={build} /> : <div className="dim">reading step {s}…</div>}
      <div className="controls">
        <span>Across steps: the first layer whose top-1 is the position&apos;s final token</span>
        <Legend kind={matrix.kind} domain={matrix.domain} colormap={colormap} />
        <span className="dim">{Ly + 1}: no layer; blank: not computed at that step</span>
      </div>
      <div className="lens-heatmap" data-testid="lens-heatmap">
        <HeatmapCanvas
          matrix={matrix}
          colormap={colormap}
          step={step}
          hover={hover}
          onStep={(x) => store.getState().setStep(x)}
          onHover={(p) => store.getState().setHover(p)}
          zoom={zoom}
          onZoom={(t) => store.getState().setZoom(zkey, t ?? { k: 1, x: 0, y: 0 })}
        />
      </div>
    </div>
  );
}
