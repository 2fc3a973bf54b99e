/**
 * Set view benchmark (issue 32): a trace set of 10,000 decodes (dlens-tiny decodes written under 10,000 sample ids,
 * test/support/synthetic-set.ts) served with `dlens serve --set`, opened in Debian's Chromium: time from navigation
 * to the table showing every decode, and from a filter or sort change to the next frame. Part of `npm run bench:ui`;
 * alone: npx tsx bench/set-ui.ts. Writes bench/results/set-ui.{json,md}.
 */
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { chromium } from 'playwright-core';
import { REPO_ROOT } from '../engine/model/load.js';
import { startServe, CHROMIUM } from '../test/helpers.js';
import { syntheticSet } from '../test/support/synthetic-set.js';

const N = 10_000;
const dir = join(tmpdir(), `dlens-set-bench-${N}.dlset`);
if (!existsSync(join(dir, 'set.json'))) {
  process.stderr.write(`writing a set of ${N} decodes...\n`);
  await syntheticSet(dir, tmpdir(), N, 'low-confidence');
}
const server = await startServe({ DLENS_HOME: join(tmpdir(), 'dlens-set-bench-home') }, ['--set', dir]);
const browser = await chromium.launch(CHROMIUM);
const opens: number[] = [],
  filters: number[] = [],
  sorts: number[] = [],
  searches: number[] = [];
for (let run = 0; run < 5; run++) {
  const page = await (await browser.newContext({ viewport: { width: 1500, height: 900 } })).newPage();
  await page.addInitScript('window.__name = (f) => f');
  const t0 = Date.now();
  await page.goto(server.url);
  await page.waitForFunction(
    (n) => document.querySelector('[data-testid=set-count]')?.textContent?.startsWith(`${n} of ${n}`),
    N,
    {
      timeout: 60_000,
    },
  );
  opens.push(Date.now() - t0);
  // A change of the store's filter or sort, to the next painted frame.
  const frame = (patch: object) =>
    page.evaluate(async (p) => {
      const { store } = window.__dlens!;
      const t = performance.now();
      store.getState().setSetBrowse(p);
      await new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)));
      return performance.now() - t;
    }, patch);
  filters.push(await frame({ correct: 'wrong' }), await frame({ detector: 'premature-commit' }));
  await frame({ correct: 'all', detector: 'any' });
  sorts.push(await frame({ sort: 'answer_tpf', desc: true }), await frame({ sort: 'sample', desc: false }));
  searches.push(await frame({ query: '645' }), await frame({ query: '' }));
  await page.context().close();
}
await browser.close();
server.stop();

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const r = {
  decodes: N,
  open_ms: median(opens),
  filter_ms: median(filters),
  sort_ms: median(sorts),
  search_ms: median(searches),
};
const md = [
  `Set view: ${N} decodes, Chromium headless through \`dlens serve --set\`, medians of 5 fresh pages, ${new Date().toISOString()}`,
  '',
  '| measure | result | target |',
  '|---|---|---|',
  `| open: navigation to every row listed | ${r.open_ms.toFixed(0)} ms | < 1000 ms |`,
  `| filter (correctness, detector) to next frame | ${r.filter_ms.toFixed(1)} ms | < 100 ms |`,
  `| sort by a column to next frame | ${r.sort_ms.toFixed(1)} ms | < 100 ms |`,
  `| text search over prompts and outputs to next frame | ${r.search_ms.toFixed(1)} ms | < 100 ms |`,
].join('\n');
const out = join(REPO_ROOT, 'bench', 'results');
mkdirSync(out, { recursive: true });
writeFileSync(join(out, 'set-ui.json'), JSON.stringify({ ...r, opens, filters, sorts, searches }, null, 1));
writeFileSync(join(out, 'set-ui.md'), md + '\n');
console.log(md);
