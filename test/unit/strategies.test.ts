import { describe, it, expect } from 'vitest';
import type { StepView } from '../../engine/strategies/types.js';
import { fastDllmThreshold } from '../../engine/strategies/fast-dllm-threshold.js';
import { fastDllmFactor } from '../../engine/strategies/fast-dllm-factor.js';
import { localLeap } from '../../engine/strategies/localleap.js';
import { adaBlock } from '../../engine/strategies/adablock.js';
import { creditDecoding } from '../../engine/strategies/credit.js';
import { ccd } from '../../engine/strategies/ccd.js';
import { learn2pd } from '../../engine/strategies/learn2pd.js';
import { dreamEntropy, dreamMaskgitPlus, dreamTopkMargin } from '../../engine/strategies/dream.js';
import { STRATEGIES, resolveParams } from '../../engine/strategies/index.js';
import { aup, parseSpec } from '../../engine/evaluate/run.js';
import { trainFilter, score } from '../../engine/learn/filter.js';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tmp } from '../helpers.js';

/** A hand-made step: block positions P.. with the given top-1 confidences (and optional tokens / top-2). */
function view(
  confs: number[],
  o: Partial<StepView> & { picks?: number[]; top2?: number[]; texts?: Record<number, string> } = {},
): StepView {
  const P = 10;
  const preds = confs.map((c, i) => {
    const tok = o.picks?.[i] ?? 100 + i;
    return {
      token: tok,
      confidence: c,
      entropy: 1 - c,
      topIds: new Int32Array([tok, 7]),
      topProbs: new Float32Array([c, o.top2?.[i] ?? (1 - c) / 2]),
    };
  });
  return {
    step: 0,
    blockStep: 0,
    blockStart: P,
    blockEnd: P + confs.length,
    masked: confs.map((_, i) => P + i),
    predictions: preds,
    promptLength: P,
    scheduled: 1,
    stepsInBlock: confs.length,
    random: confs.map(() => 0),
    tokenText: (id) => o.texts?.[id] ?? `w${id}`,
    eosId: 0,
    blockLength: confs.length,
    genLength: confs.length,
    totalSteps: confs.length,
    vocabSize: 4096,
    maskId: 1,
    tokens: new Int32Array(P + confs.length).fill(1),
    held: null,
    noise: null,
    logits: null,
    ...o,
  };
}
const positions = (d: { commit: { position: number }[] }) => d.commit.map((c) => c.position).sort((a, b) => a - b);

describe('Fast-dLLM rules', () => {
  it('threshold commits everything above it, or the single most confident', () => {
    expect(positions(fastDllmThreshold.decide(view([0.95, 0.5, 0.91, 0.2]), { threshold: 0.9 }, undefined))).toEqual([
      10, 12,
    ]);
    expect(positions(fastDllmThreshold.decide(view([0.3, 0.5, 0.4]), { threshold: 0.9 }, undefined))).toEqual([11]);
  });
  it('factor commits the n most confident while c_n >= 1 - f/(n+1); the reference rule adds a last lone failure', () => {
    // sorted: .99 .7 .6 .5 ; thresholds for n=2: 1 - 1/3 = .667 (pass), n=3: 1 - 1/4 = .75 (.6 fails, not last)
    for (const rule of ['reference', 'paper'])
      expect(positions(fastDllmFactor.decide(view([0.6, 0.99, 0.5, 0.7]), { factor: 1, rule }, undefined))).toEqual([
        11, 13,
      ]);
    // a larger factor lowers every bar: n=3 needs .5, n=4 needs .6 (.55 fails, and it is the last candidate):
    // Fast-dLLM's code leaves top_i at the last index and adds one, committing all four; the stated rule three.
    const lastFails = view([0.6, 0.99, 0.55, 0.7]);
    expect(positions(fastDllmFactor.decide(lastFails, { factor: 2, rule: 'reference' }, undefined))).toEqual([
      10, 11, 12, 13,
    ]);
    expect(positions(fastDllmFactor.decide(lastFails, { factor: 2, rule: 'paper' }, undefined))).toEqual([10, 11, 13]);
    // a tie with the bar passes (the reference breaks on c < bar): n=2 needs exactly 1 - 1/3
    expect(
      positions(fastDllmFactor.decide(view([0.9, 1 - 1 / 3, 0.1]), { factor: 1, rule: 'paper' }, undefined)),
    ).toEqual([10, 11]);
  });
});

