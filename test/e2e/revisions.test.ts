import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { record } from '../../engine/record.js';
import { readTrace } from '../../engine/trace/trace.js';
import { taskAt } from '../../engine/tasks/generate.js';
import { DEFAULTS } from '../../engine/api/defaults.js';
import { ROOT, tmp, startServe, CHROMIUM } from '../helpers.js';

// Decoders that change their minds, in real Chromium (issue 34): an editing decode (edit-threshold) and a remasking
// decode (remdm) of dlens-tiny. The timeline draws each revisited position's life, the replay marks what a step
// edited or remasked. Screenshots: test-results/screenshots (docs/app.md shows two of them).
const SHOTS = join(ROOT, 'test-results', 'screenshots');

/** The first step whose edits row changes a token (kind 'edit') or remasks one, from the trace file itself. */
function firstChange(file: string, kind: 'edit' | 'remask') {
  const t = readTrace(new Uint8Array(readFileSync(file)));
  for (let i = 0; i < t.edits.length; i += 4) {
    const remask = t.edits[i + 3] === t.manifest.mask_token_id;
    if (remask === (kind === 'remask'))
      return { step: t.edits[i]!, position: t.edits[i + 1]!, count: t.edits.length / 4 };
  }
  throw new Error(`${file} has no ${kind}`);
}

describe('remasking and editing decodes in the app', () => {
  let server: Awaited<ReturnType<typeof startServe>>, browser: Browser, page: Page;
  const dir = tmp();
  const edit = join(dir, 'copy3-edit-threshold.dlens'),
    remask = join(dir, 'copy3-remdm.dlens');

  beforeAll(async () => {
    mkdirSync(SHOTS, { recursive: true });
    const task = taskAt('copy', 3, DEFAULTS.taskSeed, { split: 'eval' });
    await record({
      task,
      genLength: 32,
      blockLength: 32,
      strategy: 'edit-threshold',
      params: { edit_threshold: 0.1 },
      out: edit,
    });
    await record({ task, genLength: 32, blockLength: 32, steps: 32, strategy: 'remdm', out: remask });
    server = await startServe({ DLENS_HOME: join(dir, 'home') });
    browser = await chromium.launch(CHROMIUM);
    page = await (await browser.newContext({ viewport: { width: 1400, height: 900 } })).newPage();
    page.on('pageerror', (e) => {
      throw e;
    });
    await page.goto(server.url);
  });
  afterAll(async () => {
    await browser?.close();
    server?.stop();
  });

  /** Moves the cursor to state `n` (after n steps) with the keyboard, as a user steps. */
  async function toState(n: number) {
    await page.locator('body').click({ position: { x: 5, y: 5 } });
    await page.keyboard.press('Home');
    for (let i = 0; i < n; i++) await page.keyboard.press('ArrowRight');
    await expect.poll(() => page.getByTestId('step-label').textContent()).toMatch(new RegExp(`^step ${n} /`));
  }

  it('edit-threshold: the timeline draws edits, the replay marks the tokens a step edited', async () => {
    const first = firstChange(edit, 'edit');
    await page.getByTestId('open-input').setInputFiles(edit);
    await page.getByRole('tab', { name: 'Token timeline' }).click();
    await page.getByTestId('region').selectOption('all');
    const fig = page.locator('.figure svg');
    await expect.poll(() => fig.locator('[data-kind="edit"]').count()).toBeGreaterThan(0);
    expect(await fig.textContent()).toMatch(/edited/);
    await page.screenshot({ path: join(SHOTS, '20-timeline-edits.png') });
    await page.getByRole('tab', { name: 'Replay' }).click();
    await toState(first.step + 1);
    const marked = page.locator(`[data-testid="replay-text"] .tok.edited[data-pos="${first.position}"]`);
    await expect.poll(() => marked.count()).toBe(1);
    await page.screenshot({ path: join(SHOTS, '21-replay-edited.png') });
    // One step on, the edited token is marked as coming from an earlier edit (unless edited again).
    await page.keyboard.press('ArrowRight');
    await expect
      .poll(() => page.locator(`[data-testid="replay-text"] [data-pos="${first.position}"]`).getAttribute('class'))
      .toMatch(/\b(revised|edited|remasked)\b/);
  });

  it('remdm: remasks in the timeline, the replay and the heatmap', async () => {
    const first = firstChange(remask, 'remask');
    await page.getByTestId('open-input').setInputFiles(remask);
    await page.getByRole('tab', { name: 'Token timeline' }).click();
    await page.getByTestId('region').selectOption('all');
    const fig = page.locator('.figure svg');
    await expect.poll(() => fig.locator('[data-kind="remask"]').count()).toBeGreaterThan(0);
    expect(await fig.textContent()).toMatch(/remasked/);
    await page.screenshot({ path: join(SHOTS, '22-timeline-remasks.png') });
    await page.getByRole('tab', { name: 'Replay' }).click();
    await toState(first.step + 1);
    await expect
      .poll(() => page.locator(`[data-testid="replay-text"] .tok.remasked[data-pos="${first.position}"]`).count())
      .toBe(1);
    expect(await page.locator(`[data-pos="${first.position}"]`).textContent()).toBe('▒');
    await page.screenshot({ path: join(SHOTS, '23-replay-remasked.png') });
    await page.getByRole('tab', { name: 'Heatmaps' }).click();
    const options = await page.getByTestId('metric').locator('option').allTextContents();
    expect(options).toContain('Changes of a committed token so far');
    await page.getByTestId('metric').selectOption('decided');
    const canvas = page.getByTestId('heatmap-canvas');
    await canvas.waitFor();
    expect(await page.locator('.figure, .heatmaps').first().textContent()).toMatch(/remasked/);
  });
});
