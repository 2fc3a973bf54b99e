import { useEffect, useMemo, useRef, useState } from 'react';
import { useApp, useStoreApi } from '../context.js';
import { active } from '../store.js';
import { volatilitySvg } from '../lib/exporters.js';
import { setFigure } from './figure.js';
import { Stat } from './Timeline.js';

/** Confidence dynamics: the volatility band (AdaBlock) per step, block boundaries, mean block confidence. */
export function Volatility() {
  const lt = useApp(active)!;
  const step = useApp((s) => s.step);
  const store = useStoreApi();
  const wrap = useRef<HTMLDivElement>(null);
  const [size, setSize] = useState({ width: 900, height: 500 });
  useEffect(() => {
    const ro = new ResizeObserver(([e]) => setSize({ width: Math.max(300, e!.contentRect.width), height: Math.max(240, e!.contentRect.height) }));
    ro.observe(wrap.current!);
    return () => ro.disconnect();
  }, []);
  useEffect(() => { setFigure({ name: 'volatility', svg: (sz) => volatilitySvg(lt, sz, `${lt.name}: volatility band and blocks`) }); return () => setFigure(null); }, [lt]);
  const svg = useMemo(() => volatilitySvg(lt, size, `${lt.name}: volatility band and blocks`), [lt, size]);
  const { S } = lt.trace.dims;
  const band = lt.bands[Math.min(step, S - 1)];
  const cx = 56 + ((size.width - 146) * step) / Math.max(1, S);
  return (
    <div className="timeline">
      <div className="stats" data-testid="volatility-stats">
        <Stat k="steps with a band" v={`${lt.metrics.volatility.steps_with_band} of ${S}`} />
        <Stat k="mean band width" v={`${lt.metrics.volatility.mean_band_width.toFixed(1)} positions`} />
        <Stat k="band at cursor" v={band && band.start >= 0 ? `[${band.start}, ${band.end})` : 'none'} />
        <Stat k="rule" v="sd of confidence over 4 steps > 0.1, masked positions" />
      </div>
      <div className="figure" ref={wrap} onClick={(e) => { const r = e.currentTarget.getBoundingClientRect(); store.getState().setStep(((e.clientX - r.left - 56) / (size.width - 146)) * S); }}>
        <div dangerouslySetInnerHTML={{ __html: svg }} />
        <div className="cursor" style={{ left: cx }} />
      </div>
    </div>
  );
}
