import { describe, it, expect } from 'vitest';
import { checkCardAgainstGraph, checkOptionalIo, type ValueMeta } from '../../engine/model/contract.js';

const rows: ValueMeta = { name: 'lens_rows', type: 'int64', shape: ['R'] };
const lensIds: ValueMeta = { name: 'lens_ids', type: 'int64', shape: [6, 'R'] };
const lensProbs: ValueMeta = { name: 'lens_probs', type: 'float32', shape: [6, 'R'] };

describe('model contract: optional inputs and outputs', () => {
  it.each([
    ['none', [], [], []],
    ['the logit lens, whole', [rows], [lensIds, lensProbs], []],
    ['key_scores', [], [{ name: 'key_scores', type: 'float32', shape: [6, 'B', 'CQ'] }], []],
    ['lens outputs without lens_rows', [], [lensIds, lensProbs], ['the logit lens: missing input "lens_rows"']],
    ['half of the lens outputs', [rows], [lensIds], ['the logit lens: missing output "lens_probs"']],
    [
      'lens ids as floats',
      [rows],
      [{ ...lensIds, type: 'float32' }, lensProbs],
      ['output "lens_ids" is float32, the contract needs int64'],
    ],
    ['lens probabilities of rank 3', [rows], [lensIds, { ...lensProbs, shape: [6, 'B', 'Q'] }], ['has rank 3']],
  ] as [string, ValueMeta[], ValueMeta[], string[]][])('%s', (_, inputs, outputs, problems) => {
    const got = checkOptionalIo(inputs, outputs);
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
