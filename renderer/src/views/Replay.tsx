import { memo, useEffect, useMemo, useRef, useState } from 'react';
import { useApp, useStoreApi } from '../context.js';
import { active } from '../store.js';
import {
  blockAt,
  candidatesAt,
  confidenceHistory,
  isMaskedAt,
  stateAt,
  tokenText,
  type LoadedTrace,
} from '../lib/traceModel.js';
import { cssColor } from '../lib/colormaps.js';
import { formatProb } from '../lib/format.js';
import { DEFAULTS } from '../../../engine/api/defaults.js';
import { findText, top1Changes } from '../lib/search.js';
import { moveMarksAt, revisionMarksAt } from '../lib/figures/revisions.js';

/** The text at the cursor step: masked positions as ▒, committed tokens tinted by their confidence at commit. */
export function Replay() {
  const lt = useApp(active)!;
  const step = useApp((s) => s.step);
  const hover = useApp((s) => s.hover);
  const colormap = useApp((s) => s.colormap);
  const store = useStoreApi();
  const t = lt.trace,
    { P, T, G, S } = t.dims;
  const state = stateAt(t, step);
  const [bs, be] = blockAt(t, Math.min(step, S - 1));
  const commitConf = useMemo(() => {
    // Confidence each token had at the step that committed it, for its tint.
    const out = new Float32Array(G).fill(NaN);
    for (let g = 0; g < G; g++) {
      const c = t.commitStep[P + g]! - 1;
      if (c >= 0 && c < S) out[g] = t.confidence[c * G + g]!;
    }
    return out;
  }, [lt]);
  // Remasking and editing decoders: what the step leading here changed, and tokens that came from earlier edits;
  // format v3 (insertions and deletions): tokens the step moved or inserted.
  const marks = useMemo(
    () => new Map<number, Mark>([...moveMarksAt(t, step), ...revisionMarksAt(t, step)]),
    [lt, step],
  );
  const prompt = useMemo(() => Array.from(t.state.subarray(0, P), (id) => tokenText(t, id)).join(''), [lt]);
  // One row per block-length run of positions (the decoding's own unit): a row re-renders, re-lays-out and
  // repaints only when one of its tokens, the active block or the hover changes (React.memo + CSS containment), so
  // scrubbing a 1024-token trace touches one or two rows per frame instead of the whole text.
  const chunks = [];
  const rowLen = t.manifest.block_length ?? DEFAULTS.blockLength;
  for (let c = P; c < T; c += rowLen) {
    const end = Math.min(T, c + rowLen);
    let sig = `${step < S ? Math.max(bs, c) : -1}:${step < S ? Math.min(be, end) : -1}:${hover !== null && hover >= c && hover < end ? hover : -1}:${colormap}:`;
    // The masked flag too: a trace with a `masked` tensor keeps a token in `state` while it is still undecided.
    const mrow = Math.max(0, Math.min(S, step)) * T;
    for (let p = c; p < end; p++)
      sig += `${state[p]},${t.masked[mrow + p]},${t.commitStep[p] === step ? 1 : 0},${marks.get(p) ?? ''};`;
    chunks.push(
      <TokenChunk
        key={c}
        sig={sig}
        lt={lt}
        from={c}
        to={end}
        state={state}
        step={step}
        block={[bs, be]}
        hover={hover}
        colormap={colormap}
        commitConf={commitConf}
        marks={marks}
        onHover={(p) => store.getState().setHover(p)}
      />,
    );
  }
  return (
    <div className="replay" onMouseLeave={() => store.getState().setHover(null)}>
      <Search lt={lt} />
      <div className="prompt">
        <span className="label">prompt</span> {prompt}
      </div>
      <div className="text" data-testid="replay-text">
        {chunks}
      </div>
      <div className="legend-row">
        <span className="tok block">active block</span> <span className="tok masked">▒ masked</span>{' '}
        {t.edits.length > 0 && (
          <>
            <span className="tok edited">edited this step</span> <span className="tok masked remasked">▒ remasked</span>{' '}
            <span className="tok revised">from an earlier edit</span>{' '}
          </>
        )}
        {t.holds.has('masked') && <span className="tok masked noise">noise</span>}{' '}
        {t.align && (
          <>
            <span className="tok moved">moved this step</span>{' '}
            <span className="tok inserted">inserted this step</span>{' '}
          </>
        )}
        <span>
          committed tokens tinted by confidence at commit (0{' '}
          <span
            className="grad"
            style={{
              background: `linear-gradient(90deg, ${[0, 0.25, 0.5, 0.75, 1].map((x) => cssColor(colormap, x)).join(',')})`,
            }}
          />{' '}
          1)
        </span>
      </div>
      {hover !== null && hover >= P && <PositionCard lt={lt} pos={hover} step={step} />}
      <div className="output">
        <span className="label">output</span> {t.manifest.output}
        {t.manifest.task ? (
          <span className="dim">
            {' '}
            · reference: {t.manifest.task.reference} · score {t.manifest.task.score ?? 'n/a'}
          </span>
        ) : null}
      </div>
    </div>
  );
}