describe('LocalLeap', () => {
  it('commits anchors and relaxed positions within the radius only, and records them', () => {
    const d = localLeap.decide(
      view([0.95, 0.75, 0.2, 0.2, 0.75, 0.8]),
      { anchor_threshold: 0.9, local_threshold: 0.7, radius: 2 },
      undefined,
    );
    expect(positions(d)).toEqual([10, 11]); // 14 and 15 clear the relaxed bar but are 4+ away from the anchor at 10
    expect(Array.from(d.series!.anchor!.subarray(0, 6))).toEqual([1, 0.5, NaN, NaN, NaN, NaN]);
  });
  it('falls back to the most confident position without anchors', () => {
    expect(
      positions(
        localLeap.decide(view([0.5, 0.85, 0.6]), { anchor_threshold: 0.9, local_threshold: 0.7, radius: 2 }, undefined),
      ),
    ).toEqual([11]);
  });
});

describe('AdaBlock', () => {
  const p = { threshold: 0.9, delimiter_threshold: 0.3, delimiters: 'punct+newline', window: 0.25 };
  it('ends the block after the most confident predicted delimiter inside the window', () => {
    const v = view([0.9, 0.5, 0.2, 0.6, 0.9, 0.9, 0.9, 0.9, 0.9, 0.9, 0.9, 0.9, 0.9, 0.9, 0.9, 0.9], {
      picks: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16],
      texts: { 2: ',', 4: '.', 16: '.' },
      blockLength: 8,
    });
    // window = 25 % of 16 = 4 positions (10..13): delimiters at 11 (.5) and 13 (.6) -> end after 13
    expect(adaBlock.blockEnd!(v, p)).toBe(14);
  });
  it('keeps the default length when no delimiter is confident enough', () => {
    const v = view([0.9, 0.2, 0.9, 0.9], { picks: [1, 2, 3, 4], texts: { 2: '.' }, blockLength: 2, genLength: 16 });
    expect(adaBlock.blockEnd!(v, p)).toBe(12);
  });
});

describe('CreditDecoding', () => {
  it('accumulates credit across steps so a steady but unsure prediction gets committed', () => {
    const p = { threshold: 0.6, alpha: 1, decay: 1, gamma: 1 };
    const v = view([0.5, 0.3]);
    let st = creditDecoding.initState!(p);
    const d1 = creditDecoding.decide(v, p, st);
    expect(positions(d1)).toEqual([10]); // nothing passes: the best alone
    st = d1.state!;
    const v2 = view([0.55, 0.5], { masked: [11] }); // position 11 steady at 0.5 for a second step
    v2.masked = [11];
    const d2 = creditDecoding.decide(v2, p, st);
    // credit of 11's token: .3 + .5 = .8 -> fused .5 * 1.8 / (.5 * 1.8 + .25 + .25) = .64 > .6
    expect(positions(d2)).toEqual([11]);
    expect(d2.series!.credit![1]).toBeCloseTo(0.8, 5);
  });
});

