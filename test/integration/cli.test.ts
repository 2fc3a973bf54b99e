import { describe, it, expect } from 'vitest';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { dlens, python, tmp, FIXTURE } from '../helpers.js';
import { readTrace } from '../../engine/trace/trace.js';
import { record } from '../../engine/record.js';

const noStack = (s: string) => expect(s).not.toMatch(/\n\s+at .*:\d+:\d+/);

describe('dlens command line', () => {
  it('records on the fixture, prints one JSON object, and info reads the trace back', async () => {
    const out = join(tmp(), 'a.dlens');
    const r = await dlens([
      'record',
      '--model',
      FIXTURE,
      '--prompt',
      'hello',
      '--gen-length',
      '32',
      '--block-length',
      '8',
      '--steps',
      '32',
      '--out',
      out,
      '--json',
    ]);
    expect(r.code).toBe(0);
    const j = JSON.parse(r.stdout);
    for (const k of ['output', 'steps', 'nfe', 'wall_ms', 'tokens_per_s', 'trace', 'strategy', 'cache'])
      expect(j).toHaveProperty(k);
    expect(j.steps).toBe(32);
    expect(j.nfe).toBe(32);
    const info = await dlens(['info', out, '--json']);
    expect(info.code).toBe(0);
    const ij = JSON.parse(info.stdout);
    expect(ij.output).toBe(j.output);
    expect(ij.summary).toMatchObject({ steps: 32, nfe: 32, tokens_per_step: 1 });
    const t = readTrace(new Uint8Array(readFileSync(out)));
    expect(t.dims).toMatchObject({ S: 32, G: 32, K: 5, Ly: 2 });
    // every generated position was recorded at every step (delayed decoding needs them all)
    expect(Number.isNaN(t.confidence[31 * 32 + 5]!)).toBe(false);
    const py = await python(['test/check_trace.py', out]);
    expect(py.stderr).toBe('');
    expect(py.code).toBe(0);
  });

  it('is reproducible under a seed with temperature sampling', async () => {
    const args = [
      'record',
      '--model',
      FIXTURE,
      '--prompt',
      'abc',
      '--gen-length',
      '16',
      '--block-length',
      '8',
      '--steps',
      '8',
      '--temperature',
      '1',
      '--json',
    ];
    const a = JSON.parse((await dlens([...args, '--seed', '5'])).stdout),
      b = JSON.parse((await dlens([...args, '--seed', '5'])).stdout);
    const c = JSON.parse((await dlens([...args, '--seed', '6'])).stdout);
    expect(a.output).toBe(b.output);
    expect(c.output).not.toBe(a.output);
  });

  it('lists the bundled default model and decodes a suite task with it', async () => {
    const m = JSON.parse((await dlens(['models', '--json'])).stdout);
    expect(m.models.find((x: { name: string }) => x.name === 'dlens-tiny').default).toBe(true);
    const r = JSON.parse(
      (await dlens(['record', '--task', 'copy:0', '--gen-length', '32', '--block-length', '32', '--json'])).stdout,
    );
    expect(r.task).toMatchObject({ suite: 'copy', score: 1 });
  });

  it('bench runs suites x caches and reports accuracy, NFE, TPF and speed per cell', async () => {
    const r = await dlens([
      'bench',
      '--model',
      FIXTURE,
      '--suite',
      'copy,sort',
      '--caches',
      'none,dual',
      '--limit',
      '2',
      '--gen-length',
      '16',
      '--block-length',
      '8',
      '--json',
    ]);
    expect(r.code).toBe(0);
    const { cells } = JSON.parse(r.stdout);
    expect(cells).toHaveLength(4);
    for (const c of cells) {
      expect(c.nfe).toBe(16);
      expect(c.tpf).toBe(1);
      expect(c.accuracy).toBeGreaterThanOrEqual(0);
      expect(c.tokens_per_s).toBeGreaterThan(0);
    }
    expect(cells.find((c: { cache: string; suite: string }) => c.cache === 'none' && c.suite === 'copy').speedup).toBe(
      1,
    );
  });

  it('bench decodes each suite at its own generation length when none is given', async () => {
    const r = await dlens(['bench', '--model', FIXTURE, '--suite', 'copy,sort', '--limit', '1', '--json']);
    expect(r.code).toBe(0);
    const { cells } = JSON.parse(r.stdout);
    // one token per step: steps = generation length (copy 32; sort 64, since ten 3-digit numbers need 39 tokens)
    expect(cells.map((c: { suite: string; steps: number }) => [c.suite, c.steps])).toEqual([
      ['copy', 32],
      ['sort', 64],
    ]);
  });

  it('refuses a truncated or corrupted trace and leaves it untouched', async () => {
    const d = tmp();
    const good = join(d, 'g.dlens');
    await dlens([
      'record',
      '--model',
      FIXTURE,
      '--prompt',
      'hi',
      '--gen-length',
      '8',
      '--block-length',
      '8',
      '--steps',
      '8',
      '--out',
      good,
    ]);
    const bytes = readFileSync(good);
    const bad = join(d, 'bad.dlens');
    writeFileSync(bad, bytes.subarray(0, bytes.length - 100));
    const r = await dlens(['info', bad]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/not a valid \.dlens trace/);
    noStack(r.stderr);
    expect(readFileSync(bad).length).toBe(bytes.length - 100);
    writeFileSync(bad, 'garbage that is not safetensors at all');
    expect((await dlens(['info', bad])).stderr).toMatch(/header length/);
  });

  it('a failed recording does not overwrite an existing trace', async () => {
    const d = tmp();
    const out = join(d, 'keep.dlens');
    writeFileSync(out, 'precious');
    const r = await dlens([
      'record',
      '--model',
      FIXTURE,
      '--prompt',
      'x',
      '--gen-length',
      '30',
      '--block-length',
      '8',
      '--out',
      out,
    ]);
    expect(r.code).not.toBe(0);
    expect(readFileSync(out, 'utf8')).toBe('precious');
  });

  it('a cancelled run writes a valid trace of the steps done, marked incomplete', async () => {
    const out = join(tmp(), 'cancel.dlens');
    const ac = new AbortController();
    const s = await record(
      { model: FIXTURE, prompt: 'hello', genLength: 32, blockLength: 8, steps: 32, out },
      {
        signal: ac.signal,
        onStep: (p) => {
          if (p.step === 10) ac.abort();
        },
      },
    );
    expect(s.complete).toBe(false);
    expect(existsSync(out)).toBe(true);
    const t = readTrace(new Uint8Array(readFileSync(out)));
    expect(t.manifest.complete).toBe(false);
    expect(t.manifest.incomplete_reason).toBe('cancelled');
    expect(t.dims.S).toBe(10);
    expect((await python(['test/check_trace.py', out])).code).toBe(0);
  });

  it('info reports delayed decoding of the answer by default, and of the padding and all positions on request', async () => {
    // "Define: lantern" on dlens-tiny: a short definition, then EOS padding that low-confidence walks through last.
    const out = join(tmp(), 'lantern.dlens');
    expect((await dlens(['record', '--prompt', 'Define: lantern', '--out', out])).code).toBe(0);
    const { summary } = JSON.parse((await dlens(['info', out, '--json'])).stdout);
    const { answer, padding, all } = summary.regions;
    expect(answer.positions).toBeGreaterThan(0);
    expect(padding.positions).toBeGreaterThan(answer.positions);
    expect(answer.positions + padding.positions).toBeLessThanOrEqual(all.positions);
    expect(answer.delay.meanDelay).toBeLessThan(all.delay.meanDelay);
    expect(answer.tpf).toBeLessThan(all.tpf);
    const text = (await dlens(['info', out])).stdout;
    expect(text).toContain(
      `region    answer tokens (${answer.positions} answer tokens, ${padding.positions} EOS padding, 64 positions`,
    );
    expect(text).toContain(`mean delay ${answer.delay.meanDelay.toFixed(2)} steps`);
    expect((await dlens(['info', out, '--region', 'padding'])).stdout).toContain(
      `mean delay ${padding.delay.meanDelay.toFixed(2)} steps`,
    );
    expect((await dlens(['info', out, '--region', 'x'])).stderr).toContain(
      '--region must be one of answer, padding, all',
    );
  });
});

