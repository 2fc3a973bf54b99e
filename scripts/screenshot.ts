/**
 * The README's screenshots: the README's own first command (dlens-tiny, its `--task`), opened in `dlens serve`
 * in Debian's Chromium, Replay and Heatmaps views. `npm run screenshot` rewrites docs/images/*.png.
 */
import { join } from 'node:path';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { chromium } from 'playwright-core';
import { record } from '../engine/record.js';
import { readmeDemoTask } from './readme-demo.js';
import { startServe, CHROMIUM, ROOT } from '../test/helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'dlens-shot-'));
const trace = join(dir, 'demo.dlens');
await record({ task: readmeDemoTask(), out: trace });
const server = await startServe({ DLENS_HOME: join(dir, 'home') }, [trace]);
const browser = await chromium.launch(CHROMIUM);
try {
  const page = await (await browser.newContext({ viewport: { width: 1400, height: 800 } })).newPage();
  await page.goto(server.url);
  await page.getByTestId('step-label').waitFor();
  await page.getByTestId('scrubber').fill('20');
  await page.screenshot({ path: join(ROOT, 'docs', 'images', 'replay.png') });
  await page.getByRole('tab', { name: 'Heatmaps' }).click();
  await page.getByTestId('heatmap-canvas').waitFor();
  await page.screenshot({ path: join(ROOT, 'docs', 'images', 'heatmap.png') });
} finally {
  await browser.close();
  server.stop();
}
