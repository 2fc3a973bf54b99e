import { describe, it, expect } from 'vitest';
import { kendallTauB, spearmanRho } from '../../engine/metrics/rank.js';
import {
  decodingOrder,
  detectFailures,
  divergence,
  firstCorrectLayerRow,
  lensSummary,
  type DetectorId,
} from '../../engine/metrics/index.js';
import { handTrace, V, type HandDecode } from '../support/hand-trace.js';

const findings = (d: HandDecode, id: DetectorId) => detectFailures(handTrace(d)).find((r) => r.id === id)!;
const { a, b, c, comma, eos } = V;

describe('rank correlations (as scipy.stats)', () => {
  it('gives tau-b and rho with ties as scipy does', () => {
    // scipy.stats.kendalltau([1,2,3,3],[2,1,3,3]) = 0.6; spearmanr = 0.7778
    expect(kendallTauB([1, 2, 3, 3], [2, 1, 3, 3])).toBeCloseTo(0.6, 10);
    expect(spearmanRho([1, 2, 3, 3], [2, 1, 3, 3])).toBeCloseTo(7 / 9, 10);
    expect(kendallTauB([1, 2, 3], [3, 2, 1])).toBe(-1);
    expect(kendallTauB([1, 1, 1], [1, 2, 3])).toBeNaN();
  });

  it('gives the pair-by-pair tau-b on random ranks with many ties (the O(n log n) count is exact)', () => {
    const byPairs = (x: number[], y: number[]) => {
      let c = 0,
        d = 0,
        tx = 0,
        ty = 0;
      for (let i = 0; i < x.length; i++)
        for (let j = i + 1; j < x.length; j++) {
          const p = Math.sign(x[j]! - x[i]!),
            q = Math.sign(y[j]! - y[i]!);
          if (p === 0 && q === 0) continue;
          if (p === 0) tx++;
          else if (q === 0) ty++;
          else if (p === q) c++;
          else d++;
        }
      return (c - d) / Math.sqrt((c + d + tx) * (c + d + ty));
    };
    let seed = 11;
    const rand = (m: number) => (seed = (seed * 1103515245 + 12345) % 2147483648) % m;
    for (let t = 0; t < 200; t++) {
      const n = 1 + rand(60),
        levels = 1 + rand(12);
      const x = Array.from({ length: n }, () => rand(levels)),
        y = Array.from({ length: n }, () => rand(levels));
      const want = byPairs(x, y);
      if (Number.isNaN(want)) expect(kendallTauB(x, y)).toBeNaN();
      else expect(kendallTauB(x, y)).toBeCloseTo(want, 12);
    }
  });
});

describe('decoding order', () => {
  it('is 1 left to right, -1 right to left, per block and overall', () => {
    const ltr = decodingOrder(handTrace({ tokens: [a, b, c, a], commits: [0, 1, 2, 3] }));
    expect(ltr.overall.answer.kendall).toBe(1);
    expect(ltr.overall.all.spearman).toBeCloseTo(1, 12);
    const rtl = decodingOrder(handTrace({ tokens: [a, b, c, a], commits: [3, 2, 1, 0] }));
    expect(rtl.overall.answer.kendall).toBe(-1);
    // two blocks of two, each decoded right to left: overall still mostly left to right
    const blocks = decodingOrder(
      handTrace({ tokens: [a, b, c, a], commits: [1, 0, 3, 2], block: (s) => (s < 2 ? [1, 3] : [3, 5]) }),
    );
    expect(blocks.blocks.map((x) => x.kendall)).toEqual([-1, -1]);
    expect(blocks.meanBlock.kendall).toBe(-1);
    expect(blocks.overall.all.kendall).toBeCloseTo(1 / 3, 10);
  });
  it('counts the answer without the EOS padding (ParallelBench ignore_pad)', () => {
    const o = decodingOrder(handTrace({ tokens: [a, b, eos, eos], commits: [2, 3, 0, 1] }));
    expect(o.overall.answer).toMatchObject({ kendall: 1, positions: 2 });
    expect(o.overall.all.kendall).toBeLessThan(0);
  });
});