describe('dlens record tells a log how far it is', () => {
  const args = ['record', '--model', FIXTURE, '--prompt', 'log me', '--gen-length', '32', '--block-length', '8'];
  it('writes progress lines (step, tokens/s, ETA) to stderr when it is not a terminal', async () => {
    const r = await dlens([...args, '--steps', '16'], { env: { DLENS_PROGRESS_EVERY_MS: '0' } });
    expect(r.code).toBe(0);
    const lines = r.stderr.split('\n').filter((l) => l.startsWith('step '));
    expect(lines).toHaveLength(16); // every step, as asked for here (a line every 10 s by default)
    expect(lines[0]).toMatch(/^step 1\/16 \(6 %\) {2}\d+\/32 tokens {2}[\d.]+ tok\/s {2}ETA \d+s$/);
    expect(lines[15]).toMatch(/^step 16\/16 \(100 %\) {2}32\/32 tokens .* ETA 0s$/);
    expect(r.stderr).not.toContain('\r'); // no terminal rewriting in a log
  });
  it('--quiet leaves stderr to the summary', async () => {
    const r = await dlens([...args, '--steps', '16', '--quiet'], { env: { DLENS_PROGRESS_EVERY_MS: '0' } });
    expect(r.code).toBe(0);
    expect(r.stderr).not.toMatch(/^step /m);
    expect(r.stderr).toMatch(/16 steps, 16 forward passes/);
  });
});
