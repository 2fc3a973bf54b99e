import { useEffect, useMemo, useRef, useState } from 'react';
import { useApp, useStoreApi } from '../context.js';
import { active } from '../store.js';
import { timelineSvg } from '../lib/exporters.js';
import { setFigure } from './figure.js';

/** Delayed decoding: per position when it first became right, from when it stayed right, when it was committed. */
export function Timeline() {
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
  useEffect(() => { setFigure({ name: 'token-timeline', svg: (sz) => timelineSvg(lt, sz, `${lt.name}: token timeline`) }); return () => setFigure(null); }, [lt]);
  const svg = useMemo(() => timelineSvg(lt, size, `${lt.name}: token timeline`), [lt, size]);
  const d = lt.metrics.delay;
  const { S } = lt.trace.dims;
  // Cursor position in the figure's coordinates (margins as exporters.ts).
  const cx = 56 + ((size.width - 56 - 90) * step) / Math.max(1, S);
  return (
    <div className="timeline">
      <div className="stats" data-testid="delay-stats">
        <Stat k="mean delay" v={`${d.meanDelay.toFixed(2)} steps`} />
        {Object.entries(d.delayedMoreThan).map(([k, v]) => <Stat key={k} k={`delayed > ${k}`} v={`${(v * 100).toFixed(1)}%`} />)}
        <Stat k="oracle steps" v={`${d.oracleSteps} of ${d.actualSteps}`} />
      </div>
      <div className="figure" ref={wrap} onClick={(e) => { const r = e.currentTarget.getBoundingClientRect(); store.getState().setStep(((e.clientX - r.left - 56) / (size.width - 146)) * S); }}>
        <div dangerouslySetInnerHTML={{ __html: svg }} />
        <div className="cursor" style={{ left: cx }} />
      </div>
    </div>
  );
}
export const Stat = ({ k, v }: { k: string; v: string }) => <span className="stat"><span className="k">{k}</span><span className="v">{v}</span></span>;
