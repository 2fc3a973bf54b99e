import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { loadModel, type LoadedModel } from '../../engine/model/load.js';
import { SUITES } from '../../engine/tasks/suites.js';
import { taskAt } from '../../engine/tasks/generate.js';

/** An answer longer than its suite's generation length can never be scored right, whatever the model does. */
describe('suite generation lengths hold every answer (dlens-tiny tokenizer)', () => {
  let tiny: LoadedModel;
  beforeAll(async () => {
    tiny = await loadModel();
  });
  afterAll(async () => {
    await tiny.release();
  });

  it.each(SUITES.filter((s) => s.kind !== 'text').map((s) => [s.name, s] as const))('%s', async (_name, suite) => {
    let longest = 0;
    for (const split of ['train', 'eval'] as const)
      for (let i = 0; i < 1500; i++) {
        const t = taskAt(suite.name, i, 424242, { split });
        longest = Math.max(longest, tiny.encode(t.reference).length);
      }
    expect(longest + 1).toBeLessThanOrEqual(suite.genLength); // + 1: the answer ends with EOS
    expect(longest).toBeGreaterThan(0);
  });
});
