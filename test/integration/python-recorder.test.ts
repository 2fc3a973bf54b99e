import { describe, it, expect } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadModel } from '../../engine/model/load.js';
import { record } from '../../engine/record.js';
import { readTrace } from '../../engine/trace/trace.js';
import { taskAt } from '../../engine/tasks/generate.js';
import { fileCorpus } from '../../engine/tasks/corpus.js';
import { DEFAULTS } from '../../engine/api/defaults.js';
import { ROOT, dlens, python, tmp } from '../helpers.js';

const CKPT = join(ROOT, 'assets/checkpoints/dlens-tiny');
const task = (suite: string, i: number) => taskAt(suite, i, DEFAULTS.taskSeed, { split: 'eval', corpus: fileCorpus() });

/**
 * One model, one decode, both ways: dlens-tiny in PyTorch (the module that trained it, loading the bundled
 * checkpoint) decoded by a LLaDA-style low-confidence loop recorded by the Python recorder through dlens.watch, and
 * the same ids through the TypeScript engine. The traces must agree: states, commit steps, top-k within 1e-3.
 */
describe('the Python recorder and the engine record the same decode', async () => {
  const model = await loadModel();
  const dir = tmp();
  for (const [suite, index] of [
    ['sort', 2],
    ['add', 0],
    ['copy', 1],
  ] as const) {
    it(`${suite}:${index}, gen 32, block 32, 32 steps`, async () => {
      const t = task(suite, index);
      const ids = model.encode(model.card.prompt_template.replace('{prompt}', t.prompt));
      const py = join(dir, `${suite}-py.dlens`),
        eng = join(dir, `${suite}-engine.dlens`);
      const r = await python(['test/support/record_tiny.py', CKPT, JSON.stringify(ids), '32', '32', '32', py], {
        torch: true,
      });
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      await record(
        { prompt: t.prompt, strategy: 'low-confidence', genLength: 32, blockLength: 32, steps: 32, out: eng },
        { model },
      );
      const a = readTrace(readFileSync(py)),
        b = readTrace(readFileSync(eng));
      expect(a.manifest.source).toMatchObject({ kind: 'python', tool: 'dlens-python' });
      expect({ ...a.dims, Ly: 0 }).toEqual({ ...b.dims, Ly: 0 }); // saliency was not asked of the recorder
      // Equal wherever the choice was decided. Where two masked positions tie at probability 1 within float32
      // (EOS padding: 1/s with s = 1 + 1e-8), PyTorch and onnxruntime sum s in another order and may rank them
      // the other way round: only such tied positions may be committed at different steps (issue 15, item 3).
      const { T, P, G } = a.dims;
      const tied = (t: typeof a, s: number, p: number) => t.confidence[s * G + p - P]! >= 1 - 1e-3;
      for (let s = 1; s <= a.dims.S; s++)
        for (let p = P; p < T; p++)
          if (a.state[s * T + p] !== b.state[s * T + p]) {
            // the engine predicts every position each step; the recorder the undecided ones (so: at its commit)
            expect(tied(b, s - 1, p) && tied(a, a.commitStep[p]! - 1, p), `step ${s}, position ${p}`).toBe(true);
            expect(a.state[a.dims.S * T + p]).toBe(b.state[b.dims.S * T + p]);
          }
      expect(Array.from(a.state.subarray(a.dims.S * T))).toEqual(Array.from(b.state.subarray(b.dims.S * T)));
      for (let p = P; p < T; p++) {
        const [ca, cb] = [a.commitStep[p]!, b.commitStep[p]!];
        if (ca !== cb) expect(tied(a, ca - 1, p) && tied(b, cb - 1, p), `commit of position ${p}`).toBe(true);
      }
      // The predictions agree on every step both decodes took from the same state.
      let same = 0;
      while (
        same <= a.dims.S &&
        a.state.subarray(same * T, (same + 1) * T).every((v, i) => v === b.state[same * T + i])
      )
        same++;
      const n = Math.min(same, a.dims.S) * G * a.dims.K;
      const [ia, ib] = [a.topkIds.full()!.subarray(0, n), b.topkIds.full()!.subarray(0, n)];
      const [pa, pb] = [a.topkProbs.full()!.subarray(0, n), b.topkProbs.full()!.subarray(0, n)];
      expect(n).toBeGreaterThan(0);
      let worst = 0;
      let compared = 0;
      for (let i = 0; i < n; i++) {
        if (ia[i] === -1) continue; // the recorder predicts undecided positions only (rows='undecided')
        compared++;
        if (ia[i] === ib[i]) worst = Math.max(worst, Math.abs(pa[i]! - pb[i]!));
        else expect(Math.abs(pa[i]! - pb[i]!)).toBeLessThan(1e-3); // a tie in the tail: equal probabilities
      }
      expect(worst).toBeLessThan(1e-3);
      expect(compared).toBeGreaterThanOrEqual(G * a.dims.K); // at least the first step's, where all are undecided
      expect(a.manifest.output).toBe(b.manifest.output);
      // dlens info and the independent numpy reader open it.
      const info = await dlens(['info', py, '--json']);
      expect(info.code).toBe(0);
      expect(JSON.parse(info.stdout).manifest.source.kind).toBe('python');
      const check = await python(['test/check_trace.py', py]);
      expect(check.stderr).toBe('');
      expect(JSON.parse(check.stdout)).toMatchObject({ source: 'python', steps: 32, complete: true });
    });
  }

  it('Ctrl+C inside the recorder leaves a valid partial trace', async () => {
    const ids = model.encode(model.card.prompt_template.replace('{prompt}', task('sort', 0).prompt));
    const out = join(dir, 'partial.dlens');
    const r = await python(
      ['test/support/record_tiny.py', CKPT, JSON.stringify(ids), '32', '32', '32', out, '--interrupt-at', '9'],
      { torch: true },
    );
    expect(r.code).toBe(130);
    const t = readTrace(readFileSync(out));
    expect(t.manifest.complete).toBe(false);
    expect(t.manifest.incomplete_reason).toMatch(/Ctrl\+C/);
    expect(t.dims.S).toBe(8); // 9 forward calls seen; the 9th's result never came
    expect((await python(['test/check_trace.py', out])).code).toBe(0);
  });
});
