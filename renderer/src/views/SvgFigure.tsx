import { useEffect, useMemo } from 'react';
import { useElementSize } from '../lib/use-element-size.js';
import { useApp, useStoreApi } from '../context.js';
import type { FigureSize } from '../lib/exporters.js';
import { FIGURE_MARGIN } from '../lib/margins.js';

// The step axis's left and right margins in the figure builders, to place the cursor and map clicks.
const LEFT = FIGURE_MARGIN.left,
  RIGHT = FIGURE_MARGIN.right;

/**
 * A vector figure (token timeline, volatility) sized to its panel, registered for export, with the shared step
 * cursor drawn over it and a click moving the cursor. Without `steps` the figure's x axis is not steps (the logit
 * lens at one step): no cursor, and a click does nothing.
 */
export function SvgFigure({
  name,
  steps,
  build,
}: {
  name: string;
  steps?: number;
  build: (size: FigureSize) => string;
}) {
  const step = useApp((s) => s.step);
  const store = useStoreApi();
  const [wrap, size] = useElementSize<HTMLDivElement>({ width: 900, height: 500 }, { width: 300, height: 240 });
  useEffect(() => {
    store.getState().setFigure({ name, svg: build });
    return () => store.getState().setFigure(null);
  }, [name, build]);
  const svg = useMemo(() => build(size), [build, size]);
  const plot = size.width - LEFT - RIGHT;
  const cx = steps === undefined ? 0 : LEFT + (plot * step) / Math.max(1, steps);
  return (
    <div
      className="figure"
      ref={wrap}
      onClick={(e) => {
        if (steps === undefined) return;
        const r = e.currentTarget.getBoundingClientRect();
        store.getState().setStep(((e.clientX - r.left - LEFT) / plot) * steps);
      }}
    >
      <div dangerouslySetInnerHTML={{ __html: svg }} />
      {steps !== undefined && <div className="cursor" style={{ left: cx }} />}
    </div>
  );
}

export const Stat = ({ k, v }: { k: string; v: string }) => (
  <span className="stat">
    <span className="k">{k}</span>
    <span className="v">{v}</span>
  </span>
);
