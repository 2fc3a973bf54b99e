import { DlensError } from '../errors.js';
import type { Rng } from '../util/rng.js';
import { hash32 } from '../util/rng.js';
import type { Suite, TaskInstance, SuiteContext } from './types.js';
import { NOUNS, KEY_SYLLABLES } from './words.js';

const norm = (s: string) => s.replace(/\s+/g, ' ').trim();
const items = (s: string) => norm(s).split(' ').filter(Boolean);
const exact = (output: string, inst: TaskInstance) => (norm(output) === norm(inst.reference) ? 1 : 0);

function distinctNouns(rng: Rng, n: number): string[] {
  return rng.shuffle([...NOUNS]).slice(0, n);
}
function mixedItems(rng: Rng, n: number): string[] {
  return Array.from({ length: n }, () => (rng.next() < 0.5 ? rng.pick(NOUNS) : String(rng.int(0, 99))));
}
function make(
  suite: string,
  index: number,
  prompt: string,
  reference: string,
  checker: Record<string, unknown> = {},
): TaskInstance {
  return { suite, id: `${suite}-${index}`, prompt, reference, checker };
}

export const copy: Suite = {
  name: 'copy',
  kind: 'exact',
  genLength: 32,
  description: 'Repeat a list of words and numbers verbatim.',
  generate(rng, i) {
    const xs = mixedItems(rng, rng.int(3, 12));
    return make('copy', i, `Copy: ${xs.join(' ')}`, xs.join(' '));
  },
  score: exact,
};

export const reverse: Suite = {
  name: 'reverse',
  kind: 'exact',
  genLength: 32,
  description: 'Write a list in reverse order.',
  generate(rng, i) {
    const xs = mixedItems(rng, rng.int(3, 10));
    return make('reverse', i, `Reverse: ${xs.join(' ')}`, [...xs].reverse().join(' '));
  },
  score: exact,
};

export const sort: Suite = {
  name: 'sort',
  kind: 'exact',
  genLength: 64,
  description: 'Sort numbers in ascending order.',
  generate(rng, i) {
    const xs = Array.from({ length: rng.int(3, 10) }, () => rng.int(0, 999));
    return make('sort', i, `Sort: ${xs.join(' ')}`, [...xs].sort((a, b) => a - b).join(' '));
  },
  score: exact,
};

export const add: Suite = {
  name: 'add',
  kind: 'exact',
  genLength: 32,
  description: 'Add two multi-digit numbers.',
  generate(rng, i) {
    const digits = () => rng.int(1, 5);
    const num = (d: number) => (d === 1 ? rng.int(0, 9) : rng.int(10 ** (d - 1), 10 ** d - 1));
    let a = num(digits());
    const b = num(digits());
    if (a < 10 && b < 10) a += 10 * rng.int(1, 9);
    return make('add', i, `Add: ${a} + ${b}`, String(a + b));
  },
  score: exact,
};

export const count: Suite = {
  name: 'count',
  kind: 'exact',
  genLength: 32,
  description: 'Count how often a word occurs in a list.',
  generate(rng, i) {
    const pool = distinctNouns(rng, 5);
    const target = pool[0]!;
    const n = rng.int(4, 16);
    const k = rng.int(0, Math.min(9, n));
    const others = Array.from({ length: n - k }, () => pool[rng.int(1, pool.length - 1)]!);
    const xs = rng.shuffle([...Array(k).fill(target), ...others]);
    return make('count', i, `Count ${target}: ${xs.join(' ')}`, String(k));
  },
  score: exact,
};

export const lookup: Suite = {
  name: 'lookup',
  kind: 'exact',
  genLength: 32,
  description:
    'Find the value of one key in a long context of key=value pairs (300-800 tokens); where cache eviction can fail.',
  generate(rng, i) {
    const n = rng.int(60, 150);
    const keys = new Set<string>();
    while (keys.size < n) {
      const syl = rng.int(2, 3);
      keys.add(Array.from({ length: syl }, () => rng.pick(KEY_SYLLABLES)).join(''));
    }
    const pairs = [...keys].map((k) => [k, String(rng.int(0, 999))] as const);
    const [qk, qv] = pairs[rng.int(0, pairs.length - 1)]!;
    const ctx = pairs.map(([k, v]) => `${k}=${v}`).join(' ');
    return make('lookup', i, `Lookup: ${ctx} ; find ${qk}`, qv, { key: qk, pairs: pairs.length });
  },
  score: exact,
};

export const shuffle: Suite = {
  name: 'shuffle',
  kind: 'valid',
  genLength: 32,
  description: 'Write any permutation of the given items (many valid answers).',
  generate(rng, i) {
    const xs = distinctNouns(rng, rng.int(3, 8));
    return make('shuffle', i, `Shuffle: ${xs.join(' ')}`, rng.shuffle([...xs]).join(' '), { items: xs });
  },
  score(output, inst) {
    const want = [...(inst.checker.items as string[])].sort();
    const got = items(output).sort();
    return got.length === want.length && got.every((x, j) => x === want[j]) ? 1 : 0;
  },
};

