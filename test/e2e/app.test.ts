import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { readFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { record } from '../../engine/record.js';
import { readTrace } from '../../engine/trace/trace.js';
import { FIXTURE, ROOT, tmp, startServe, CHROMIUM } from '../helpers.js';
import { logitsOnlyModel } from '../support/logits-only-model.js';

// The app in real Chromium against `dlens serve`; screenshots of every view go to test-results/screenshots.
const SHOTS = join(ROOT, 'test-results', 'screenshots');

describe('the app in Chromium, served by dlens serve', () => {
  let server: Awaited<ReturnType<typeof startServe>>, browser: Browser, page: Page;
  const dir = tmp();
  const traceA = join(dir, 'hello-lowconf-none.dlens'),
    traceB = join(dir, 'hello-random-dual.dlens'),
    traceC = join(dir, 'hello-logits-only.dlens'),
    traceD = join(dir, 'hello-4-steps.dlens');

  beforeAll(async () => {
    mkdirSync(SHOTS, { recursive: true });
    const base = { model: FIXTURE, prompt: 'hello world', genLength: 64, blockLength: 16, steps: 64 };
    await record({ ...base, out: traceA });
    await record({ ...base, strategy: 'random', cache: 'dual', out: traceB });
    await record({ ...base, steps: 4, out: traceD });
    await logitsOnlyModel(join(dir, 'logits-only'));
    await record({ ...base, model: join(dir, 'logits-only'), out: traceC });
    server = await startServe({ DLENS_HOME: join(dir, 'home'), DLENS_MODEL_PATH: join(ROOT, 'test', 'fixtures') });
    browser = await chromium.launch(CHROMIUM);
    page = await (
      await browser.newContext({ acceptDownloads: true, viewport: { width: 1400, height: 900 } })
    ).newPage();
    page.on('pageerror', (e) => {
      throw e;
    });
  });
  afterAll(async () => {
    await browser?.close();
    server?.stop();
  });

  it('refuses a request without the token, and shows an empty state that says what to do', async () => {
    const denied = await fetch(`http://127.0.0.1:${server.port}/`);
    expect(denied.status).toBe(403);
    await page.goto(server.url);
    await page.getByText('Watch a diffusion LM decode').waitFor();
    await page.getByRole('button', { name: 'Open a trace…' }).waitFor();
    // The token is in the HttpOnly cookie now: it leaves the address bar (and history), and calls still work.
    expect(new URL(page.url()).searchParams.has('token')).toBe(false);
    expect(await page.evaluate(() => document.cookie)).toBe('');
    await page.screenshot({ path: join(SHOTS, '0-empty.png') });
  });

  it('opens a trace and replays it: scrubbing, keys, hover', async () => {
    await page.getByTestId('open-input').setInputFiles(traceA);
    const label = page.getByTestId('step-label');
    await expect.poll(() => label.textContent()).toBe('step 64 / 64');
    const text = page.getByTestId('replay-text');
    const masked = () => text.locator('.tok.masked').count();
    expect(await masked()).toBe(0);
    await page.getByTestId('scrubber').fill('0');
    expect(await label.textContent()).toBe('step 0 / 64');
    expect(await masked()).toBe(64);
    await page.keyboard.press('ArrowRight');
    expect(await label.textContent()).toBe('step 1 / 64');
    expect(await masked()).toBe(63); // one token per step
    await page.keyboard.press('End');
    expect(await label.textContent()).toBe('step 64 / 64');
    await page.getByTestId('scrubber').fill('20');
    await text.locator('.tok').nth(25).hover();
    const card = page.getByTestId('poscard');
    await card.waitFor();
    expect(await card.textContent()).toMatch(/position \d+ .* at the cursor's step 20/);
    expect(await card.locator('tr').count()).toBe(5); // top-5 candidates
    await page.screenshot({ path: join(SHOTS, '1-replay.png') });
  });

  it('refuses a malformed file with a message and keeps what is open', async () => {
    const bad = join(dir, 'bad.dlens');
    const { writeFileSync } = await import('node:fs');
    writeFileSync(bad, 'not a trace at all');
    await page.getByTestId('open-input').setInputFiles(bad);
    await expect
      .poll(() => page.getByRole('alert').textContent())
      .toMatch(/Could not open bad\.dlens: not a dlens trace \(it does not start with a safetensors header\)/);
    expect(await page.getByTestId('replay-text').count()).toBe(1);
    await page.getByRole('alert').getByRole('button').click();
  });

  it('draws heatmaps, switches metric, layer and colours, and shows values on hover', async () => {
    await page.getByRole('tab', { name: 'Heatmaps' }).click();
    const canvas = page.getByTestId('heatmap-canvas');
    await canvas.waitFor();
    const box = (await canvas.boundingBox())!;
    await page.mouse.move(box.x + box.width * 0.5, box.y + box.height * 0.6);
    await expect
      .poll(() => page.getByTestId('heatmap-tip').textContent())
      .toMatch(/confidence: (\d+(\.\d+)?%|not computed)/);
    await page.screenshot({ path: join(SHOTS, '2-heatmap-confidence.png') });
    // steps and positions are whole numbers on the axes (issue 33, item 7)
    const ticks = await page.locator('svg.axes .tick text').allTextContents();
    expect(ticks.length).toBeGreaterThan(4);
    expect(ticks.every((t) => /^\d+$/.test(t))).toBe(true);
    await page.getByTestId('metric').selectOption('entropy');
    await page.mouse.move(box.x + box.width * 0.52, box.y + box.height * 0.6);
    await expect.poll(() => page.getByTestId('heatmap-tip').textContent()).toMatch(/entropy/);
    await page.getByTestId('metric').selectOption('saliency');
    await page.getByTestId('layer').selectOption('1');
    await page.mouse.move(box.x + box.width * 0.5, box.y + box.height * 0.3);
    await expect.poll(() => page.getByTestId('heatmap-tip').textContent()).toMatch(/saliency, layer 1/);
    await page.getByTestId('colormap').selectOption('cividis');
    await page.screenshot({ path: join(SHOTS, '3-heatmap-saliency.png') });
    // a click moves the shared cursor
    await page.mouse.click(box.x + box.width * 0.25, box.y + box.height * 0.5);
    const step = Number((await page.getByTestId('step-label').textContent())!.match(/step (\d+)/)![1]);
    expect(step).toBeGreaterThan(10);
    expect(step).toBeLessThan(22);
  });

  it('shows the token timeline and the volatility view with their numbers', async () => {
    await page.getByRole('tab', { name: 'Token timeline' }).click();
    await expect
      .poll(() => page.getByTestId('delay-stats').textContent())
      .toMatch(/mean delay[\d.]+ steps.*oracle steps\d+ of 64/);
    // Per-position metrics count the answer's tokens by default; the switch shows the others; the figure says which.
    const region = page.getByTestId('region');
    expect(await region.inputValue()).toBe('answer');
    expect(await page.locator('.figure svg text').first().textContent()).toMatch(/token timeline \(answer tokens\)$/);
    await region.selectOption('all');
    await expect.poll(() => page.locator('.figure svg text').first().textContent()).toMatch(/\(all positions\)$/);
    await region.selectOption('answer');
    await page.screenshot({ path: join(SHOTS, '4-timeline.png') });
    await page.getByRole('tab', { name: 'Volatility' }).click();
    await expect.poll(() => page.getByTestId('volatility-stats').textContent()).toMatch(/steps with a band\d+ of 64/);
    await page.screenshot({ path: join(SHOTS, '5-volatility.png') });
  });

  it('exports the figure as SVG and PNG and the metrics as CSV and LaTeX', async () => {
    await page.getByRole('tab', { name: 'Heatmaps' }).click();
    await page.getByTestId('metric').selectOption('confidence');
    const menu = page.getByRole('menu');
    await page.getByRole('button', { name: 'Export ▾' }).click();
    await page.keyboard.press('Escape'); // a menu closes on Esc,
    await expect.poll(() => menu.count()).toBe(0);
    await page.getByRole('button', { name: 'Export ▾' }).click();
    await page.mouse.click(700, 880); // on a click elsewhere,
    await expect.poll(() => menu.count()).toBe(0);
    const save = async (item: string) => {
      await page.getByRole('button', { name: 'Export ▾' }).click();
      const [dl] = await Promise.all([
        page.waitForEvent('download'),
        page.getByRole('menuitem', { name: item }).click(),
      ]);
      const p = join(dir, dl.suggestedFilename());
      await dl.saveAs(p);
      return { name: dl.suggestedFilename(), bytes: readFileSync(p) };
    };
    const svg = await save('Figure as SVG');
    expect(svg.name).toBe('hello-lowconf-none-heatmap-confidence.svg');
    const s = svg.bytes.toString('utf8');
    expect(s.startsWith('<svg')).toBe(true);
    expect(s).toContain('<image');
    expect(s).toContain('data:image/png;base64,');
    expect(s).toMatch(/>step<\/text>/);
    expect(s).toMatch(/class="tick"/);
    const png = await save('Figure as PNG');
    expect(png.bytes.subarray(1, 4).toString()).toBe('PNG');
    expect(png.bytes.readUInt32BE(16)).toBe(3600); // 1200 px at 3x
    expect(png.bytes.readUInt32BE(20)).toBe(2100);
    const csv = (await save('Metrics as CSV')).bytes.toString('utf8');
    expect(csv.split('\n')[0]).toBe('metric,hello-lowconf-none.dlens');
    expect(csv).toMatch(/^steps,64$/m);
    expect(csv).toMatch(/^NFE,64$/m);
    const tex = (await save('Metrics as LaTeX')).bytes.toString('utf8');
    expect(tex).toContain('\\begin{tabular}{lr}');
    expect(tex).toContain('\\toprule');
    expect(await menu.count()).toBe(0); // and once its action is done
  });

  it('compares two traces on one cursor, with an output diff and one metrics table', async () => {
    await page.getByTestId('open-input').setInputFiles(traceB);
    await page.getByRole('tab', { name: 'Compare' }).click();
    const cols = page.getByTestId('compare-col');
    await expect.poll(() => cols.count()).toBe(2);
    await page.keyboard.press('Home');
    expect(await cols.nth(0).textContent()).toMatch(/step 0 \/ 64/);
    expect(await cols.nth(1).textContent()).toMatch(/step 0 \/ 64/);
    await page.keyboard.press('End');
    const table = await page.getByTestId('compare-table').textContent();
    expect(table).toMatch(/low-confidence/);
    expect(table).toMatch(/random/);
    expect(table).toMatch(/dual/);
    await page.screenshot({ path: join(SHOTS, '6-compare.png') });
    // its table exports under both traces' names, the active one first
    await page.getByRole('button', { name: 'Export ▾' }).click();
    const [dl] = await Promise.all([
      page.waitForEvent('download'),
      page.getByRole('menuitem', { name: 'Metrics as CSV' }).click(),
    ]);
    expect(dl.suggestedFilename()).toBe('hello-random-dual-vs-hello-lowconf-none-metrics-answer.csv');
  });

  it('aligns a 4-step and a 64-step decode by progress and by forward passes, each showing its own step', async () => {
    await page.getByTestId('open-input').setInputFiles(traceD);
    await page.getByRole('tab', { name: 'Compare' }).click();
    await page.getByRole('checkbox', { name: 'hello-random-dual.dlens' }).uncheck();
    const cols = page.getByTestId('compare-col');
    await expect.poll(() => cols.count()).toBe(2);
    const col = async (name: string) => (await cols.filter({ hasText: name }).textContent())!;
    const blur = () => page.evaluate(() => (document.activeElement as HTMLElement | null)?.blur());
    await page.getByTestId('compare-align').selectOption('progress');
    await blur(); // the keys step the cursor, not the select
    await page.keyboard.press('Home');
    await page.keyboard.press('ArrowRight');
    await page.keyboard.press('ArrowRight'); // the 4-step trace is active: its step 2 of 4
    await expect.poll(() => col('hello-4-steps'), { timeout: 3000 }).toMatch(/step 2 \/ 4/);
    expect(await col('hello-lowconf-none')).toMatch(/step 32 \/ 64/); // halfway too
    expect(await page.getByTestId('compare-alignment').textContent()).toMatch(
      /Aligned on the same fraction of each decode: the cursor is hello-4-steps\.dlens's step 2 of 4/,
    );
    await page.keyboard.press('End');
    await expect.poll(() => col('hello-lowconf-none')).toMatch(/step 64 \/ 64/); // the other reaches its end
    await page.getByTestId('compare-align').selectOption('nfe');
    await blur();
    await page.keyboard.press('Home');
    await page.keyboard.press('ArrowRight');
    await page.keyboard.press('ArrowRight'); // two forward passes each
    await expect.poll(() => col('hello-lowconf-none')).toMatch(/step 2 \/ 64/);
    expect(await page.getByTestId('compare-alignment').textContent()).toMatch(/the same forward passes \(NFE\)/);
    await page.getByTestId('compare-align').selectOption('progress');
    await page.screenshot({ path: join(SHOTS, '6b-compare-aligned.png') });
    await page.getByRole('checkbox', { name: 'hello-random-dual.dlens' }).check();
  });

  it('finds a text in the output, jumps to its commit step, and lists where its top-1 changed', async () => {
    await page.getByRole('tab', { name: 'Replay' }).click();
    await page.locator('.tracechip button', { hasText: 'hello-lowconf-none' }).first().click();
    const output = (await page.locator('.replay .output').textContent())!.replace(/^output\s*/, '');
    const needle = [...output.slice(10, 40)]
      .filter((c) => c.trim())
      .slice(0, 3)
      .join('');
    await page.evaluate(() => (document.activeElement as HTMLElement | null)?.blur());
    await page.keyboard.press('/');
    await page.keyboard.type(needle);
    await expect.poll(() => page.getByTestId('search-count').textContent()).toMatch(/^\d+ found$/);
    const hit = page.getByTestId('search-hit').filter({ hasText: 'output' }).first();
    const [, pos, step] = (await hit.textContent())!.match(/position (\d+) · committed at step (\d+)/)!;
    await hit.click();
    await expect.poll(() => page.getByTestId('step-label').textContent()).toBe(`step ${step} / 64`);
    expect(await page.getByTestId('poscard').textContent()).toContain(`position ${pos} `);
    expect(await page.getByTestId('top1-changes').textContent()).toMatch(
      new RegExp(`^position ${pos}: top-1 changed at steps? \\d`),
    );
    await page.screenshot({ path: join(SHOTS, '13-search.png') });
    await page.getByRole('searchbox', { name: 'find text' }).fill('');
  });

  it('lists every shortcut on ?, and closes the list with Esc', async () => {
    await page.evaluate(() => (document.activeElement as HTMLElement | null)?.blur()); // keys typed in a form are its
    await page.keyboard.press('?');
    const help = page.getByTestId('keyboard-help');
    await help.waitFor();
    const keys = await help.locator('kbd').allTextContents();
    for (const k of ['← / →', 'Home / End', 'Space', '+ / −', '0', 'Ctrl+O', 'Esc', '?']) expect(keys).toContain(k);
    await page.screenshot({ path: join(SHOTS, '14-keyboard-help.png') });
    await page.keyboard.press('Escape');
    await expect.poll(() => help.count()).toBe(0);
    await page.getByRole('button', { name: 'keyboard shortcuts' }).click(); // also from the header
    await help.waitFor();
    await page.mouse.click(5, 890); // a click outside closes it
    await expect.poll(() => help.count()).toBe(0);
  });

  it('zooms the heatmap per trace; double-click, 0 and fit-to-answer change only the trace shown', async () => {
    await page.getByRole('tab', { name: 'Heatmaps' }).click();
    await page.getByTestId('metric').selectOption('confidence');
    const ticks = async () => (await page.locator('svg.axes .tick text').allTextContents()).map(Number);
    const chip = (name: string) => page.locator('.tracechip button', { hasText: name }).first();
    await chip('hello-lowconf-none.dlens').click();
    const whole = await ticks();
    const box = (await page.getByTestId('heatmap-canvas').boundingBox())!;
    await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
    for (let i = 0; i < 4; i++) await page.mouse.wheel(0, -300);
    await expect.poll(async () => JSON.stringify(await ticks())).not.toBe(JSON.stringify(whole));
    await page.waitForTimeout(400); // the wheel's last events
    const zoomed = await ticks();
    await chip('hello-random-dual.dlens').click(); // another trace: not zoomed
    await expect.poll(async () => Math.max(...(await ticks()))).toBeGreaterThanOrEqual(Math.max(...whole) - 8);
    await chip('hello-lowconf-none.dlens').click(); // and back: its zoom kept
    await expect.poll(async () => JSON.stringify(await ticks())).toBe(JSON.stringify(zoomed));
    await page.keyboard.press('0');
    await expect.poll(async () => JSON.stringify(await ticks())).toBe(JSON.stringify(whole));
    await page.keyboard.press('+');
    await page.keyboard.press('+');
    await expect.poll(async () => JSON.stringify(await ticks())).not.toBe(JSON.stringify(whole));
    await page.getByTestId('heatmap-canvas').dblclick();
    await expect.poll(async () => JSON.stringify(await ticks())).toBe(JSON.stringify(whole));
    // the tip names the cell under the pointer, the card the cursor's step; a zoom moves the tip
    await page.mouse.move(box.x + box.width * 0.2, box.y + box.height * 0.3);
    const tip = page.getByTestId('heatmap-tip');
    await expect.poll(() => tip.textContent()).toMatch(/^cell under the pointer: step \d+ · position \d+/);
    expect(await page.getByTestId('poscard').textContent()).toMatch(/at the cursor's step \d+/);
    const before = await tip.textContent();
    await page.keyboard.press('+');
    await expect.poll(() => tip.textContent()).not.toBe(before);
    await page.keyboard.press('0');
    await page.getByTestId('heatmap-fit').selectOption('answer');
    const answer = await page.evaluate(() => document.querySelectorAll('svg.axes g')[1]!.textContent);
    expect(answer).toBeTruthy();
    await page.getByTestId('heatmap-fit').selectOption('all');
  });

  it('records with the fixture model: progress, cancel (a valid partial trace opens), then a full run', async () => {
    await page.getByRole('tab', { name: 'Record' }).click();
    // A page in a browser cannot hand the engine a folder: the import button says how to do it instead.
    const importButton = page.getByTestId('import-checkpoint');
    expect(await importButton.isDisabled()).toBe(true);
    expect(await importButton.getAttribute('title')).toMatch(/dlens convert HF_DIR --out ~\/.dlens\/models\/NAME/);
    await page.getByRole('combobox').first().selectOption('tiny-random');
    await page.getByTestId('prompt').fill('hello');
    await page.getByTestId('gen-length').fill('480');
    await page.getByTestId('block-length').fill('32');
    await page.getByTestId('steps').fill('480');
    await page.getByTestId('record-start').click();
    await expect
      .poll(() => page.getByTestId('progress').textContent(), { timeout: 30_000 })
      .toMatch(/step \d+ \/ 480 · [\d.]+ tok\/s · ETA/);
    await page.screenshot({ path: join(SHOTS, '7-record-progress.png') });
    await page.getByTestId('record-cancel').click();
    await expect
      .poll(
        () =>
          page
            .getByTestId('notice')
            .textContent({ timeout: 1000 })
            .catch(() => ''),
        { timeout: 30_000 },
      )
      .toMatch(/Cancelled after \d+ steps; the partial trace was saved to (.*\.dlens)/);
    const path = (await page.getByTestId('notice').textContent())!.match(/saved to (.*\.dlens)/)![1]!;
    const partial = readTrace(new Uint8Array(readFileSync(path)));
    expect(partial.manifest.complete).toBe(false);
    expect(partial.dims.S).toBeLessThan(480);
    await expect
      .poll(() => page.getByTestId('step-label').textContent())
      .toBe(`step ${partial.dims.S} / ${partial.dims.S}`);
    await page.getByRole('tab', { name: 'Record' }).click();
    await page.getByTestId('gen-length').fill('32');
    await page.getByTestId('steps').fill('16');
    await page.getByTestId('record-start').click();
    await expect
      .poll(
        () =>
          page
            .getByTestId('step-label')
            .textContent({ timeout: 1000 })
            .catch(() => ''),
        { timeout: 30_000 },
      )
      .toBe('step 16 / 16');
    expect(await page.getByTestId('notice').textContent()).toMatch(
      /Recorded 16 steps to .*tiny-random|Recorded 16 steps to .*\.dlens/,
    );
  });

  it('says why the attention heatmap of a logits-only model is empty', async () => {
    await page.getByRole('tab', { name: 'Heatmaps' }).click();
    await page.getByTestId('open-input').setInputFiles(traceC);
    await page.getByTestId('metric').selectOption('saliency');
    await expect
      .poll(() => page.getByTestId('heatmap-empty').textContent())
      .toMatch(/No attention to show: the model maps tokens to logits only/);
    await page.screenshot({ path: join(SHOTS, '8-heatmap-logits-only.png') });
  });
});