type Mark = 'edited' | 'remasked' | 'revised' | 'moved' | 'inserted';

interface ChunkProps {
  sig: string;
  lt: LoadedTrace;
  from: number;
  to: number;
  state: Int32Array;
  step: number;
  block: [number, number];
  hover: number | null;
  colormap: string;
  commitConf: Float32Array;
  marks: Map<number, Mark>;
  onHover(p: number): void;
}
const TokenChunk = memo(
  function TokenChunk({ lt, from, to, state, step, block, hover, colormap, commitConf, marks, onHover }: ChunkProps) {
    const t = lt.trace,
      { P, S } = t.dims;
    // Uniform-noise diffusion: an undecided position holds a sampled token, drawn as noise rather than as text.
    const noisy = t.holds.has('masked');
    const out = [];
    for (let p = from; p < to; p++) {
      const id = state[p]!,
        masked = isMaskedAt(t, step, p),
        inBlock = step < S && p >= block[0] && p < block[1];
      const c = commitConf[p - P]!;
      const style =
        masked || Number.isNaN(c)
          ? undefined
          : { background: cssColor(colormap, c), color: c > 0.55 ? '#111' : '#fff' };
      out.push(
        <span
          key={p}
          data-pos={p}
          className={`tok ${masked ? 'masked' : ''} ${inBlock ? 'block' : ''} ${hover === p ? 'hover' : ''} ${t.commitStep[p] === step ? 'fresh' : ''} ${marks.get(p) ?? ''} ${masked && noisy && id !== t.manifest.mask_token_id ? 'noise' : ''}`}
          style={style}
          onMouseEnter={() => onHover(p)}
        >
          {masked ? (noisy && id !== t.manifest.mask_token_id ? tokenText(t, id) : '▒') : tokenText(t, id)}
        </span>,
      );
    }
    return (
      <div className="row">
        <span className="rowpos">{from - P}</span>
        {out}
      </div>
    );
  },
  (a, b) => a.sig === b.sig && a.lt === b.lt,
);

