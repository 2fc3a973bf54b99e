import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { loadModel, type LoadedModel } from '../../engine/model/load.js';
import { referencePrompts } from '../reference/prompts.js';
import { compareRun, readGoldens, summaryTable, type RunComparison } from '../reference/compare.js';

/**
 * dlens decodes as the papers' own code decodes (issue 15; docs/fidelity.md). The goldens are what LLaDA's
 * generate.py, Fast-dLLM's llada/generate.py (threshold and factor; no, prefix and dual cache) and Sparse-dLLM's
 * llada_generate.py with its CustomCache decoded on dlens-tiny, run unchanged by test/reference/make_goldens.py. Every
 * output must be equal, and the content tokens committed in the same order wherever the reference's own
 * probabilities were not within 1e-6 of each other. `npm run bench:fidelity` prints the same comparison as a table.
 */
describe("decoding as the papers' reference code does", () => {
  const g = readGoldens();
  let model: LoadedModel;
  const rows: { config: string; runs: RunComparison[] }[] = [];
  beforeAll(async () => {
    model = await loadModel('dlens-tiny');
  });
  afterAll(async () => {
    if (rows.length) process.stderr.write(`${summaryTable(rows)}\n`);
    await model.release();
  });

  it('the goldens were made from the bundled model and the prompts the suites give today', () => {
    expect(g.model.sha256, 'dlens-tiny changed: remake the goldens (test/reference/make_goldens.py)').toBe(
      (model.card.training as { source?: { sha256?: string } }).source?.sha256,
    );
    expect(referencePrompts(model)).toEqual(g.prompts);
    expect(g.prompts.length).toBeGreaterThanOrEqual(20);
    expect(g.configs.map((c) => c.name)).toEqual([
      'llada-low-confidence',
      'fast-dllm-threshold-none',
      'fast-dllm-threshold-prefix',
      'fast-dllm-threshold-dual',
      'fast-dllm-factor-none',
      'fast-dllm-factor-prefix',
      'fast-dllm-factor-dual',
      'sparse-dllm',
    ]);
  });

  for (const config of g.configs)
    it(`${config.name}: same outputs, content tokens in the same order except the reference's ties`, async () => {
      const runs: RunComparison[] = [];
      for (const [i, run] of config.runs.entries())
        runs.push(await compareRun(model, g, config, run, g.prompts[i]!.ids));
      rows.push({ config: config.name, runs });
      const wrong = runs.filter((r) => !r.outputEqual || r.orderMismatches > r.excused);
      expect(
        wrong.map((r) => `${r.task}: output ${r.outputEqual ? 'equal' : 'differs'}; ${r.firstMismatch ?? ''}`),
      ).toEqual([]);
      // The same number of model calls: the same steps were taken.
      expect(runs.map((r) => r.nfe)).toEqual(runs.map((r) => r.refNfe));
    }, 120_000);
});
