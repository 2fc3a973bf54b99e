import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { copyFileSync, readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { record } from '../../engine/record.js';
import { taskAt } from '../../engine/tasks/generate.js';
import { fileCorpus } from '../../engine/tasks/corpus.js';
import { DEFAULTS } from '../../engine/api/defaults.js';
import { ROOT, tmp, startServe, CHROMIUM, dlens } from '../helpers.js';

// The diagnostics in real Chromium: detector badges, the Diagnostics view, where Compare's traces part, the Bench
// view. Real dlens-tiny decodes of pick:1, which stalls under Fast-dLLM's threshold. Screenshots: test-results.
const SHOTS = join(ROOT, 'test-results', 'screenshots');

describe('diagnostics in the app', () => {
  let server: Awaited<ReturnType<typeof startServe>>, browser: Browser, page: Page;
  const dir = tmp();
  const lc = join(dir, 'pick1-lowconf.dlens'),
    th = join(dir, 'pick1-threshold.dlens'),
    noLens = join(dir, 'pick1-no-lens.dlens'),
    benchJson = join(dir, 'bench.json');

  beforeAll(async () => {
    mkdirSync(SHOTS, { recursive: true });
    const task = taskAt('pick', 1, DEFAULTS.taskSeed, { split: 'eval', corpus: fileCorpus() });
    await record({ task, genLength: 32, blockLength: 32, out: lc });
    await record({ task, genLength: 32, blockLength: 32, strategy: 'fast-dllm-threshold', out: th });
    await record({ task, genLength: 32, blockLength: 32, lens: false, out: noLens });
    server = await startServe({ DLENS_HOME: join(dir, 'home') });
    // the bench keeps its instance traces in the served traces folder, where the page may open them
    const r = await dlens([
      'bench',
      '--suite',
      'pick,copy',
      '--strategies',
      'low-confidence,fast-dllm-threshold',
      '--limit',
      '2',
      '--traces',
      join(server.traces_dir, 'bench'),
      '--format',
      'json',
      '--out',
      benchJson,
    ]);
    expect(r.code, r.stderr).toBe(0);
    browser = await chromium.launch(CHROMIUM);
    page = await (
      await browser.newContext({ acceptDownloads: true, viewport: { width: 1400, height: 900 } })
    ).newPage();
    page.on('pageerror', (e) => {
      throw e;
    });
    await page.goto(server.url);
  });
  afterAll(async () => {
    await browser?.close();
    server?.stop();
  });

  it('shows detector badges that move the cursor to the finding', async () => {
    await page.getByTestId('open-input').setInputFiles(th);
    const badges = page.getByTestId('detector-badges');
    await badges.waitFor();
    expect(await badges.textContent()).toMatch(/Stall 1/);
    await badges.getByRole('button', { name: /Stall/ }).click();
    expect(await page.getByTestId('step-label').textContent()).toMatch(/^step 1 \//);
  });

  it('lists findings, the decoding order and its map in the Diagnostics view', async () => {
    await page.getByRole('tab', { name: 'Diagnostics' }).click();
    const stall = page.locator('[data-detector="stall"]');
    expect(await stall.textContent()).toMatch(/no position passed the threshold/);
    await page.keyboard.press('End');
    await stall
      .getByRole('button', { name: /^step \d+$/ })
      .first()
      .click();
    expect(await page.getByTestId('step-label').textContent()).toMatch(/^step 1 \//);
    expect(await page.getByTestId('order-stats').textContent()).toMatch(/Kendall τ \(answer\)-?\d\.\d\d/);
    // one mark per committed position: 32 generated positions
    expect(await page.locator('.figure svg rect[fill]:has(title)').count()).toBe(32);
    await page.screenshot({ path: join(SHOTS, '10-diagnostics.png') });
  });

  it('shows what each layer believed at the cursor step and, across steps, the first layer that got it', async () => {
    await page.getByRole('tab', { name: 'Logit lens' }).click();
    await page.keyboard.press('Home');
    for (let i = 0; i < 3; i++) await page.keyboard.press('ArrowRight');
    expect(await page.getByTestId('step-label').textContent()).toMatch(/^step 3 \//);
    const fig = page.locator('.lens .figure svg');
    // dlens-tiny's 6 layers x 32 generated positions, every position computed at every step (cache none)
    await expect.poll(() => fig.locator('rect[fill]:has(title)').count()).toBe(6 * 32);
    expect(await fig.locator('title').first().textContent()).toMatch(/^position \d+, layer \d: ".*" p=0\.\d{3}/);
    // the last layer is the model's own prediction: at the final step's last layer every outlined cell is a hit
    expect(await fig.locator('rect.lens-final').count()).toBeGreaterThan(0);
    expect(await page.getByTestId('lens-stats').textContent()).toMatch(/masked at step 3\d+; final token on top/);
    expect(await page.getByTestId('lens-heatmap').locator('canvas').count()).toBeGreaterThan(0);
    await page.screenshot({ path: join(SHOTS, '13-logit-lens.png') });
    // the same measure in the Heatmaps view, exportable there
    await page.getByRole('tab', { name: 'Heatmaps' }).click();
    await page.getByTestId('metric').selectOption('lens_first');
    expect(await page.getByTestId('legend').textContent()).toMatch(/1\.0.*7\.0/);
    // a trace recorded without it says how to get it
    await page.getByTestId('open-input').setInputFiles(noLens);
    await page.getByRole('tab', { name: 'Logit lens' }).click();
    expect(await page.getByTestId('lens-absent').textContent()).toMatch(/dlens convert --lens/);
    await page.getByRole('button', { name: 'close pick1-no-lens.dlens' }).click();
    await expect.poll(() => page.locator('.tracechip').count()).toBe(1);
  });

  it('marks where two decodes part in Compare and jumps there', async () => {
    await page.getByTestId('open-input').setInputFiles(lc);
    await page.getByRole('tab', { name: 'Compare' }).click();
    const part = page.getByTestId('divergence');
    await part.waitFor();
    expect(await part.textContent()).toMatch(/states part at step 1 \(\d+ positions\)/);
    await part.getByRole('button', { name: 'step 1' }).first().click();
    expect(await page.getByTestId('step-label').textContent()).toMatch(/^step 1 \//);
    expect(await page.locator('.tok.parts').count()).toBeGreaterThan(0);
    expect(await page.getByTestId('compare-table').textContent()).toMatch(/decoding order, Kendall τ/);
    await page.screenshot({ path: join(SHOTS, '11-compare-divergence.png') });
  });

  it('plots a bench, lists a strategy’s instances and opens one; exports the table', async () => {
    await page.getByRole('tab', { name: 'Bench' }).click();
    await page.getByTestId('bench-input').setInputFiles(benchJson);
    const fig = page.getByTestId('bench-figure');
    await expect.poll(() => fig.locator('circle[data-key]').count()).toBe(2);
    expect(await fig.locator('polygon').count()).toBe(1); // the area of the one strategy beyond the baseline
    expect(await page.getByTestId('bench-table').textContent()).toMatch(/fast-dllm-threshold/);
    await fig.locator('circle[data-key="fast-dllm-threshold|none"]').click();
    const inst = page.getByTestId('bench-instances');
    await inst.waitFor();
    expect(await inst.locator('tbody tr').count()).toBe(4); // 2 suites x 2 instances
    expect(await inst.textContent()).toMatch(/Stall/);
    await page.screenshot({ path: join(SHOTS, '12-bench.png') });
    await page.getByTestId('bench-suite').selectOption('pick');
    await page.getByRole('button', { name: 'Export ▾' }).click();
    const [dl] = await Promise.all([
      page.waitForEvent('download'),
      page.getByRole('menuitem', { name: 'Metrics as CSV' }).click(),
    ]);
    const p = join(dir, dl.suggestedFilename());
    await dl.saveAs(p);
    expect(dl.suggestedFilename()).toBe('bench-aup-pick.csv');
    expect(readFileSync(p, 'utf8').split('\n')[0]).toBe('strategy,cache,accuracy %,TPF (all),TPF (answer),steps,AUP');
    await inst.getByRole('button', { name: 'open' }).first().click();
    await expect.poll(() => page.locator('.tracechip').count()).toBe(3);
    expect(await page.getByTestId('trace-summary').textContent()).toMatch(/fast-dllm-threshold/);
    // back in Bench, the result, the suite chosen and the instances are still there (issue 33, item 4)
    await page.getByRole('tab', { name: 'Bench' }).click();
    expect(await page.getByTestId('bench-suite').inputValue()).toBe('pick');
    expect(await page.getByTestId('bench-instances').locator('tbody tr').count()).toBeGreaterThan(0);
    expect(await fig.locator('circle').count()).toBeGreaterThan(0);
  });

  it('exports every view that has a figure as SVG that parses as XML and as PNG that rasterises', async () => {
    await page.getByRole('tab', { name: 'Heatmaps', exact: true }).click();
    await page.locator('.tracechip button', { hasText: 'pick1-lowconf' }).first().click();
    const save = async (item: string) => {
      await page.getByRole('button', { name: 'Export ▾' }).click();
      const [dl] = await Promise.all([
        page.waitForEvent('download'),
        page.getByRole('menuitem', { name: item }).click(),
      ]);
      const p = join(dir, `export-${dl.suggestedFilename()}`);
      await dl.saveAs(p);
      return readFileSync(p);
    };
    for (const view of ['Heatmaps', 'Token timeline', 'Volatility', 'Diagnostics', 'Logit lens', 'Bench']) {
      await page.getByRole('tab', { name: view, exact: true }).click();
      if (view === 'Bench') await page.getByTestId('bench-input').setInputFiles(benchJson);
      const svg = (await save('Figure as SVG')).toString('utf8');
      const error = await page.evaluate(
        (text) => new DOMParser().parseFromString(text, 'image/svg+xml').querySelector('parsererror')?.textContent,
        svg,
      );
      expect(error, `${view}: ${error}`).toBeUndefined();
      const png = await save('Figure as PNG');
      expect(png.subarray(1, 4).toString(), view).toBe('PNG');
      expect(png.readUInt32BE(16), view).toBeGreaterThan(100); // width: a real image
    }
  });

  it("collapses a long decode's EOS padding into one band and fits the steps to the answer", async () => {
    await page.getByRole('tab', { name: 'Heatmaps', exact: true }).click();
    await page.locator('.tracechip button', { hasText: 'pick1-lowconf' }).first().click();
    await page.getByRole('tab', { name: 'Token timeline' }).click();
    const fig = page.locator('.timeline .figure svg');
    const rows = () => fig.locator('rect[fill="#E69F00"]').count(); // a commit mark per row shown
    await page.getByTestId('region').selectOption('all'); // every position counted
    const all = await rows();
    await page.getByTestId('timeline-fit').selectOption('answer');
    await expect.poll(() => fig.locator('[data-testid=padding-band]').count()).toBe(1);
    const band = (await fig.locator('[data-testid=padding-band] text').textContent())!;
    const [, n] = band.match(/^EOS padding: (\d+) positions, committed at steps \d+–\d+$/)!;
    expect(await rows()).toBe(all - Number(n)); // the padding's rows are one band now
    const steps = (await fig.locator('g.tick[transform$=",0)"] text').allTextContents()).map(Number); // the x axis
    expect(Math.max(...steps)).toBeLessThanOrEqual(32);
    await page.screenshot({ path: join(SHOTS, '15-timeline-collapsed.png') });
    await page.getByTestId('timeline-fit').selectOption('all'); // expanded again
    await expect.poll(() => fig.locator('[data-testid=padding-band]').count()).toBe(0);
    await page.getByTestId('region').selectOption('answer');
  });

  it('zooms and pans the token timeline as the heatmap: the wheel, a drag, + and −, a double-click or 0 resets', async () => {
    const fig = page.locator('.timeline .figure svg');
    const xTicks = async () =>
      (await fig.locator('g.tick[transform$=",0)"] text').allTextContents()).map(Number).filter((v) => !isNaN(v));
    const rows = () => fig.locator('rect[fill="#E69F00"]').count();
    const span = async () => {
      const t = await xTicks();
      return Math.max(...t) - Math.min(...t);
    };
    const whole = await span(),
      allRows = await rows();
    const area = page.getByTestId('figure-zoom');
    const box = (await area.boundingBox())!;
    await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
    for (let i = 0; i < 4; i++) await page.mouse.wheel(0, -300);
    await expect.poll(span).toBeLessThan(whole / 2); // fewer steps in view
    expect(await rows()).toBeLessThan(allRows); // and fewer positions
    // a drag to the right moves the steps with it: a tick's mark moves by the drag
    const tickX = async (v: number) =>
      Number(
        /translate\(([\d.]+),0\)/.exec(
          (await fig
            .locator('g.tick[transform$=",0)"]', { hasText: new RegExp(`^${v}$`) })
            .first()
            .getAttribute('transform'))!,
        )![1],
      );
    const first = Math.min(...(await xTicks())),
      at = await tickX(first);
    await page.mouse.down();
    await page.mouse.move(box.x + box.width / 2 + 60, box.y + box.height / 2, { steps: 5 });
    await page.mouse.up();
    await expect.poll(() => tickX(first)).toBeCloseTo(at + 60, 0);
    await area.dblclick();
    await expect.poll(span).toBe(whole);
    expect(await rows()).toBe(allRows);
    await page.keyboard.press('+');
    await expect.poll(span).toBeLessThan(whole);
    await page.keyboard.press('0');
    await expect.poll(span).toBe(whole);
  });

  it('opens what is dropped as what it is: a bench result in Bench, the same trace once, a non-trace in words', async () => {
    await page.getByRole('tab', { name: 'Replay' }).click();
    const chips = page.locator('.tracechip');
    const before = await chips.count();
    await page.getByTestId('open-input').setInputFiles(benchJson);
    await expect.poll(() => page.locator('[role=tab][aria-selected=true]').textContent()).toMatch(/Bench/);
    expect(await page.getByTestId('bench-figure').textContent()).toMatch(/bench\.json/);
    const fresh = join(dir, 'pick1-again.dlens');
    copyFileSync(lc, fresh);
    await page.getByTestId('open-input').setInputFiles(fresh);
    await page.getByTestId('open-input').setInputFiles(fresh); // dropped twice
    await page.getByRole('tab', { name: 'Replay' }).click();
    await expect.poll(() => chips.count()).toBe(before + 1);
    const junk = join(dir, 'notes.dlens');
    writeFileSync(junk, 'root:x:0:0:root:/root:/bin/bash\n');
    await page.getByTestId('open-input').setInputFiles(junk);
    await expect
      .poll(() => page.getByRole('alert').textContent())
      .toMatch(/^Could not open notes\.dlens: not a dlens trace \(it does not start with a safetensors header\)/);
    // Ctrl+O opens the file picker in the browser as in the desktop app
    const [chooser] = await Promise.all([page.waitForEvent('filechooser'), page.keyboard.press('Control+o')]);
    expect(chooser.isMultiple()).toBe(true);
  });

  it('with two files named on the command line, the first is in front at every load', async () => {
    const two = await startServe({ DLENS_HOME: join(dir, 'home2') }, [th, lc]);
    try {
      for (let i = 0; i < 3; i++) {
        await page.goto(two.url);
        await expect.poll(() => page.locator('.tracechip').count()).toBe(2);
        await expect.poll(() => page.getByTestId('trace-summary').textContent()).toMatch(/fast-dllm-threshold/);
      }
      // a link to a moment: the view, the step, the zoom and the trace in front survive a reload (issue 33, item 12)
      await page.locator('.tracechip button', { hasText: 'pick1-lowconf' }).click();
      await page.getByRole('tab', { name: 'Heatmaps' }).click();
      await page.evaluate(() => (document.activeElement as HTMLElement | null)?.blur());
      await page.keyboard.press('Home');
      for (let i = 0; i < 5; i++) await page.keyboard.press('ArrowRight');
      await page.keyboard.press('+');
      await expect.poll(() => decodeURIComponent(page.url())).toMatch(/view=heatmaps&step=5(&pos=\d+)?&zoom=1\.5,/);
      expect(new URL(page.url()).searchParams.get('active')).toBe('1');
      const ticks = () => page.locator('svg.axes .tick text').allTextContents();
      const before = await ticks();
      await page.reload();
      await expect.poll(() => page.getByTestId('step-label').textContent()).toBe('step 5 / 32');
      expect(await page.locator('[role=tab][aria-selected=true]').textContent()).toMatch(/Heatmaps/);
      expect(await page.getByTestId('trace-summary').textContent()).toMatch(/low-confidence/);
      await expect.poll(ticks).toEqual(before);
      await page.getByRole('button', { name: 'Copy link' }).click();
      await expect.poll(() => page.locator('.notice').textContent()).toMatch(/step=5/);
    } finally {
      two.stop();
    }
  });
});