describe('CCD', () => {
  it('commits positions whose prediction agrees with the previous step beyond the schedule, else the schedule', () => {
    const p = { expand_ratio: 4 };
    const s0 = ccd.initState!(p);
    const d0 = ccd.decide(view([0.9, 0.8, 0.7, 0.6], { blockStep: 0 }), p, s0);
    expect(positions(d0)).toEqual([10]);
    const v1 = view([0.9, 0.8, 0.7, 0.6], { blockStep: 1 });
    v1.masked = [11, 12, 13];
    const d1 = ccd.decide(v1, p, d0.state!); // buffer had 11 (size 1): 11 agrees -> committed through agreement
    expect(positions(d1)).toEqual([11]);
    const v2 = view([0.9, 0.8, 0.7, 0.6], { blockStep: 2, picks: [100, 101, 999, 103] });
    v2.masked = [12, 13];
    // the buffer grew to 2 (12 and 13); 12 changed its token, 13 did not: 13 is committed through agreement even
    // though 12 is more confident, and 12 stays in the buffer
    const d2 = ccd.decide(v2, p, d1.state!);
    expect(positions(d2)).toEqual([13]);
    expect(d2.series!.ccd_buffer![3]).toBe(2);
    expect(d2.series!.ccd_buffer![2]).toBe(1);
    const v3 = view([0.9, 0.8, 0.7, 0.6], { blockStep: 3, picks: [100, 101, 555, 103] });
    v3.masked = [12];
    // under 10 % left? no: 1 of 4; 12 changed again -> schedule
    expect(positions(ccd.decide(v3, p, d2.state!))).toEqual([12]);
  });
});

describe('Learn2PD filter', () => {
  it('learns that confident, stable positions are final and commits by it', () => {
    const x: number[][] = [],
      y: number[] = [];
    for (let i = 0; i < 200; i++) {
      const c = i / 200;
      x.push([c, c / 2, 1 - c, c > 0.5 ? 1 : 0, 0.5]);
      y.push(c > 0.6 ? 1 : 0);
    }
    const f = trainFilter(x, y, 1);
    expect(f.train_accuracy).toBeGreaterThan(0.9);
    expect(score(f, [0.95, 0.5, 0.05, 1, 0.5])).toBeGreaterThan(0.9);
    expect(score(f, [0.2, 0.1, 0.8, 0, 0.5])).toBeLessThan(0.1);
    const file = join(tmp(), 'f.json');
    writeFileSync(file, JSON.stringify(f));
    const p = { filter: file, threshold: 0.9 };
    const d = learn2pd.decide(view([0.97, 0.2, 0.96]), p, learn2pd.initState!(p));
    expect(positions(d)).toEqual([10, 12]);
  });
  it('refuses a missing or malformed filter with what to do', () => {
    expect(() => learn2pd.initState!({ filter: '', threshold: 0.9 })).toThrow(/dlens learn --traces DIR/);
    const bad = join(tmp(), 'bad.json');
    writeFileSync(bad, '{"format":"x"}');
    expect(() => learn2pd.initState!({ filter: bad, threshold: 0.9 })).toThrow(/not a dlens filter/);
  });
});

