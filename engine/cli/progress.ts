/** What a decode reports after each step (engine/record.ts's onStep). */
export interface StepProgress {
  step: number;
  totalSteps: number;
  committed: number;
  genLength: number;
  elapsedMs: number;
}

/** How often a progress line is written when stderr is not a terminal (a log file, CI): DLENS_PROGRESS_EVERY_MS. */
const EVERY_MS = Number(process.env.DLENS_PROGRESS_EVERY_MS ?? 10_000);

const clock = (ms: number) => {
  const s = Math.max(0, Math.round(ms / 1000));
  return s >= 60 ? `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s` : `${s}s`;
};

/** "step 12/64 (19 %)  96/256 tokens  3.2 tok/s  ETA 2m05s": the ETA from the steps' pace so far. */
export function progressLine(p: StepProgress): string {
  const rate = p.elapsedMs > 0 ? p.committed / (p.elapsedMs / 1000) : 0;
  const eta = p.step > 0 ? ((p.totalSteps - p.step) * p.elapsedMs) / p.step : NaN;
  const pct = p.totalSteps ? Math.floor((100 * p.step) / p.totalSteps) : 0;
  return `step ${p.step}/${p.totalSteps} (${pct} %)  ${p.committed}/${p.genLength} tokens  ${rate.toFixed(1)} tok/s  ETA ${Number.isFinite(eta) ? clock(eta) : '?'}`;
}

/**
 * Progress of a long command on stderr, as long-running tools report it: on a terminal one line rewritten in place;
 * otherwise a line every EVERY_MS, so a log shows the run is alive and when it will end.
 * `quiet`: nothing. Returns the step callback and what to call when the run ends.
 */
export function progressReporter(o: { quiet?: boolean; tty?: boolean; write?: (s: string) => void }) {
  const write = o.write ?? ((s: string) => void process.stderr.write(s));
  const tty = o.tty ?? process.stderr.isTTY === true;
  // Not a terminal: the first line after EVERY_MS too (a short run stays quiet, as most tools' logs do).
  let last = Date.now(),
    shown = false;
  if (o.quiet) return { onStep: undefined, done() {} };
  return {
    onStep(p: StepProgress) {
      if (tty) {
        write(`\r${progressLine(p)} `);
        shown = true;
        return;
      }
      const now = Date.now();
      if (now - last < EVERY_MS) return;
      last = now;
      write(`${progressLine(p)}\n`);
    },
    done() {
      if (tty && shown) write('\n');
    },
  };
}
