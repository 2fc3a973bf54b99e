import { describe, it, expect } from 'vitest';
import type { StepView } from '../../engine/strategies/types.js';
import { editThreshold } from '../../engine/strategies/edit-threshold.js';
import { ebSampler } from '../../engine/strategies/eb-sampler.js';
import { prophet } from '../../engine/strategies/prophet.js';
import { remdm } from '../../engine/strategies/remdm.js';
import { resolveParams } from '../../engine/strategies/index.js';
import { parseSpec } from '../../engine/evaluate/run.js';

const MASK = 1,
  P = 4;

/**
 * A hand-made step over a block of generated positions P.. : `held` the tokens the sequence holds (MASK where masked),
 * `preds` each position's [top-1 token, its probability, top-2 probability, entropy].
 */
function view(held: number[], preds: [number, number, number, number][], o: Partial<StepView> = {}): StepView {
  const tokens = Int32Array.from([2, 5, 6, 3, ...held]);
  return {
    step: 0,
    blockStep: 0,
    blockStart: P,
    blockEnd: P + held.length,
    masked: held.flatMap((t, i) => (t === MASK ? [P + i] : [])),
    predictions: preds.map(([token, c, c2, e]) => ({
      token,
      confidence: c,
      entropy: e,
      topIds: new Int32Array([token, 9]),
      topProbs: new Float32Array([c, c2]),
    })),
    promptLength: P,
    scheduled: 1,
    stepsInBlock: held.length,
    random: held.map(() => 0),
    tokenText: (id) => `t${id}`,
    eosId: 0,
    blockLength: held.length,
    genLength: held.length,
    totalSteps: held.length,
    maskId: MASK,
    vocabSize: 100,
    tokens,
    held: null,
    noise: null,
    logits: null,
    ...o,
  };
}

describe('edit-threshold (SGLang joint_threshold)', () => {
  const p = resolveParams(editThreshold, { edit_threshold: 0.5 }) as never;
  it('commits masked positions above the threshold and edits committed tokens predicted otherwise above the edit threshold', () => {
    const d = editThreshold.decide(
      view(
        [MASK, 20, MASK, 30],
        [
          [10, 0.6, 0.1, 0.5],
          [21, 0.7, 0.1, 0.5], // held 20, predicted 21 at 0.7 > 0.5: edited
          [12, 0.4, 0.1, 0.5], // below 0.5: not committed
          [31, 0.4, 0.1, 0.5], // held 30, predicted 31 at 0.4: kept
        ],
      ),
      p,
      undefined,
    );
    expect(d.commit).toEqual([{ position: 4, token: 10 }]);
    expect(d.edit).toEqual([{ position: 5, token: 21 }]);
    expect(d.done).toBeUndefined();
  });
  it('ends the block at a pass that changes nothing, and after max_post_edit_steps passes once filled', () => {
    const filled = view(
      [20, 30],
      [
        [20, 0.9, 0.1, 0.1],
        [30, 0.9, 0.1, 0.1],
      ],
    );
    expect(editThreshold.decide(filled, p, undefined).done).toBe(true);
    const q = resolveParams(editThreshold, { edit_threshold: 0.5, max_post_edit_steps: 2 }) as never;
    const editing = view(
      [20, 30],
      [
        [21, 0.9, 0.1, 0.1],
        [30, 0.9, 0.1, 0.1],
      ],
    );
    let st = editThreshold.decide(editing, q, undefined);
    expect(st.edit).toHaveLength(1);
    st = editThreshold.decide(editing, q, st.state);
    expect(st.edit).toHaveLength(1);
    expect(editThreshold.decide(editing, q, st.state)).toMatchObject({ commit: [], done: true });
  });
});

describe('eb-sampler', () => {
  it('commits the lowest-entropy positions while the entropies before each sum to at most gamma', () => {
    const v = view(
      [MASK, MASK, MASK, MASK],
      [
        [10, 0.9, 0.1, 0.3],
        [11, 0.9, 0.1, 0.05],
        [12, 0.9, 0.1, 0.08],
        [13, 0.9, 0.1, 0.01],
      ],
    );
    // sorted: 0.01 (pos 7), 0.05 (5), 0.08 (6), 0.3 (4); sums before: 0, 0.01, 0.06, 0.14
    expect(ebSampler.decide(v, { gamma: 0.1 }, undefined).commit.map((c) => c.position)).toEqual([7, 5, 6]);
    expect(ebSampler.decide(v, { gamma: 0 }, undefined).commit.map((c) => c.position)).toEqual([7]);
  });
});