describe('EOS flood', () => {
  it('flags an empty answer', () => {
    const r = findings({ tokens: [eos, eos, eos], commits: [0, 1, 2] }, 'eos-flood');
    expect(r.findings[0]).toMatchObject({ step: 0, positions: [1] });
  });
  it('flags EOS committed unsure across a span ahead of the text, not EOS committed sure or after it', () => {
    const decode = { tokens: [a, b, c, a, eos, eos, eos, eos], commits: [1, 2, 3, 4, 0, 0, 0, 0] };
    const early = findings({ ...decode, confidence: (s, g) => (g === 5 ? 0.6 : 1) }, 'eos-flood');
    expect(early.findings.map((f) => [f.step, f.positions])).toEqual([[0, [5, 6, 7, 8]]]);
    expect(findings({ ...decode, confidence: () => 1 }, 'eos-flood').findings).toEqual([]);
    const late = findings({ tokens: [a, b, c, a, eos, eos, eos, eos], commits: [0, 1, 2, 3, 4, 4, 4, 4] }, 'eos-flood');
    expect(late.findings).toEqual([]);
  });
  it('flags EOS dominating the predictions where the answer has text', () => {
    const r = findings(
      {
        tokens: [a, b, eos, eos],
        commits: [0, 1, 2, 3],
        top1: (s, g) => (s === 1 ? eos : s <= g ? [a, b, eos, eos][g]! : -1),
      },
      'eos-flood',
    );
    expect(r.findings).toHaveLength(1);
    expect(r.findings[0]).toMatchObject({ step: 1, positions: [2] });
  });
});

describe('repetition', () => {
  it('flags a token four times in a row and an n-gram three times, not less', () => {
    expect(findings({ tokens: [b, a, a, a, a], commits: [0, 1, 2, 3, 4] }, 'repetition').findings[0]).toMatchObject({
      step: 4,
      positions: [2, 3, 4, 5],
    });
    expect(
      findings({ tokens: [a, b, a, b, a, b], commits: [5, 4, 3, 2, 1, 0] }, 'repetition').findings[0],
    ).toMatchObject({
      step: 5,
      positions: [1, 2, 3, 4, 5, 6],
    });
    expect(findings({ tokens: [a, a, a, b, a, b], commits: [0, 1, 2, 3, 4, 5] }, 'repetition').findings).toEqual([]);
  });
  it("leaves out a loop the task's reference holds too (a sum's run of zeros is the right answer)", () => {
    const loop = { tokens: [b, a, a, a, a], commits: [0, 1, 2, 3, 4] };
    expect(findings({ ...loop, reference: 'baaaa' }, 'repetition').findings).toEqual([]);
    expect(findings({ ...loop, reference: 'baaa' }, 'repetition').findings).toHaveLength(1);
  });
  it('looks at the answer only, not the EOS padding', () => {
    expect(
      findings({ tokens: [a, b, eos, eos, eos, eos, eos], commits: [0, 1, 2, 3, 4, 5, 6] }, 'repetition').findings,
    ).toEqual([]);
  });
});

describe('premature commit', () => {
  it('flags a token that was not top-1 the step before its commit', () => {
    const r = findings(
      { tokens: [a, b], commits: [0, 2], top1: (s, g) => (g === 1 && s === 1 ? c : s <= [0, 2][g]! ? [a, b][g]! : -1) },
      'premature-commit',
    );
    expect(r.findings).toHaveLength(1);
    expect(r.findings[0]).toMatchObject({ step: 2, positions: [2], sign: 'not-top1-before' });
  });
  it('flags a token the last prediction after it contradicts', () => {
    const r = findings(
      { tokens: [a, b], commits: [0, 1], S: 3, top1: (s, g) => (g === 0 && s === 2 ? c : s <= g ? [a, b][g]! : -1) },
      'premature-commit',
    );
    expect(r.findings).toHaveLength(1);
    expect(r.findings[0]).toMatchObject({ step: 2, positions: [1], sign: 'contradicted' });
  });
  it('finds nothing when predictions stand, and cannot judge a trace without predictions', () => {
    expect(findings({ tokens: [a, b], commits: [0, 1] }, 'premature-commit').findings).toEqual([]);
    expect(findings({ tokens: [a, b], commits: [0, 1], noTopk: true }, 'premature-commit').notApplicable).toMatch(
      /no top-k/,
    );
  });
});

