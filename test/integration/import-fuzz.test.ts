import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import { DlensError } from '../../engine/errors.js';
import { importRecord } from '../../engine/importers/index.js';
import { readTrace } from '../../engine/trace/trace.js';
import { Rng } from '../../engine/util/rng.js';
import { breather, ROOT, tmp } from '../helpers.js';

/**
 * Each import format, 10,000 seeded hostile records (mutations of the fixtures in test/fixtures/import): every record
 * becomes a trace that opens, or is refused with one DlensError line — never another exception, never unbounded
 * memory (a step_map of [0, 100000000], 500k tokens, a gzip bomb), never a quote of the file.
 */
const CASES = Number(process.env.DLENS_FUZZ_CASES ?? 10_000);
const FIX = join(ROOT, 'test', 'fixtures', 'import');
const TOK = join(ROOT, 'assets/checkpoints/dlens-tiny/tokenizer.json');
let dir: string;
let bomb: Buffer;

beforeAll(() => {
  dir = tmp('dlens-import-fuzz-');
  // 2 MB of gzip that inflates to 2 GB of zeros (made once: it takes a few seconds).
  bomb = gzipSync(Buffer.alloc(512 << 20), { level: 9 });
  bomb = Buffer.concat([bomb, bomb, bomb, bomb]);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const HOSTILE: unknown[] = [null, -1, 2 ** 31, 1e15, 4294967301, 2 ** 53, 1.5, 'x', [], {}, true, 1e20, -0, NaN];

/** A JSON value with one field somewhere replaced by a hostile value (or a list grown, or the structure broken). */
function mutate(v: unknown, rng: Rng): unknown {
  const pick = <T>(xs: readonly T[]): T => xs[rng.int(0, xs.length - 1)]!;
  const c = structuredClone(v) as Record<string, unknown>;
  const paths: [Record<string, unknown> | unknown[], string | number][] = [];
  const walk = (x: unknown, depth: number) => {
    if (depth > 6 || !x || typeof x !== 'object') return;
    for (const k of Object.keys(x)) {
      const key = Array.isArray(x) ? Number(k) : k;
      paths.push([x as Record<string, unknown>, key]);
      walk((x as Record<string, unknown>)[k], depth + 1);
    }
  };
  walk(c, 0);
  const n = 1 + rng.int(0, 2);
  for (let i = 0; i < n && paths.length; i++) {
    const [obj, key] = pick(paths);
    const what = rng.int(0, 3);
    const cur = (obj as Record<string | number, unknown>)[key];
    (obj as Record<string | number, unknown>)[key] =
      what === 0
        ? pick(HOSTILE)
        : what === 1 && Array.isArray(cur)
          ? Array.from(
              // Long lists of numbers (500k token ids); lists of strings or objects grow less (they are large).
              { length: pick(cur.every((x) => typeof x === 'number') ? [0, 1, 100_000, 500_000] : [0, 1, 300]) },
              (_, j) => cur[j % Math.max(1, cur.length)] ?? 0,
            )
          : what === 2 && Array.isArray(cur)
            ? cur.map((x) => (typeof x === 'number' ? pick([x, x * 1e6, -x, x + 0.5, 100_000_000]) : x))
            : pick(HOSTILE);
  }
  return c;
}

function record(format: string, rng: Rng): Uint8Array {
  const roll = rng.int(0, 99);
  if (roll === 0) return new Uint8Array(Buffer.from('root:x:0:0:root:/root:/bin/bash\n'));
  if (roll === 1) return new Uint8Array(Buffer.from('['.repeat(200_000)));
  if (format === 'parallelbench') {
    if (roll === 2 && rng.int(0, 9) === 0) return new Uint8Array(bomb);
    const json = JSON.parse(gunzipSync(readFileSync(join(FIX, 'parallelbench.json.gz'))).toString('utf8'));
    const text = JSON.stringify(mutate(json, rng));
    return new Uint8Array(roll < 50 ? gzipSync(text) : Buffer.from(text));
  }
  if (format === 'lmdeploy-step-map') {
    const json = JSON.parse(readFileSync(join(FIX, 'lmdeploy.json'), 'utf8'));
    if (roll === 3) return new Uint8Array(Buffer.from('{"token_ids":[1,2],"step_map":[0,100000000]}'));
    const m = mutate(json, rng);
    return new Uint8Array(
      Buffer.from(roll < 30 ? `${JSON.stringify(m)}\n${JSON.stringify(json)}\n{oops` : JSON.stringify(m)),
    );
  }
  // LLaDA's sample_process.txt: lines shuffled, cut, duplicated or garbled.
  const lines = readFileSync(join(FIX, 'sample_process.txt'), 'utf8').split('\n');
  const i = rng.int(0, lines.length - 1);
  const op = rng.int(0, 4);
  if (op === 0) lines.splice(i, 1);
  else if (op === 1) lines[i] = lines[i]!.slice(0, rng.int(0, lines[i]!.length));
  else if (op === 2) lines.splice(i, 0, lines[i]!);
  else if (op === 3) lines[i] = lines[i]!.replace(/^\d+/, String(rng.int(0, 1e9)));
  else lines[i] = `${i + 1}, ` + '*x&'.repeat(rng.int(0, 200_000));
  return new Uint8Array(Buffer.from(lines.join('\n')));
}

describe.each([
  ['llada-sample-process', []],
  ['parallelbench', ['tokenizer']],
  ['lmdeploy-step-map', ['tokenizer', 'none']],
] as const)('dlens import --from %s on hostile records (seeded fuzz)', (format, tokenizers) => {
  it(`${CASES} records: a trace that opens, or one clear DlensError`, async () => {
    const rng = new Rng(7 + format.length);
    const file = join(dir, `record-${format}`);
    let ok = 0,
      refused = 0,
      peak = process.memoryUsage().rss;
    const breathe = breather();
    for (let i = 0; i < CASES; i++) {
      await breathe(); // (test/helpers.ts says why)
      const bytes = record(format, rng);
      writeFileSync(file, bytes);
      const tok = tokenizers.length && tokenizers[rng.int(0, tokenizers.length - 1)] === 'tokenizer' ? TOK : undefined;
      try {
        readTrace(importRecord(file, { from: format, tokenizer: tok, index: rng.int(0, 9) ? 0 : rng.int(0, 3) }));
        ok++;
      } catch (e) {
        if (!(e instanceof DlensError)) throw new Error(`case ${i}: ${(e as Error)?.stack ?? e}`);
        expect(e.message, `case ${i}`).not.toMatch(/\n|internal error|root:x/);
        refused++;
      }
      peak = Math.max(peak, process.memoryUsage().rss);
    }
    console.log(
      `import fuzz ${format}: ${ok} imported, ${refused} refused; peak RSS ${(peak / 2 ** 20).toFixed(0)} MiB`,
    );
    expect(ok).toBeGreaterThan(CASES / 100);
    expect(refused).toBeGreaterThan(CASES / 10);
    expect(peak).toBeLessThan(2 * 2 ** 30);
  }, 900_000);
});