describe('prophet', () => {
  const p = resolveParams(prophet, { answer_start: 0, answer_length: 2 }) as never;
  it('commits every masked position when the answer region’s mean top-2 logit gap reaches the phase threshold', () => {
    const wide = view(
      [MASK, MASK, MASK],
      [
        [10, 0.999, 0.0001, 0.01], // gap ln(9990) = 9.2
        [11, 0.99, 0.001, 0.1], // gap 6.9; mean 8.05 >= 7.5 (early)
        [12, 0.5, 0.4, 1],
      ],
    );
    expect(prophet.decide(wide, p, undefined).commit.map((c) => c.position)).toEqual([4, 5, 6]);
    const narrow = view(
      [MASK, MASK, MASK],
      [
        [10, 0.9, 0.05, 0.1],
        [11, 0.9, 0.05, 0.1],
        [12, 0.95, 0.01, 0.1],
      ],
    );
    // mean gap ln 18 = 2.9 < 7.5: LLaDA's schedule, the most confident
    expect(prophet.decide(narrow, p, undefined).commit.map((c) => c.position)).toEqual([6]);
    // late in the decode (progress >= 0.67) the bar is 2.5: the same gaps now commit everything
    expect(prophet.decide({ ...narrow, step: 2 }, p, undefined).commit).toHaveLength(3);
  });
});

describe('remdm', () => {
  const p = resolveParams(remdm, { init_unmask_ratio: 0.5, unmask_k: 1, loop_steps: 1 }) as never;
  const preds: [number, number, number, number][] = [
    [10, 0.9, 0.1, 0.1],
    [11, 0.8, 0.1, 0.1],
  ];
  it('commits, then remasks the least likely committed token, commits again, and says when it is done', () => {
    // phase 1: one pass commits one token (0.5 of 2)
    expect(remdm.decide(view([MASK, MASK], preds), p, undefined).commit).toEqual([{ position: 4, token: 10 }]);
    // the loop: remask the committed token the model now gives the lowest probability
    const held = Float32Array.from([0.3, NaN]);
    const r = remdm.decide(view([10, MASK], preds, { step: 1, held }), p, undefined);
    expect(r).toMatchObject({ commit: [], remask: [4], state: 1 });
    // then commit as many as were remasked, most confident first
    expect(remdm.decide(view([MASK, MASK], preds, { step: 2 }), p, 1).commit).toEqual([{ position: 4, token: 10 }]);
    // the last phase commits the rest and ends the block
    expect(remdm.decide(view([10, MASK], preds, { step: 3 }), p, undefined)).toMatchObject({
      commit: [{ position: 5, token: 11 }],
      done: true,
    });
  });
  it('refuses a layout and a ratio its rule cannot run, in words', () => {
    expect(() => remdm.decide(view([MASK, MASK], preds, { genLength: 4 }), p, undefined)).toThrow(
      /whole generation as one block.*use --block-length 4/,
    );
    const odd = resolveParams(remdm, { init_unmask_ratio: 0.3 }) as never;
    expect(() => remdm.decide(view([MASK, MASK], preds), odd, undefined)).toThrow(/must be a whole multiple/);
  });
});

describe('bench strategy specs', () => {
  it('block=gen runs a strategy over the whole generation; other block values are refused', () => {
    expect(parseSpec('remdm@block=gen')).toMatchObject({ name: 'remdm', block: 'gen', params: {} });
    expect(() => parseSpec('remdm@block=32')).toThrow(/block takes one value, gen/);
  });
});

describe('edit-threshold pass limit', () => {
  it("ends a block after block size + max_post_edit_steps passes, as SGLang's loop does", () => {
    const q = resolveParams(editThreshold, { edit_threshold: 0.5, max_post_edit_steps: 1 }) as never;
    const v = view(
      [MASK, 20],
      [
        [10, 0.2, 0.1, 0.5],
        [21, 0.9, 0.1, 0.1],
      ],
    );
    expect(editThreshold.decide({ ...v, blockStep: 1 }, q, undefined).done).toBeUndefined();
    expect(editThreshold.decide({ ...v, blockStep: 2 }, q, undefined).done).toBe(true);
  });
});