describe('stall', () => {
  it('flags three forced steps in a row, not two', () => {
    const d = { tokens: [a, b, c, a], commits: [0, 1, 2, 3] };
    expect(findings({ ...d, forced: [1, 1, 1, 0] }, 'stall').findings[0]).toMatchObject({
      step: 0,
      positions: [1, 2, 3],
    });
    expect(findings({ ...d, forced: [1, 1, 0, 1] }, 'stall').findings).toEqual([]);
    expect(findings(d, 'stall').notApplicable).toMatch(/schedule/);
  });
});

describe('lock-in', () => {
  // position 3 (g 2) is a comma committed first; at the next step neighbour g 3 switches from b to its final c
  const tokens = [a, b, comma, c, a];
  const commits = [2, 3, 0, 1, 4];
  it('flags punctuation committed ahead of its text that a neighbour then follows', () => {
    const top1 = (s: number, g: number) => (s > commits[g]! ? -1 : g === 3 && s === 0 ? b : tokens[g]!);
    const r = findings({ tokens, commits, top1 }, 'lock-in');
    expect(r.findings).toHaveLength(1);
    expect(r.findings[0]).toMatchObject({ step: 0, positions: [3, 4] });
  });
  it('does not flag it when no neighbour changes its prediction', () => {
    expect(findings({ tokens, commits }, 'lock-in').findings).toEqual([]);
  });
});

describe('divergence', () => {
  const base = { tokens: [a, b, c], commits: [0, 1, 2] };
  it('finds the step where states, decisions and predictions part, with both sides there', () => {
    const other = handTrace({ tokens: [a, c, c], commits: [0, 1, 2], top1: (s, g) => (s <= g ? [a, c, c][g]! : -1) });
    const d = divergence(handTrace(base), other);
    expect(d.states).toMatchObject({ step: 2, count: 1 });
    expect(d.decisions?.step).toBe(2);
    expect(d.predictions?.step).toBe(0);
    expect(d.predictions?.positions[0]).toMatchObject({
      position: 2,
      a: { candidates: [{ text: 'b' }] },
      b: { candidates: [{ text: 'c' }] },
    });
    expect(d.finalDiffers).toEqual([2]);
    expect(d.first).toBe(0);
  });
  it('tells a different pace from different content', () => {
    const faster = handTrace({ tokens: [a, b, c], commits: [0, 0, 1] });
    const d = divergence(handTrace(base), faster);
    expect(d.states?.step).toBe(1);
    expect(d.decisions).toBeNull();
    expect(d.finalDiffers).toEqual([]);
  });
  it('refuses traces of different prompts', () => {
    expect(divergence(handTrace(base), handTrace({ ...base, P: 2 })).incomparable).toMatch(/different prompts/);
  });
  it('works without predictions (imports that record none)', () => {
    const d = divergence(handTrace({ ...base, noTopk: true }), handTrace(base));
    expect(d.predictions).toBeNull();
    expect(d.states).toBeNull();
  });
});

describe('logit lens', () => {
  it('finds the first layer whose top-1 is the final token, none past the last, nothing where not computed', () => {
    // 3 layers x 4 positions; finals a b c a
    const row = Int32Array.from([
      ...[V.a, V.c, -1, V.b], // layer 1
      ...[V.a, V.b, -1, V.b], // layer 2
      ...[V.b, V.b, -1, V.b], // layer 3
    ]);
    expect(Array.from(firstCorrectLayerRow(row, [V.a, V.b, V.c, V.a], 3, 4))).toEqual([1, 2, NaN, 4]);
  });

  it('summarises, at each answer token’s commit step, how deep the model had to go', () => {
    // a b c committed at steps 0, 1, 2; the final token appears at layer 3, 2 and 1 of the commit step's lens
    const t = handTrace({
      tokens: [V.a, V.b, V.c],
      commits: [0, 1, 2],
      lens: { layers: 3, top1: (s, l, g) => (l >= 2 - s && g === s ? [V.a, V.b, V.c][g]! : V.comma) },
    });
    expect(lensSummary(t)).toEqual({
      layers: 3,
      commits: 3,
      meanFirstLayer: 2,
      medianFirstLayer: 2,
      fromFirstLayer: 1 / 3,
      never: 0,
    });
    expect(lensSummary(handTrace({ tokens: [V.a], commits: [0] }))).toBeUndefined();
  });
});
