/**
 * UI benchmark (issue 6): a real 1024-position x 1024-step trace (dlens-tiny, one token per step, dual cache) opened in
 * Debian's Chromium through `dlens serve`; measures open time, heatmap repaint, and frames per second while
 * scrubbing. Then (issues 18 and 33) 1.1 GB synthetic traces in formats v1 and v2 opened lazily, side by side.
 * Writes bench/results/ui.{json,md}.
 *     npm run bench:ui
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { writeLargeTrace } from './large-trace.js';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { chromium, type Page } from 'playwright-core';
import { record } from '../engine/record.js';
import { REPO_ROOT } from '../engine/model/load.js';
import { startServe, CHROMIUM } from '../test/helpers.js';

const tracePath = join(tmpdir(), 'dlens-ui-bench-1024.dlens');
if (!existsSync(tracePath)) {
  process.stderr.write('recording a 1024 x 1024 trace with dlens-tiny (about two minutes)...\n');
  await record({
    prompt: 'Define: lantern',
    genLength: 1024,
    blockLength: 32,
    steps: 1024,
    cache: 'dual',
    out: tracePath,
  });
}
const bytes = readFileSync(tracePath);
// The trace is named on the command line, as a person would: the page may then read it.
const server = await startServe({ DLENS_HOME: join(tmpdir(), 'dlens-ui-bench-home') }, [tracePath]);
const browser = await chromium.launch(CHROMIUM);
const page = await (await browser.newContext({ viewport: { width: 1600, height: 1000 } })).newPage();
// tsx wraps named functions in __name(); give the page a no-op one for the functions evaluated there.
await page.addInitScript('window.__name = (f) => f');
await page.goto(server.url);
await page.waitForFunction(() => (window.__dlens?.store.getState().traces.length ?? 0) > 0);

// The page exposes its store as window.__dlens (renderer/src/main.tsx); the heatmap reports its paint and draw times
// as User Timing measures (dlens:heatmap-paint, dlens:heatmap-draw).
const results: Record<string, number> = {};
const runs = 5;
const opens: number[] = [];
for (let i = 0; i < runs; i++) {
  opens.push(
    await page.evaluate(
      async ({ path }) => {
        const r = await fetch(`/api/trace?path=${encodeURIComponent(path)}`);
        const b = new Uint8Array(await r.arrayBuffer());
        const { store } = window.__dlens!;
        store.getState().setView('heatmaps');
        const t0 = performance.now();
        store.getState().openBytes(b, 'bench.dlens', path);
        await new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)));
        return performance.now() - t0;
      },
      { path: tracePath },
    ),
  );
}
results.open_ms_median = median(opens);
const dims = await page.evaluate(() => window.__dlens!.store.getState().traces.at(-1)!.trace.dims);

const repaint: number[] = [],
  paint: number[] = [];
for (const metric of ['entropy', 'confidence', 'top1_change', 'correct', 'entropy', 'confidence']) {
  const r = await page.evaluate(
    async ({ metric }) => {
      const { store } = window.__dlens!;
      const t0 = performance.now();
      store.getState().setMetric(metric);
      await new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)));
      return {
        total: performance.now() - t0,
        paint: performance.getEntriesByName('dlens:heatmap-paint').at(-1)?.duration ?? NaN,
      };
    },
    { metric },
  );
  repaint.push(r.total);
  paint.push(r.paint);
}
results.heatmap_switch_ms_median = median(repaint);
results.heatmap_paint_ms_median = median(paint);

for (const view of ['heatmaps', 'replay'] as const) results[`scrub_fps_${view}`] = await scrubFps(page, view, 4, 200);
results.heatmap_draw_ms_last = await page.evaluate(
  () => performance.getEntriesByName('dlens:heatmap-draw').at(-1)?.duration ?? NaN,
);
server.stop();
await browser.close(); // the large trace gets a fresh browser, as a person opening it would

// Large traces (issues 18 and 33): ~1.1 GB, 32 layers × 4,096 positions × 2,048 steps with saliency, cache and
// top-5, in format v1 written by numpy alone (bench/large_trace_v1.py) and in v2 (bench/large-trace.ts), each opened as
// a person opens it (dlens serve FILE; the page reads it lazily with HTTP range requests).
const largeV2 = join(tmpdir(), 'dlens-ui-bench-large.dlens');
const largeV1 = join(tmpdir(), 'dlens-ui-bench-large-v1.dlens');
if (!existsSync(largeV2)) {
  process.stderr.write('writing a 1.2 GB synthetic v2 trace (bench/large-trace.ts)...\n');
  writeLargeTrace(largeV2);
}
if (!existsSync(largeV1)) {
  process.stderr.write('writing a 1.1 GB synthetic v1 trace with numpy (bench/large_trace_v1.py)...\n');
  const py = spawnSync('/usr/bin/python3', [join(REPO_ROOT, 'bench', 'large_trace_v1.py'), largeV1], {
    stdio: 'inherit',
  });
  if (py.status !== 0) throw new Error('bench/large_trace_v1.py failed');
}
const browser2 = await chromium.launch(CHROMIUM);
const large: Record<string, Record<string, number | number[]> & Record<string, number>> = {};
for (const [format, path] of [
  ['v1', largeV1],
  ['v2', largeV2],
] as const)
  large[format] = await measureLarge(path, format);
await browser2.close();

async function measureLarge(path: string, format: string) {
  const r: Record<string, number> = { bytes: statSync(path).size };
  const fromNavigation: number[] = [],
    opens: number[] = [],
    heatmaps: number[] = [];
  for (let i = 0; i < 3; i++) {
    const srv = await startServe({ DLENS_HOME: join(tmpdir(), 'dlens-ui-bench-home') }, [path]);
    const pg = await (await browser2.newContext({ viewport: { width: 1600, height: 1000 } })).newPage();
    await pg.addInitScript('window.__name = (f) => f');
    await pg.goto(srv.url, { waitUntil: 'domcontentloaded' });
    process.stderr.write(`large ${format} trace: page ${i + 1} of 3 loaded\n`);
    await pg.waitForFunction(() => performance.getEntriesByName('dlens:open').length > 0, null, {
      timeout: 120_000,
      polling: 50,
    });
    // The measure runs from the open's start to the first frame after it; its end is the time since navigation.
    const open = await pg.evaluate(() => performance.getEntriesByName('dlens:open')[0]!.toJSON());
    fromNavigation.push(open.startTime + open.duration);
    opens.push(open.duration);
    // The heatmap view's first complete frame (a placeholder is drawn while per-step rows are read).
    heatmaps.push(
      await pg.evaluate(async () => {
        const { store } = window.__dlens!;
        const t0 = performance.now();
        store.getState().setView('heatmaps');
        const done = () => performance.getEntriesByName('dlens:heatmap-complete').find((m) => m.startTime > t0);
        while (!done()) await new Promise((ok) => setTimeout(ok, 2));
        return done()!.startTime - t0;
      }),
    );
    if (i === 2) {
      process.stderr.write(`large ${format} trace: scrubbing\n`);
      for (const view of ['replay', 'heatmaps'] as const) r[`scrub_fps_${view}`] = await scrubFps(pg, view, 8, 500);
      // hovering an undecided position reads that step's top-k (one range request)
      r.hover_candidates_ms = await pg.evaluate(async () => {
        const { store } = window.__dlens!;
        const st = store.getState();
        st.setView('replay');
        st.setStep(1500);
        const T = st.traces.at(-1)!.trace.dims.T;
        const t0 = performance.now();
        st.setHover(T - 1); // the last position: decided last
        while (!document.querySelector('[data-testid=poscard] td')) {
          if (performance.now() - t0 > 20_000) return NaN;
          await new Promise((r) => setTimeout(r, 2));
        }
        return performance.now() - t0;
      });
    }
    await pg.context().close();
    srv.stop();
  }
  Object.assign(r, {
    open_from_navigation_ms: median(fromNavigation),
    open_ms: median(opens),
    heatmap_first_draw_ms: median(heatmaps),
  });
  return Object.assign(r, { runs: { fromNavigation, opens, heatmaps } });
}

const md = [
  `UI benchmark: ${dims.G} positions x ${dims.S} steps (${dims.T} with the prompt), trace ${(bytes.length / 1e6).toFixed(1)} MB, Chromium headless (software rendering), ${new Date().toISOString()}`,
  '',
  '| measure | result | target |',
  '|---|---|---|',
  `| open (parse, derive metrics, first heatmap frame), median of ${runs} | ${results.open_ms_median!.toFixed(0)} ms | < 1000 ms |`,
  `| heatmap metric switch to next frame, median | ${results.heatmap_switch_ms_median!.toFixed(1)} ms | < 100 ms |`,
  `| of which painting the 1M cells | ${results.heatmap_paint_ms_median!.toFixed(1)} ms | |`,
  `| scrubbing, heatmap view (one step per frame) | ${results.scrub_fps_heatmaps!.toFixed(1)} fps | 60 fps |`,
  `| scrubbing, replay view (1024 tokens on screen) | ${results.scrub_fps_replay!.toFixed(1)} fps | 60 fps |`,
  '',
  `Large traces (issues 18 and 33): 32 layers × 4,096 positions × 2,048 steps with saliency, cache residency and top-5, format v1 written by numpy alone (bench/large_trace_v1.py, ${(large.v1!.bytes! / 2 ** 30).toFixed(2)} GiB) and v2 (bench/large-trace.ts, ${(large.v2!.bytes! / 2 ** 30).toFixed(2)} GiB), each opened through \`dlens serve FILE\` with HTTP range requests; medians of 3 fresh pages`,
  '',
  '| measure | v1 | v2 | target |',
  '|---|---|---|---|',
  `| open: navigation to the first frame of the replay | ${large.v1!.open_from_navigation_ms!.toFixed(0)} ms | ${large.v2!.open_from_navigation_ms!.toFixed(0)} ms | < 2000 ms |`,
  `| of which opening the trace (its first reads to that frame) | ${large.v1!.open_ms!.toFixed(0)} ms | ${large.v2!.open_ms!.toFixed(0)} ms | |`,
  `| heatmap view: switch to its first complete frame | ${large.v1!.heatmap_first_draw_ms!.toFixed(0)} ms | ${large.v2!.heatmap_first_draw_ms!.toFixed(0)} ms | < 300 ms |`,
  `| scrubbing, replay view (4,000 tokens on screen, 8 steps per frame) | ${large.v1!.scrub_fps_replay!.toFixed(1)} fps | ${large.v2!.scrub_fps_replay!.toFixed(1)} fps | 60 fps |`,
  `| scrubbing, heatmap view | ${large.v1!.scrub_fps_heatmaps!.toFixed(1)} fps | ${large.v2!.scrub_fps_heatmaps!.toFixed(1)} fps | 60 fps |`,
  `| hover: a step's candidates read and shown | ${large.v1!.hover_candidates_ms!.toFixed(0)} ms | ${large.v2!.hover_candidates_ms!.toFixed(0)} ms | |`,
].join('\n');
const dir = join(REPO_ROOT, 'bench', 'results');
mkdirSync(dir, { recursive: true });
writeFileSync(
  join(dir, 'ui.json'),
  JSON.stringify(
    {
      dims,
      trace_bytes: bytes.length,
      results,
      opens,
      repaint,
      paint,
      large,
    },
    null,
    1,
  ),
);
writeFileSync(join(dir, 'ui.md'), md + '\n');
console.log(md);

/** Frames per second while the cursor moves `by` steps a frame for 240 frames, in a view, after `settleMs`. */
function scrubFps(pg: Page, view: 'heatmaps' | 'replay', by: number, settleMs: number) {
  return pg.evaluate(
    async ({ view, by, settleMs }) => {
      const { store } = window.__dlens!;
      store.getState().setView(view);
      store.getState().setStep(0);
      await new Promise((r) => setTimeout(r, settleMs));
      const frames = 240;
      const t0 = performance.now();
      await new Promise<void>((done) => {
        let n = 0;
        const tick = () => {
          store.getState().stepBy(by);
          if (++n >= frames) done();
          else requestAnimationFrame(tick);
        };
        requestAnimationFrame(tick);
      });
      return (frames / (performance.now() - t0)) * 1000;
    },
    { view, by, settleMs },
  );
}

function median(xs: number[]) {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}