describe('strategy registry and AUP', () => {
  it('every strategy names its paper, has defaults inside its ranges, and is reachable by name', () => {
    for (const s of STRATEGIES) {
      expect(s.paper.length).toBeGreaterThan(10);
      const p = resolveParams(s, {});
      for (const [k, spec] of Object.entries(s.params))
        if (typeof spec.default === 'number') {
          if (spec.min !== undefined) expect(p[k]).toBeGreaterThanOrEqual(spec.min);
          if (spec.max !== undefined) expect(p[k]).toBeLessThanOrEqual(spec.max);
        }
    }
    expect(STRATEGIES.map((s) => s.name)).toEqual([
      'low-confidence',
      'random',
      'fast-dllm-threshold',
      'fast-dllm-factor',
      'localleap',
      'adablock',
      'credit',
      'learn2pd',
      'ccd',
      'freedave',
      'entropy',
      'maskgit_plus',
      'topk_margin',
      'edit-threshold',
      'eb-sampler',
      'prophet',
      'pc-sampler',
      'remdm',
      'renoise',
    ]);
    expect(() => resolveParams(fastDllmThreshold as never, { threshold: 0 })).toThrow(/out of range/);
  });
  it('AUP rewards parallelism only while accuracy holds', () => {
    expect(
      aup(
        [
          { tpf: 1, accuracy: 0.8 },
          { tpf: 5, accuracy: 0.8 },
        ],
        0.8,
      ),
    ).toBeCloseTo(3.2, 6);
    // the same speed bought with a 20-point loss is discounted by exp(-3 * 0.25)
    expect(
      aup(
        [
          { tpf: 1, accuracy: 0.8 },
          { tpf: 5, accuracy: 0.6 },
        ],
        0.8,
      ),
    ).toBeCloseTo((4 * (0.8 + 0.6 * Math.exp(-0.75))) / 2, 6);
  });
  it('bench specs give steps, tokens per step, eot and strategy parameters, and refuse the malformed', () => {
    expect(parseSpec('low-confidence@tps=4')).toMatchObject({ name: 'low-confidence', tps: 4, steps: undefined });
    expect(parseSpec('fast-dllm-threshold@threshold=0.5,steps=8,eot=true')).toMatchObject({
      params: { threshold: '0.5' },
      steps: 8,
      eot: true,
    });
    expect(() => parseSpec('low-confidence@tps=0')).toThrow(/whole number/);
    expect(() => parseSpec('low-confidence@steps=8,tps=4')).toThrow(/not both/);
    expect(() => parseSpec('low-confidence@tps')).toThrow(/NAME@key=value/);
  });
});

describe("Dream's sampling rules", () => {
  it("follow Dream's schedule: int(masked x (1 - s/t)) per step, none at first, all at the last step", () => {
    const v = (blockStep: number) => view([0.2, 0.9, 0.5, 0.95], { blockStep, stepsInBlock: 4 });
    const p = { alg_temp: 0, eps: 1e-3 };
    expect(positions(dreamMaskgitPlus.decide(v(0), p, undefined))).toEqual([]); // int(4 x 0.24975) = 0
    expect(positions(dreamMaskgitPlus.decide(v(1), p, undefined))).toEqual([13]); // int(4 x 0.3329) = 1
    expect(positions(dreamMaskgitPlus.decide(v(3), p, undefined))).toEqual([10, 11, 12, 13]);
  });

  it('rank by top-1 probability, by the top-1 minus top-2 margin, or by low entropy', () => {
    const v = view([0.6, 0.5, 0.3], { stepsInBlock: 2, top2: [0.39, 0.1, 0.2] });
    [0.9, 0.8, 0.1].forEach((e, i) => (v.predictions[i]!.entropy = e));
    const p = { alg_temp: 0, eps: 1e-3 }; // int(3 x 0.4995) = 1 position this step
    expect(positions(dreamMaskgitPlus.decide(v, p, undefined))).toEqual([10]);
    expect(positions(dreamTopkMargin.decide(v, p, undefined))).toEqual([11]); // margins .21 .40 .10
    expect(positions(dreamEntropy.decide(v, p, undefined))).toEqual([12]);
    const margins = Array.from(dreamTopkMargin.decide(v, p, undefined).series!.dream_topk_margin!.subarray(0, 3));
    [0.21, 0.4, 0.1].forEach((m, i) => expect(margins[i]).toBeCloseTo(m, 6));
  });

  it('with alg_temp draw positions from softmax(confidence / alg_temp), here by the step’s random draws', () => {
    const v = view([0.6, 0.5, 0.3], { stepsInBlock: 2, random: [0.1, 0.99, 0.5] });
    expect(positions(dreamMaskgitPlus.decide(v, { alg_temp: 1e6, eps: 1e-3 }, undefined))).toEqual([11]);
    expect(positions(dreamMaskgitPlus.decide(v, { alg_temp: 0, eps: 1e-3 }, undefined))).toEqual([10]);
  });
});
