import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { record } from '../../engine/record.js';
import { readTrace } from '../../engine/trace/trace.js';
import { taskAt } from '../../engine/tasks/generate.js';
import { DEFAULTS } from '../../engine/api/defaults.js';
import { ROOT, tmp, startServe, CHROMIUM } from '../helpers.js';
import { alignStates } from '../../engine/trace/align.js';
import { writeTrace } from '../../engine/trace/write.js';
import { handMadeManifest } from '../support/sample-trace.js';

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

/** `dlens serve` and a Chromium page on it, failing the test on any page error. */
async function openApp(dir: string) {
  const server = await startServe({ DLENS_HOME: join(dir, 'home') });
  const browser = await chromium.launch(CHROMIUM);
  const page = await (await browser.newContext({ viewport: { width: 1400, height: 900 } })).newPage();
  page.on('pageerror', (e) => {
    throw e;
  });
  await page.goto(server.url);
  return { server, browser, page };
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
    ({ server, browser, page } = await openApp(dir));
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

describe('a decode whose positions move (format v3) in the app', () => {
  let server: Awaited<ReturnType<typeof startServe>>, browser: Browser, page: Page;
  const dir = tmp();
  const file = join(dir, 'indel.dlens');

  beforeAll(async () => {
    // A hand-made LLaDA 2.2-style decode (vocabulary of 10): a DELETE removes a committed token (the rest shifts
    // left), a SPLIT inserts a mask that is then decoded.
    const M = 1;
    const states = [
      [2, 5, 3, M, M, M, M, M],
      [2, 5, 3, 4, 6, 7, 8, M],
      [2, 5, 3, 4, 7, 8, M, M],
      [2, 5, 3, 4, M, 7, 8, M],
      [2, 5, 3, 4, 9, 7, 8, 0],
    ];
    const { S, T, state, align } = alignStates(states, 0);
    const manifest = handMadeManifest(3, T - 3, S, { format: 'dlens-trace/2', mask_token_id: M, eos_token_id: 0 });
    writeFileSync(file, writeTrace({ manifest, dims: { S, T, G: T - 3, K: 0, Ly: 0, P: 3 }, state, align }));
    ({ server, browser, page } = await openApp(dir));
  });
  afterAll(async () => {
    await browser?.close();
    server?.stop();
  });

  it('the replay marks the tokens a step moved or inserted', async () => {
    await page.getByTestId('open-input').setInputFiles(file);
    await page.getByRole('tab', { name: 'Replay' }).click();
    await page.locator('body').click({ position: { x: 5, y: 5 } });
    await page.keyboard.press('Home');
    await page.keyboard.press('ArrowRight');
    await page.keyboard.press('ArrowRight');
    await expect.poll(() => page.getByTestId('step-label').textContent()).toMatch(/^step 2 \//);
    // state 2: the token at 4 (6) was deleted, 7 and 8 moved one left
    await expect.poll(() => page.locator('[data-testid="replay-text"] .tok.moved').count()).toBe(2);
    await page.keyboard.press('ArrowRight');
    // state 3: a mask inserted at 4 (SPLIT), 7 and 8 moved one right
    await expect.poll(() => page.locator('[data-testid="replay-text"] .tok.inserted').count()).toBe(1);
    expect(await page.locator('.legend-row').textContent()).toMatch(/moved this step.*inserted this step/);
    await page.screenshot({ path: join(SHOTS, '24-replay-moves.png') });
  });
});