type Prop = { label: string; test: (x: number) => boolean };
function property(rng: Rng): Prop {
  const t = rng.int(20, 80);
  return rng.pick<Prop>([
    { label: 'even', test: (x) => x % 2 === 0 },
    { label: 'odd', test: (x) => x % 2 === 1 },
    { label: `above ${t}`, test: (x) => x > t },
    { label: `below ${t}`, test: (x) => x < t },
  ]);
}
export function pickProperty(label: string): (x: number) => boolean {
  if (label === 'even') return (x) => x % 2 === 0;
  if (label === 'odd') return (x) => x % 2 === 1;
  const m = /^(above|below) (\d+)$/.exec(label);
  if (!m) throw new Error(`unknown pick property "${label}"`);
  const t = Number(m[2]);
  return m[1] === 'above' ? (x) => x > t : (x) => x < t;
}

export const pick: Suite = {
  name: 'pick',
  kind: 'valid',
  genLength: 32,
  description: 'Pick N distinct numbers from a list that satisfy a property (many valid answers).',
  generate(rng, i) {
    for (;;) {
      const prop = property(rng);
      const pool = rng.shuffle(Array.from({ length: 100 }, (_, j) => j)).slice(0, rng.int(6, 12));
      const ok = pool.filter(prop.test);
      if (ok.length < 2) continue;
      const k = rng.int(1, Math.min(4, ok.length - 1));
      const ref = rng.shuffle([...ok]).slice(0, k);
      return make('pick', i, `Pick ${k} ${prop.label}: ${pool.join(' ')}`, ref.join(' '), {
        k,
        property: prop.label,
        pool,
      });
    }
  },
  score(output, inst) {
    const { k, property: label, pool } = inst.checker as { k: number; property: string; pool: number[] };
    const test = pickProperty(label);
    const got = items(output);
    if (got.length !== k || !got.every((x) => /^\d+$/.test(x))) return 0;
    const nums = got.map(Number);
    return new Set(nums).size === k && nums.every((x) => pool.includes(x) && test(x)) ? 1 : 0;
  },
};

/** The number after the last "answer" of an output, or null. */
const finalAnswer = (output: string) => /answer (\d+)\s*$/.exec(norm(output))?.[1] ?? null;

export const arith: Suite = {
  name: 'arith',
  kind: 'exact',
  genLength: 64,
  description:
    'Two steps of + and * with the intermediate result written out ("37 + 48 = 85; 85 * 3 = 255; answer 255"): each step needs the result before it. Scored on the final answer.',
  generate(rng, i) {
    // Two steps of + and *, as in "(37 + 48) * 3": the 6M-parameter dlens-tiny did not learn subtraction or a third
    // step in the GPU time its recipe had (assets/checkpoints/dlens-tiny/recipe/README.md, runs 21-24).
    let acc = rng.int(10, 99),
      expr = String(acc),
      multiplied = false;
    const lines: string[] = [];
    for (let k = 0; k < 2; k++) {
      // A product only of a number below 100 by one digit from 2 to 5, so the numbers stay three digits at most.
      const op = rng.pick(['+', ...(multiplied || acc >= 100 ? [] : ['*'])]);
      const b = op === '*' ? rng.int(2, 5) : rng.int(10, 99);
      const r = op === '*' ? acc * b : acc + b;
      if (op === '*') multiplied = true;
      lines.push(`${acc} ${op} ${b} = ${r}`);
      expr = k === 0 ? `${expr} ${op} ${b}` : `(${expr}) ${op} ${b}`;
      acc = r;
    }
    return make('arith', i, `Compute: ${expr}`, `${lines.join('; ')}; answer ${acc}`, { answer: String(acc) });
  },
  score: (output, inst) => (finalAnswer(output) === inst.checker.answer ? 1 : 0),
};

export const carry: Suite = {
  name: 'carry',
  kind: 'exact',
  genLength: 32,
  description:
    'Add two numbers whose carries chain across many digits (459999 + 540001): a high digit is known only once the carry below it is.',
  generate(rng, i) {
    // Up to 15 digits: dlens-tiny wrote up to 9 at once, sure of every digit from the first step (run 27, all
    // strategies alike); past its reach in one pass, a high digit waits for the digits below it to be written.
    const n = rng.int(5, 15);
    const chain = rng.int(3, n); // digits the carry runs through, from the lowest
    const a: number[] = [],
      b: number[] = [];
    for (let d = 0; d < n; d++) {
      // The lowest digit pair makes a carry; the next chain − 1 pairs sum to 9 and pass it on; the rest are free.
      const x = rng.int(d === 0 || d === n - 1 ? 1 : 0, 9);
      const y = d === 0 ? rng.int(10 - x, 9) : d < chain ? 9 - x : rng.int(d === n - 1 ? 1 : 0, 9);
      a.push(x);
      b.push(y);
    }
    const num = (ds: number[]) => BigInt([...ds].reverse().join(''));
    const [x, y] = [num(a), num(b)];
    return make('carry', i, `Sum: ${x} + ${y}`, String(x + y));
  },
  score: exact,
};

