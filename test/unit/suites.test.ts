import { describe, it, expect } from 'vitest';
import { taskAt } from '../../engine/tasks/generate.js';
import { getSuite } from '../../engine/tasks/suites.js';

const instances = (suite: string, n = 300) =>
  Array.from({ length: n }, (_, i) => taskAt(suite, i, 424242, { split: 'eval' }));

describe('the dependent-token suites (issue 19)', () => {
  it('arith: every written step is right, each starts from the result before it, the answer is the last result', () => {
    for (const t of instances('arith')) {
      const parts = t.reference.split('; ');
      const answer = /^answer (\d+)$/.exec(parts.pop()!)![1];
      let prev: number | null = null;
      for (const p of parts) {
        const [, a, op, b, r] = /^(\d+) ([+*]) (\d+) = (\d+)$/.exec(p)!.map(String);
        const [x, y] = [Number(a), Number(b)];
        expect(Number(r)).toBe(op === '+' ? x + y : x * y);
        if (prev !== null) expect(x).toBe(prev);
        prev = Number(r);
      }
      expect(parts.length).toBe(2);
      expect(String(prev)).toBe(answer);
      expect(getSuite('arith').score(t.reference, t)).toBe(1);
      expect(getSuite('arith').score(t.reference.replace(/answer \d+$/, 'answer 99999'), t)).toBe(0);
    }
  });

  it('carry: 5-15 digits, the sum is right and its carry runs through at least three digits from the lowest', () => {
    const lengths = new Set<number>();
    for (const t of instances('carry')) {
      const [, a, b] = /^Sum: (\d+) \+ (\d+)$/.exec(t.prompt)!;
      expect(t.reference).toBe(String(BigInt(a!) + BigInt(b!)));
      lengths.add(Math.max(a!.length, b!.length));
      const da = [...a!].reverse().map(Number),
        db = [...b!].reverse().map(Number);
      let carry = 0,
        chain = 0;
      for (let d = 0; d < da.length; d++) {
        carry = da[d]! + (db[d] ?? 0) + carry >= 10 ? 1 : 0;
        if (!carry) break;
        chain++;
      }
      expect(chain).toBeGreaterThanOrEqual(3);
    }
    expect(Math.min(...lengths)).toBe(5);
    expect(Math.max(...lengths)).toBe(15);
  });

  it('choose: any K distinct words of the list are right; a repeat, a stranger or another count is not', () => {
    const choose = getSuite('choose');
    for (const t of instances('choose', 50)) {
      const { k, items } = t.checker as { k: number; items: string[] };
      expect(choose.score(t.reference, t)).toBe(1);
      expect(choose.score([...items].reverse().slice(0, k).join(' '), t)).toBe(1);
      expect(choose.score([items[0], ...items.slice(0, k - 1)].join(' '), t)).toBe(0);
      expect(choose.score([...items.slice(0, k - 1), 'zebra'].join(' '), t)).toBe(0);
      expect(choose.score(items.slice(0, k + 1).join(' '), t)).toBe(0);
    }
  });
});
