import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { existsSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { convertCheckpoint } from '../../engine/convert/convert.js';
import { DlensError } from '../../engine/errors.js';
import { readCard } from '../../engine/model/load.js';
import { Rng } from '../../engine/util/rng.js';
import { breather, tmp } from '../helpers.js';
import { hostileArea, hostileCase, SECRET, SECRET_HEADER_NUMBER, type Area } from '../support/hostile-checkpoint.js';

/**
 * 10,000 seeded hostile checkpoint folders through `dlens convert` (in process, as the command line calls it): each
 * either converts into a model its own loader accepts, or is refused with one DlensError line that names what is
 * wrong — never another exception, never a hang (named pipes, loops in templates), never a quote of a file outside
 * the folder, never anything left at --out or beside it. Peak memory is bounded and printed.
 *
 * Templates that only the 2-second render deadline stops are left to the mistakes table (one such case costs 2 s).
 */
const CASES = Number(process.env.DLENS_FUZZ_CASES ?? 10_000);
let area: Area;
let base: string;

beforeAll(() => {
  base = tmp('dlens-convert-fuzz-');
  area = hostileArea(base);
});
afterAll(() => rmSync(base, { recursive: true, force: true }));

describe('dlens convert on hostile checkpoint folders (seeded fuzz)', () => {
  it(`${CASES} cases: a model the loader accepts, or one clear DlensError; nothing left at --out`, async () => {
    const rng = new Rng(20261203);
    const outcomes = { converted: 0, refused: 0 };
    let peak = process.memoryUsage().rss;
    const messages = new Map<string, number>();
    const breathe = breather();
    for (let i = 0; i < CASES; i++) {
      await breathe(); // (test/helpers.ts says why)
      const dir = join(base, 'case');
      const out = join(base, 'out', 'model');
      const what = hostileCase(area, dir, rng);
      try {
        await convertCheckpoint(dir, out);
        readCard(out); // what convert wrote, the loader reads
        outcomes.converted++;
        if (process.env.DLENS_FUZZ_SHOW) console.log(`converted: ${what}`);
        rmSync(join(base, 'out'), { recursive: true, force: true });
      } catch (e) {
        if (!(e instanceof DlensError)) throw new Error(`case ${i} (${what}): ${(e as Error)?.stack ?? e}`);
        const m = e.message;
        expect(m, `case ${i} (${what})`).not.toMatch(/\n|internal error/);
        for (const leak of [SECRET.slice(0, 8), 'SECRET', SECRET_HEADER_NUMBER])
          expect(m.includes(leak), `case ${i} (${what}) leaks the file outside: ${m}`).toBe(false);
        expect(existsSync(out), `case ${i} (${what}) left --out`).toBe(false);
        const left = existsSync(join(base, 'out')) ? readdirSync(join(base, 'out')) : [];
        expect(left, `case ${i} (${what}) left temporary folders`).toEqual([]);
        outcomes.refused++;
        const key = m.replace(/\/\S+/g, 'PATH').replace(/\d+/g, 'N').slice(0, 70);
        messages.set(key, (messages.get(key) ?? 0) + 1);
      }
      peak = Math.max(peak, process.memoryUsage().rss);
    }
    console.log(
      `convert fuzz: ${CASES} cases, ${outcomes.converted} converted, ${outcomes.refused} refused with ${messages.size} kinds of message; peak RSS ${(peak / 2 ** 20).toFixed(0)} MiB`,
    );
    // Both outcomes occur (a fuzz whose every case fails at the first check tests nothing), and memory stays bounded.
    expect(outcomes.converted).toBeGreaterThan(CASES / 100);
    expect(messages.size).toBeGreaterThan(40);
    expect(peak).toBeLessThan(1.5 * 2 ** 30);
  }, 900_000);
});
