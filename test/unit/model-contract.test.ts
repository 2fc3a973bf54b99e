import { describe, it, expect } from 'vitest';
import { checkCardAgainstGraph, checkOptionalOutputs, type ValueMeta } from '../../engine/model/contract.js';

const lensIds: ValueMeta = { name: 'lens_ids', type: 'int64', shape: [6, 'B', 'Q'] };
const lensProbs: ValueMeta = { name: 'lens_probs', type: 'float32', shape: [6, 'B', 'Q'] };

describe('model contract: optional outputs', () => {
  it.each([
    ['none', [], []],
    ['the logit lens, both outputs', [lensIds, lensProbs], []],
    ['key_scores', [{ name: 'key_scores', type: 'float32', shape: [6, 'B', 'CQ'] }], []],
    ['half of the lens', [lensIds], ['needs both outputs "lens_ids" and "lens_probs"']],
    [
      'lens ids as floats',
      [{ ...lensIds, type: 'float32' }, lensProbs],
      ['output "lens_ids" is float32, the contract needs int64'],
    ],
    ['lens probabilities of rank 2', [lensIds, { ...lensProbs, shape: ['B', 'Q'] }], ['has rank 2']],
  ] as [string, ValueMeta[], string[]][])('%s', (_, outputs, problems) => {
    const got = checkOptionalOutputs(outputs);
    expect(got.length).toBe(problems.length);
    problems.forEach((p, i) => expect(got[i]).toContain(p));
  });

  it('a lens with another number of layers than the card is refused', () => {
    const card = { num_layers: 4, num_heads: 4, head_dim: 64, vocab_size: 10 };
    expect(checkCardAgainstGraph(card, [], [lensIds, lensProbs])).toEqual([
      'dlens-model.json says num_layers 4, but the graph has 6 (lens_ids dimension 0)',
    ]);
  });
});
