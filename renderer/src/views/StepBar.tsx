import { useEffect } from 'react';
import { useApp, useStoreApi } from '../context.js';
import { active } from '../store.js';

/** Play/pause, scrubber and speed: the one step cursor every view follows. */
export function StepBar() {
  const store = useStoreApi();
  const step = useApp((s) => s.step);
  const playing = useApp((s) => s.playing);
  const speed = useApp((s) => s.speed);
  const S = useApp((s) => active(s)?.trace.dims.S ?? 0);
  useEffect(() => {
    if (!playing) return;
    let last = performance.now(),
      acc = 0,
      raf = 0;
    const tick = (now: number) => {
      acc += ((now - last) / 1000) * store.getState().speed;
      last = now;
      const whole = Math.floor(acc);
      if (whole) {
        acc -= whole;
        const s = store.getState();
        if (s.step >= S) {
          store.setState({ playing: false });
          return;
        }
        s.setStep(s.step + whole);
      }
      raf = requestAnimationFrame(tick);
    };
    raf = requestAnimationFrame(tick);
    return () => cancelAnimationFrame(raf);
  }, [playing, S]);
  return (
    <footer className="stepbar">
      <button onClick={() => store.getState().setStep(0)} title="First step (Home)" aria-label="first">
        |◀
      </button>
      <button onClick={() => store.getState().stepBy(-1)} title="Previous step (←)" aria-label="previous">
        ‹
      </button>
      <button
        onClick={() => store.getState().togglePlay()}
        title="Play/pause (space)"
        aria-label={playing ? 'pause' : 'play'}
      >
        {playing ? '❙❙' : '▶'}
      </button>
      <button onClick={() => store.getState().stepBy(1)} title="Next step (→)" aria-label="next">
        ›
      </button>
      <button onClick={() => store.getState().setStep(S)} title="Last step (End)" aria-label="last">
        ▶|
      </button>
      <input
        type="range"
        min={0}
        max={S}
        value={step}
        aria-label="step"
        data-testid="scrubber"
        onChange={(e) => store.getState().setStep(Number(e.target.value))}
      />
      <span className="stepnum" data-testid="step-label">
        step {step} / {S}
      </span>
      <label>
        speed{' '}
        <select value={speed} onChange={(e) => store.getState().setSpeed(Number(e.target.value))}>
          {[2, 6, 12, 30, 60, 120].map((v) => (
            <option key={v} value={v}>
              {v}/s
            </option>
          ))}
        </select>
      </label>
    </footer>
  );
}
