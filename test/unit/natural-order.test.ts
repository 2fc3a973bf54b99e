import { describe, it, expect } from 'vitest';
import { naturalCompare } from '../../renderer/src/lib/natural-order.js';

// The Set view sorts sample ids with naturalCompare instead of the collator (10,000 ids: a few ms instead of tens);
// it must order every pair as the collator does.
describe('natural order of sample ids', () => {
  const collate = new Intl.Collator(undefined, { numeric: true }).compare;
  const compare = naturalCompare();
  const sign = (x: number) => Math.sign(x);
  it.each([
    ['gsm8k:2:0', 'gsm8k:10:0'],
    ['gsm8k:10:0', 'gsm8k:1:0'],
    ['gsm8k:1:5', 'gsm8k:10:2'],
    ['gsm8k:7:0', 'gsm8k:007:0'],
    ['GSM8K:3:0', 'gsm8k:2:0'],
    ['GSM8K:3:0', 'gsm8k:3:0'],
    ['arc_easy:20:0', 'Arc-Easy:5:0'],
    ['humaneval:1:0', 'gsm8k:99:0'],
    ['a1', 'a1b'],
    ['x:1', 'x:1:2'],
    ['', 'a'],
  ])('%s against %s', (a, b) => {
    expect(sign(compare(a, b))).toBe(sign(collate(a, b)));
    expect(sign(compare(b, a))).toBe(sign(collate(b, a)));
  });
  it('agrees with the collator on 20,000 random pairs of id-like strings', () => {
    const parts = ['gsm', 'Gsm', 'GSM', 'k', ':', '_', '-', '0', '1', '9', '10', '007', '12', 'é', 'e', 'a'];
    let seed = 7;
    const rand = () => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
    const id = () =>
      Array.from({ length: 1 + Math.floor(rand() * 6) }, () => parts[Math.floor(rand() * parts.length)]).join('');
    let disagreements = 0;
    for (let n = 0; n < 20_000; n++) {
      const a = id(),
        b = rand() < 0.5 ? id() : a.slice(0, Math.floor(rand() * a.length)) + id();
      if (sign(compare(a, b)) !== sign(collate(a, b))) disagreements++;
    }
    expect(disagreements).toBe(0);
  });
});