export const choose: Suite = {
  name: 'choose',
  kind: 'valid',
  genLength: 32,
  description:
    'Choose K distinct words of a list, any K in any order (ParallelBench-style: the training answers are uniform over the valid ones, so the model is unsure which; positions decoded in parallel can pick the same word).',
  generate(rng, i) {
    const xs = distinctNouns(rng, rng.int(4, 9));
    const k = rng.int(2, Math.min(5, xs.length - 1));
    const ref = rng.shuffle([...xs]).slice(0, k);
    return make('choose', i, `Choose ${k}: ${xs.join(' ')}`, ref.join(' '), { k, items: xs });
  },
  score(output, inst) {
    const { k, items: pool } = inst.checker as { k: number; items: string[] };
    const got = items(output);
    return got.length === k && new Set(got).size === k && got.every((x) => pool.includes(x)) ? 1 : 0;
  },
};

/** Word-overlap F1: free text has no single right answer, so report how close it stays to the source. */
export function wordF1(output: string, reference: string): number {
  const a = items(output.toLowerCase().replace(/[^a-z0-9 ]/g, ' '));
  const b = items(reference.toLowerCase().replace(/[^a-z0-9 ]/g, ' '));
  if (!a.length || !b.length) return 0;
  const counts = new Map<string, number>();
  for (const w of b) counts.set(w, (counts.get(w) ?? 0) + 1);
  let hit = 0;
  for (const w of a) {
    const c = counts.get(w) ?? 0;
    if (c > 0) {
      hit++;
      counts.set(w, c - 1);
    }
  }
  if (!hit) return 0;
  const p = hit / a.length,
    r = hit / b.length;
  return (2 * p * r) / (p + r);
}

/** Every 10th item (by hash) is held out of training, so eval items are unseen. */
function inSplit(key: string, ctx: SuiteContext) {
  return (hash32(key) % 10 === 0) === (ctx.split === 'eval');
}
function corpusItems<T>(all: readonly T[], key: (t: T) => string, ctx: SuiteContext, cacheKey: object): T[] {
  let cached = splitCache.get(cacheKey)?.[ctx.split] as T[] | undefined;
  if (!cached) {
    cached = all.filter((t) => inSplit(key(t), ctx));
    const entry = splitCache.get(cacheKey) ?? {};
    entry[ctx.split] = cached;
    splitCache.set(cacheKey, entry);
  }
  return cached;
}
const splitCache = new WeakMap<object, Record<string, unknown[]>>();

function needCorpus(ctx: SuiteContext, suite: string) {
  if (!ctx.corpus)
    throw new DlensError(
      `the ${suite} suite needs the English corpus (Debian's dict-gcide and fortunes), which is not prepared: run \`python3 assets/checkpoints/dlens-tiny/recipe/prepare_corpus.py .data/corpus\` (or set DLENS_CORPUS to its folder)`,
    );
  return ctx.corpus;
}

export const define: Suite = {
  name: 'define',
  kind: 'text',
  genLength: 64,
  description: 'Define an English word (GCIDE dictionary, public domain); scored by word-overlap F1.',
  generate(rng, i, ctx) {
    const all = needCorpus(ctx, 'define').define();
    const xs = corpusItems(all, (t) => t.word, ctx, all);
    const e = rng.pick(xs);
    return make('define', i, `Define: ${e.word}`, e.definition, { word: e.word });
  },
  score: (o, inst) => wordF1(o, inst.reference),
};

export const fortune: Suite = {
  name: 'fortune',
  kind: 'text',
  genLength: 64,
  description:
    'Continue a fortune-cookie saying from its first words (Debian fortunes, public domain); scored by word-overlap F1.',
  generate(rng, i, ctx) {
    const all = needCorpus(ctx, 'fortune').fortune();
    const xs = corpusItems(all, (t) => t.text, ctx, all);
    const words = rng.pick(xs).text.split(' ');
    const k = Math.min(3, words.length - 3);
    return make('fortune', i, `Fortune: ${words.slice(0, k).join(' ')}`, words.slice(k).join(' '));
  },
  score: (o, inst) => wordF1(o, inst.reference),
};

export const SUITES: readonly Suite[] = [
  copy,
  reverse,
  sort,
  add,
  count,
  lookup,
  shuffle,
  pick,
  define,
  fortune,
  arith,
  carry,
  choose,
];
/** The suites whose answers are checked right or wrong (every one but the word-F1 text suites), in SUITES' order. */
export const CHECKED_SUITES = SUITES.filter((s) => s.kind !== 'text').map((s) => s.name);

export function getSuite(name: string): Suite {
  const s = SUITES.find((x) => x.name === name);
  if (!s) throw new DlensError(`unknown suite "${name}": choose one of ${SUITES.map((x) => x.name).join(', ')}`);
  return s;
}
