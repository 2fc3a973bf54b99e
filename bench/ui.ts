/**
 * UI benchmark (issue 6): a real 1024-position x 1024-step trace (dlens-tiny, one token per step, dual cache) opened in
 * Debian's Chromium through `dlens serve`; measures open time, heatmap repaint, and frames per second while
 * scrubbing. Then (issue 18) a 1.1 GB synthetic trace opened lazily. Writes bench/results/ui.{json,md}.
 *     npm run bench:ui
 */
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { writeLargeTrace } from './large-trace.js';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { chromium } from 'playwright-core';
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

for (const view of ['heatmaps', 'replay'] as const) {
  results[`scrub_fps_${view}`] = await page.evaluate(
    async ({ view }) => {
      const { store } = window.__dlens!;
      const st = store.getState();
      st.setView(view);
      st.setStep(0);
      await new Promise((r) => setTimeout(r, 200));
      const frames = 240;
      const t0 = performance.now();
      await new Promise<void>((done) => {
        let n = 0;
        const tick = () => {
          store.getState().stepBy(4);
          if (++n >= frames) done();
          else requestAnimationFrame(tick);
        };
        requestAnimationFrame(tick);
      });
      return (frames / (performance.now() - t0)) * 1000;
    },
    { view },
  );
}
results.heatmap_draw_ms_last = await page.evaluate(
  () => performance.getEntriesByName('dlens:heatmap-draw').at(-1)?.duration ?? NaN,
);
server.stop();
await browser.close(); // the large trace gets a fresh browser, as a person opening it would

// A large trace (issue 18): ~1.1 GB, 32 layers × 4,096 positions × 2,048 steps with saliency, cache and top-5,
// opened as a person opens it (dlens serve FILE, the page reads it lazily with HTTP range requests).
const largePath = join(tmpdir(), 'dlens-ui-bench-large.dlens');
if (!existsSync(largePath)) {
  process.stderr.write('writing a 1.1 GB synthetic trace (bench/large-trace.ts)...\n');
  writeLargeTrace(largePath);
}
const largeBytes = statSync(largePath).size;
const large: Record<string, number> = {};
const largeOpens: number[] = [];
const browser2 = await chromium.launch(CHROMIUM);
for (let i = 0; i < 3; i++) {
  const srv = await startServe({ DLENS_HOME: join(tmpdir(), 'dlens-ui-bench-home') }, [largePath]);
  const pg = await (await browser2.newContext({ viewport: { width: 1600, height: 1000 } })).newPage();
  await pg.addInitScript('window.__name = (f) => f');
  await pg.goto(srv.url, { waitUntil: 'domcontentloaded' });
  process.stderr.write(`large trace: page ${i + 1} of 3 loaded\n`);
  await pg.waitForFunction(() => performance.getEntriesByName('dlens:open').length > 0, null, {
    timeout: 120_000,
    polling: 100,
  });
  largeOpens.push(await pg.evaluate(() => performance.getEntriesByName('dlens:open')[0]!.duration));
  if (i === 2) {
    process.stderr.write('large trace: scrubbing\n');
    for (const view of ['replay', 'heatmaps'] as const)
      large[`scrub_fps_${view}`] = await pg.evaluate(
        async ({ view }) => {
          const { store } = window.__dlens!;
          store.getState().setView(view);
          store.getState().setStep(0);
          await new Promise((r) => setTimeout(r, 500));
          const frames = 240;
          const t0 = performance.now();
          await new Promise<void>((done) => {
            let n = 0;
            const tick = () => {
              store.getState().stepBy(8);
              if (++n >= frames) done();
              else requestAnimationFrame(tick);
            };
            requestAnimationFrame(tick);
          });
          return (frames / (performance.now() - t0)) * 1000;
        },
        { view },
      );
    // hovering an undecided position reads that step's top-k (one range request)
    large.hover_candidates_ms = await pg.evaluate(async () => {
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
large.open_ms_median = median(largeOpens);
await browser2.close();

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
  `Large trace (issue 18): 32 layers × 4,096 positions × 2,048 steps with saliency, cache residency and top-5, ${(largeBytes / 2 ** 30).toFixed(2)} GiB (bench/large-trace.ts), opened through \`dlens serve FILE\` with HTTP range requests`,
  '',
  '| measure | result | target |',
  '|---|---|---|',
  `| open (first frame of the replay), median of 3 fresh pages | ${large.open_ms_median!.toFixed(0)} ms | < 2000 ms |`,
  `| scrubbing, replay view (4,000 tokens on screen, 8 steps per frame) | ${large.scrub_fps_replay!.toFixed(1)} fps | 60 fps |`,
  `| scrubbing, heatmap view | ${large.scrub_fps_heatmaps!.toFixed(1)} fps | 60 fps |`,
  `| hover: a step's candidates read and shown | ${large.hover_candidates_ms!.toFixed(0)} ms | |`,
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
      large: { bytes: largeBytes, ...large, largeOpens },
    },
    null,
    1,
  ),
);
writeFileSync(join(dir, 'ui.md'), md + '\n');
console.log(md);

function median(xs: number[]) {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}
