import { describe, it, expect, beforeAll } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { dlens, python, tmp } from '../helpers.js';
import { logitsOnlyModel } from '../support/logits-only-model.js';
import { readTrace } from '../../engine/trace/trace.js';

/** A graph that maps input_ids to logits only runs with full passes and says why its traces hold no attention. */
describe('a logits-only model', () => {
  const dir = tmp('dlens-logits-only-');
  const model = join(dir, 'model');
  beforeAll(() => logitsOnlyModel(model));

  it('decodes with cache none, with every strategy of the step loop and FreeDave, into valid traces', async () => {
    for (const strategy of ['low-confidence', 'fast-dllm-threshold', 'freedave']) {
      const out = join(dir, `${strategy}.dlens`);
      const r = await dlens([
        'record',
        '--model',
        model,
        '--prompt',
        'hi',
        '--strategy',
        strategy,
        '--gen-length',
        '16',
        '--block-length',
        '16',
        '--out',
        out,
        '--json',
      ]);
      expect(r.code, r.stderr).toBe(0);
      expect(JSON.parse(r.stdout)).toMatchObject({ complete: true, steps: expect.any(Number) });
      const t = readTrace(new Uint8Array(readFileSync(out)));
      expect(t.manifest.no_saliency_reason).toMatch(/logits only/);
      expect(t.saliency.full()!.every((v) => Number.isNaN(v))).toBe(true);
      expect((await python(['test/check_trace.py', out])).code).toBe(0);
    }
  });

  it('refuses a cache with a message that says why', async () => {
    const r = await dlens([
      'record',
      '--model',
      model,
      '--prompt',
      'hi',
      '--cache',
      'dual',
      '--gen-length',
      '16',
      '--block-length',
      '8',
    ]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('maps tokens to logits only (no keys, values or attention): it runs with --cache none');
  });
});
