import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { ROOT, tmp, startServe, CHROMIUM } from '../helpers.js';
import { syntheticSet } from '../support/synthetic-set.js';

// The Set view in real Chromium: two sets of 1,000 decodes each (dlens-tiny decodes under low-confidence and under
// Fast-dLLM's threshold, paired on their sample ids), served with `dlens serve --set A --set B`.
const SHOTS = join(ROOT, 'test-results', 'screenshots');

describe('the Set view', () => {
  let server: Awaited<ReturnType<typeof startServe>>, browser: Browser, page: Page;
  const dir = tmp('dlens-set-view-');
  const a = join(dir, 'low-confidence.dlset'),
    b = join(dir, 'threshold.dlset');

  beforeAll(async () => {
    mkdirSync(SHOTS, { recursive: true });
    await syntheticSet(a, dir, 1000, 'low-confidence');
    await syntheticSet(b, dir, 1000, 'fast-dllm-threshold', (k) => k % 3 !== 1);
    server = await startServe({ DLENS_HOME: join(dir, 'home') }, ['--set', a, '--set', b]);
    browser = await chromium.launch(CHROMIUM);
    page = await (await browser.newContext({ viewport: { width: 1500, height: 900 } })).newPage();
    page.on('pageerror', (e) => {
      throw e;
    });
    await page.goto(server.url);
  }, 300_000);
  afterAll(async () => {
    await browser?.close();
    server?.stop();
  });

  it('opens a set of 1,000 decodes; filters, searches and sorts; a row opens its decode', async () => {
    const count = page.getByTestId('set-count');
    await expect.poll(() => count.textContent()).toMatch(/^1000 of 1000 decodes/);
    // a virtualised table: a screenful of rows in the page, not 1,000
    expect(await page.getByTestId('set-row').count()).toBeLessThan(30);
    await page.getByLabel('correctness').selectOption('wrong');
    await expect.poll(() => count.textContent()).toMatch(/^334 of 1000/);
    await page.getByLabel('correctness').selectOption('all');
    await page.getByLabel('search').fill('synthetic-never-in-a-prompt');
    await expect.poll(() => count.textContent()).toMatch(/^0 of 1000/);
    await page.getByLabel('search').fill('');
    await page.getByTestId('sort-steps').click();
    await page.getByTestId('sort-steps').click(); // descending
    const steps = await page.locator('[data-testid=set-row] .set-steps').allTextContents();
    expect(steps.map(Number)).toEqual([...steps.map(Number)].sort((x, y) => y - x));
    await page.screenshot({ path: join(SHOTS, 'set-view.png') });
    await page.getByTestId('set-row').first().click();
    await expect.poll(() => page.locator('[role=tab][aria-selected=true]').textContent()).toMatch(/Replay/);
  }, 120_000);

  it('pairs two sets on their samples, filters the flips, and opens a pair in Compare', async () => {
    await page.getByRole('tab', { name: 'Set', exact: true }).click();
    await page.getByLabel('pair with').selectOption({ label: 'pair with threshold.dlset' });
    await page.getByLabel('flips').selectOption('wrong-to-right');
    // decode k is wrong here when k % 3 == 0 and there when k % 3 == 1: 334 flip one way, 333 the other
    await expect.poll(() => page.getByTestId('set-count').textContent()).toMatch(/^334 of 1000/);
    await page.getByLabel('flips').selectOption('right-to-wrong');
    await expect.poll(() => page.getByTestId('set-count').textContent()).toMatch(/^333 of 1000/);
    await page.getByTestId('set-row').first().click();
    await expect.poll(() => page.getByTestId('compare-col').count()).toBe(2);
    await page.screenshot({ path: join(SHOTS, 'set-pair-compare.png') });
  }, 120_000);

  it('draws detector shares, confidence by step × position and decoding order over what is kept; exports each', async () => {
    await page.getByRole('tab', { name: 'Set', exact: true }).click();
    await page.getByLabel('pair with').selectOption('');
    const fig = page.getByTestId('set-figure');
    await page.getByLabel('figure').selectOption('confidence');
    await expect.poll(() => fig.locator('title', { hasText: 'mean confidence' }).count()).toBeGreaterThan(0);
    await expect.poll(() => fig.textContent()).toMatch(/\(1000 decodes\)/);
    await page.getByLabel('correctness').selectOption('wrong');
    await expect.poll(() => fig.textContent()).toMatch(/\(334 decodes\)/); // the figure follows the filters
    await page.screenshot({ path: join(SHOTS, 'set-confidence.png') });
    await page.getByLabel('correctness').selectOption('all');
    await page.getByLabel('figure').selectOption('kendall');
    await expect.poll(() => fig.locator('title', { hasText: 'median τ' }).count()).toBe(1);
    await page.getByLabel('figure').selectOption('detectors');
    await expect.poll(() => fig.textContent()).toMatch(/detectors that fired|No detector fired/);
    await page.screenshot({ path: join(SHOTS, 'set-detectors.png') });
    await page.getByLabel('figure').selectOption('kendall');
    await page.getByLabel('pair with').selectOption({ label: 'pair with threshold.dlset' });
    await page.getByLabel('set').selectOption({ index: 1 });
    await page.screenshot({ path: join(SHOTS, 'set-kendall.png') });
    await page.getByLabel('set').selectOption({ index: 0 });
    await page.getByRole('button', { name: 'Export ▾' }).click();
    const [dl] = await Promise.all([
      page.waitForEvent('download'),
      page.getByRole('menuitem', { name: 'Metrics as CSV' }).click(),
    ]);
    expect(dl.suggestedFilename()).toBe('set-kendall-tau.csv');
    const p = join(dir, dl.suggestedFilename());
    await dl.saveAs(p);
    const csv = readFileSync(p, 'utf8').trim().split('\n');
    expect(csv[0]).toBe('τ from,τ to,low-confidence / none');
    expect(csv.length).toBe(21); // 20 bins
    expect(csv.slice(1).reduce((n, l) => n + Number(l.split(',')[2]), 0)).toBeLessThanOrEqual(1000);
  }, 120_000);
});
