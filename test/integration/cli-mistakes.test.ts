import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { dlens, ROOT, FIXTURE } from '../helpers.js';
import { mistakeFixtures, substitute } from '../support/mistake-fixtures.js';

/**
 * Every user mistake in test/cli-mistakes.json (args, the exact first line of stderr, optional env) gets that line
 * and exit code 2: never "internal error", never a stack trace. Add a row to cover a new mistake.
 */
interface Row {
  args: string[];
  stderr: string;
  env?: Record<string, string>;
}
const TABLE = JSON.parse(readFileSync(join(ROOT, 'test', 'cli-mistakes.json'), 'utf8')) as Row[];

let fx: Awaited<ReturnType<typeof mistakeFixtures>>;
beforeAll(async () => {
  fx = await mistakeFixtures();
});
afterAll(() => fx?.close());

describe('command-line mistakes (test/cli-mistakes.json)', () => {
  it.each(TABLE.map((r) => [r.args.join(' '), r] as const))('%s', async (_, row) => {
    const env = Object.fromEntries(Object.entries(row.env ?? {}).map(([k, v]) => [k, substitute(v, fx.vars)]));
    const r = await dlens(
      row.args.map((a) => substitute(a, fx.vars)),
      { env: { DLENS_CORPUS: fx.vars.$EMPTY_CORPUS!, ...env } },
    );
    expect(r.stderr.split('\n')[0]).toBe(substitute(row.stderr, fx.vars));
    expect(r.code).toBe(2);
    expect(r.stderr).not.toMatch(/internal error|\n\s+at .*:\d+:\d+/);
  });
});

describe('what used to be refused or mishandled', () => {
  it("--help after any command prints that command's usage", async () => {
    for (const cmd of ['models', 'record', 'learn', 'info', 'bench', 'tasks', 'serve']) {
      const r = await dlens([cmd, '--prompt', 'x', '--help']);
      expect(r.code).toBe(0);
      expect(r.stdout).toMatch(new RegExp(`^usage:\\n  dlens ${cmd} `));
      expect(r.stdout).not.toMatch(cmd === 'models' ? /dlens record/ : /dlens models/);
    }
  });

  it('negative numbers are values, and a huge temperature runs exactly the steps asked', async () => {
    const base = [
      'record',
      '--model',
      FIXTURE,
      '--prompt',
      'hi',
      '--gen-length',
      '16',
      '--block-length',
      '8',
      '--steps',
      '16',
      '--json',
    ];
    const a = await dlens([...base, '--seed', '-1', '--temperature', '1']);
    expect(a.stderr).toBe('');
    expect(JSON.parse(a.stdout).steps).toBe(16);
    for (const t of ['1e308', 'Infinity']) {
      const r = await dlens([...base, '--temperature', t]);
      expect(r.code).toBe(0);
      expect(JSON.parse(r.stdout)).toMatchObject({ steps: 16, complete: true });
    }
  });
});
