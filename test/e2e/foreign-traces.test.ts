import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { loadModel } from '../../engine/model/load.js';
import { taskAt } from '../../engine/tasks/generate.js';
import { fileCorpus } from '../../engine/tasks/corpus.js';
import { DEFAULTS } from '../../engine/api/defaults.js';
import { writeLargeTrace } from '../../bench/large-trace.js';
import { ROOT, tmp, startServe, CHROMIUM, dlens, python } from '../helpers.js';

const SHOTS = join(ROOT, 'test-results', 'screenshots');
const FIX = join(ROOT, 'test/fixtures/import');

/**
 * Traces from elsewhere in real Chromium: the Python recorder's, each import, and a trace large enough to be read in
 * ranges, all in a traces folder served as on a GPU box (`dlens serve --traces-dir`).
 */
describe('traces from the Python recorder, imports and large files, in the app', () => {
  let server: Awaited<ReturnType<typeof startServe>>, browser: Browser, page: Page;
  const runs = join(tmp(), 'runs');

  beforeAll(async () => {
    mkdirSync(SHOTS, { recursive: true });
    mkdirSync(runs, { recursive: true });
    const model = await loadModel();
    const t = taskAt('sort', 2, DEFAULTS.taskSeed, { split: 'eval', corpus: fileCorpus() });
    const ids = model.encode(model.card.prompt_template.replace('{prompt}', t.prompt));
    const ckpt = join(ROOT, 'assets/checkpoints/dlens-tiny');
    const py = await python(
      ['test/support/record_tiny.py', ckpt, JSON.stringify(ids), '32', '32', '32', join(runs, 'a-python.dlens')],
      { torch: true },
    );
    expect(py.stderr).toBe('');
    const tok = join(ckpt, 'tokenizer.json');
    for (const [file, from, extra] of [
      ['sample_process.txt', 'llada-sample-process', []],
      ['parallelbench.json.gz', 'parallelbench', ['--tokenizer', tok]],
      ['lmdeploy.json', 'lmdeploy-step-map', ['--tokenizer', tok]],
    ] as const)
      expect(
        (await dlens(['import', join(FIX, file), '--from', from, '--out', join(runs, `b-${from}.dlens`), ...extra]))
          .code,
      ).toBe(0);
    writeLargeTrace(join(runs, 'c-large.dlens'), 8, 2048, 1100); // above 64 MiB: opened lazily
    server = await startServe({ DLENS_HOME: join(runs, '..', 'home') }, ['--traces-dir', runs]);
    browser = await chromium.launch(CHROMIUM);
    page = await (await browser.newContext({ viewport: { width: 1400, height: 900 } })).newPage();
    page.on('pageerror', (e) => {
      throw e;
    });
  });
  afterAll(async () => {
    await browser?.close();
    server?.stop();
  });

  it('lists the traces folder on the start page', async () => {
    await page.goto(server.url);
    const list = page.getByTestId('traces-folder');
    await list.waitFor();
    for (const f of readdirSync(runs)) await list.getByRole('button', { name: f }).waitFor();
    await page.screenshot({ path: join(SHOTS, '9-traces-folder.png') });
  });

  it("opens the Python recorder's trace with its candidates", async () => {
    await page.getByTestId('traces-folder').getByRole('button', { name: 'a-python.dlens' }).click();
    const label = page.getByTestId('step-label');
    await expect.poll(() => label.textContent()).toBe('step 32 / 32');
    await page.getByTestId('scrubber').fill('3');
    await page.getByTestId('replay-text').locator('.tok.masked').first().hover();
    await expect.poll(() => page.getByTestId('poscard').locator('tr').count()).toBe(5);
    // the recorded confidence, with the digits that keep values near 1 apart (float32 in v2 traces)
    expect(await page.getByTestId('poscard-confidence').textContent()).toMatch(
      /^confidence at this step: \d+(\.\d+)?%$/,
    );
  });

  for (const from of ['llada-sample-process', 'parallelbench', 'lmdeploy-step-map'])
    it(`opens the ${from} import and says what it lacks`, async () => {
      await page.evaluate(() => window.__dlens!.store.setState({ traces: [], activeId: null, view: 'replay' }));
      await page
        .getByTestId('traces-folder')
        .getByRole('button', { name: `b-${from}.dlens` })
        .click();
      await expect.poll(() => page.getByTestId('step-label').textContent()).toBe('step 32 / 32');
      expect(await page.getByTestId('trace-summary').textContent()).toMatch(/^import: /);
      await page.getByTestId('scrubber').fill('10');
      expect(await page.getByTestId('replay-text').locator('.tok.masked').count()).toBe(22); // one token per step
      await page.getByTestId('replay-text').locator('.tok').nth(20).hover();
      await expect.poll(() => page.getByTestId('poscard').textContent()).toMatch(/holds no candidates/);
      await page.getByRole('tab', { name: 'Heatmaps' }).click();
      const options = await page.getByTestId('metric').locator('option').allTextContents();
      expect(options).toEqual(['Decided, undecided, edited, remasked']);
      await expect
        .poll(() => page.getByTestId('heatmap-missing').textContent())
        .toMatch(/holds no confidence, entropy, topk_ids/);
      if (from === 'parallelbench') {
        await page.screenshot({ path: join(SHOTS, '10-import-heatmap.png') });
        await page.getByRole('tab', { name: 'Volatility' }).click();
        await page.getByTestId('volatility-missing').waitFor();
        await page.getByRole('tab', { name: 'Token timeline' }).click();
        await page.getByTestId('timeline-missing').waitFor();
      }
      await page.getByRole('tab', { name: 'Replay' }).click();
    });

  it('opens a large trace lazily: rows arrive as the views ask', async () => {
    await page.evaluate(() => window.__dlens!.store.setState({ traces: [], activeId: null, view: 'replay' }));
    // The opening bar is up while the per-position tensors come in: a watcher notes every text it showed.
    await page.evaluate(() => {
      const seen: string[] = ((window as unknown as { openingSeen: string[] }).openingSeen = []);
      new MutationObserver(() => {
        const t = document.querySelector('[data-testid=opening]')?.textContent;
        if (t) seen.push(t);
      }).observe(document.body, { subtree: true, childList: true, characterData: true });
    });
    await page.getByTestId('traces-folder').getByRole('button', { name: 'c-large.dlens' }).click();
    await expect.poll(() => page.getByTestId('step-label').textContent()).toBe('step 1100 / 1100');
    const seen = await page.evaluate(() => (window as unknown as { openingSeen: string[] }).openingSeen);
    expect(
      seen.some((t) => /^Opening c-large\.dlens… \d+ of \d+ MB it needs first/.test(t)),
      seen.join(' | '),
    ).toBe(true);
    expect(await page.getByTestId('opening').count()).toBe(0); // gone once the trace is open
    const lt = await page.evaluate(() => ({ bytes: !!window.__dlens!.store.getState().traces[0]!.bytes }));
    expect(lt.bytes).toBe(false); // not read whole
    await page.getByTestId('scrubber').fill('500');
    await page.getByTestId('replay-text').locator('.tok.masked').first().hover();
    await expect.poll(() => page.getByTestId('poscard').locator('tr').count(), { timeout: 20_000 }).toBe(5);
    await page.getByRole('tab', { name: 'Heatmaps' }).click();
    await page.getByTestId('metric').selectOption('saliency');
    await page.getByTestId('layer').selectOption('3');
    await expect.poll(() => page.getByTestId('heatmap-loading').count(), { timeout: 60_000 }).toBe(0);
    await page.screenshot({ path: join(SHOTS, '11-large-saliency.png') });
  });
});