/** Hover card: top-k candidates at the step, the confidence history, and the delayed-decoding timing. */
export function PositionCard({ lt, pos, step }: { lt: LoadedTrace; pos: number; step: number }) {
  const t = lt.trace,
    { S, P } = t.dims;
  const s = Math.min(step, S - 1);
  useApp((x) => x.rowsRead); // a large trace's rows arrive after the cursor moved: redraw then
  const cands = candidatesAt(t, s, pos);
  // The recorded confidence (float32 since trace v2): candidates' probabilities are stored in float16.
  const conf = s >= 0 && pos >= P ? t.confidence[s * t.dims.G + pos - P]! : NaN;
  const hist = confidenceHistory(t, pos, Math.min(step, S));
  const timing = lt.timings[pos - P];
  const W = 260,
    H = 50;
  let d = '';
  hist.forEach((c, i) => {
    if (!Number.isNaN(c))
      d += `${d && !Number.isNaN(hist[i - 1]!) ? 'L' : 'M'}${(i / Math.max(1, S - 1)) * W},${H - c * H}`;
  });
  return (
    <div className="poscard" data-testid="poscard">
      <div>
        <b>position {pos}</b> (generated #{pos - P}) at the cursor&apos;s step {s}
      </div>
      <table>
        <tbody>
          {cands.map((c, i) => (
            <tr key={i}>
              <td className="mono">{JSON.stringify(c.text)}</td>
              <td>{formatProb(c.p)}</td>
              <td>
                <span className="bar" style={{ width: `${c.p * 80}px` }} />
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      {!Number.isNaN(conf) && (
        <div data-testid="poscard-confidence">
          confidence at this step: <b>{formatProb(conf)}</b>
        </div>
      )}
      {!cands.length && (
        <div className="dim">
          {!t.topkIds.present
            ? 'this trace holds no candidates (no topk_ids): its source recorded states only'
            : t.topkIds.row(s)
              ? 'not computed at this step'
              : 'reading this step…'}
        </div>
      )}
      <svg width={W} height={H + 4} className="spark">
        <path d={d} fill="none" stroke="currentColor" />
        <line x1={(s / Math.max(1, S - 1)) * W} x2={(s / Math.max(1, S - 1)) * W} y1={0} y2={H} stroke="#E69F00" />
      </svg>
      {timing && (
        <div className="dim">
          first right at step {fmt(timing.firstCorrect)} · stable from {fmt(timing.stableFrom)} · committed at{' '}
          {fmt(timing.commit)} · delay {Number.isNaN(timing.delay) ? '–' : timing.delay}
        </div>
      )}
    </div>
  );
}
const fmt = (x: number) => (x < 0 ? '–' : String(x));

/**
 * Find a text in the final prompt and output (`/` focuses it): each match jumps to its position at the step that
 * committed it; the position found lists the steps where its top-1 candidate changed, each a jump.
 */
function Search({ lt }: { lt: LoadedTrace }) {
  const store = useStoreApi();
  const [q, setQ] = useState('');
  const [picked, setPicked] = useState<number | null>(null);
  const input = useRef<HTMLInputElement>(null);
  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      if (e.key !== '/' || (e.target as HTMLElement).closest?.('input, textarea, select')) return;
      e.preventDefault();
      input.current?.focus();
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, []);
  const matches = useMemo(() => findText(lt.trace, q), [lt, q]);
  const changes = useMemo(() => (picked === null ? [] : top1Changes(lt.trace, picked)), [lt, picked]);
  const go = (pos: number, step: number) => {
    setPicked(pos);
    store.getState().setHover(pos);
    if (step >= 0) store.getState().setStep(step);
  };
  return (
    <div className="search" data-testid="search">
      <input
        ref={input}
        type="search"
        placeholder="find in the prompt and output (/)"
        value={q}
        onChange={(e) => setQ(e.target.value)}
        aria-label="find text"
      />
      {q && (
        <span className="dim" data-testid="search-count">
          {matches.length ? `${matches.length} found` : 'not found'}
        </span>
      )}
      {matches.map((m, i) => (
        <button key={i} className="link" onClick={() => go(m.position, m.commitStep)} data-testid="search-hit">
          {m.inPrompt ? 'prompt' : 'output'} position {m.position}
          {m.commitStep >= 0 ? ` · committed at step ${m.commitStep}` : ''}
        </button>
      ))}
      {picked !== null && picked >= lt.trace.dims.P && (
        <span data-testid="top1-changes">
          position {picked}: top-1 changed at step{changes.length === 1 ? '' : 's'}{' '}
          {changes.map((s, i) => (
            <span key={s}>
              {i > 0 && ', '}
              <button className="link" onClick={() => store.getState().setStep(s)}>
                {s}
              </button>
            </span>
          ))}
        </span>
      )}
    </div>
  );
}
