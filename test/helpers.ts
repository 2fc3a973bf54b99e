import { spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

export const ROOT = resolve(import.meta.dirname, '..');
export const FIXTURE = join(ROOT, 'test', 'fixtures', 'tiny-random');
export const tmp = (prefix = 'dlens-test-') => mkdtempSync(join(tmpdir(), prefix));

/** Runs the real command line as a user would (`node bin/dlens.mjs ...`). */
export function dlens(args: string[], opts: { cwd?: string } = {}) {
  const r = spawnSync(process.execPath, [join(ROOT, 'bin', 'dlens.mjs'), ...args], { cwd: opts.cwd ?? ROOT, encoding: 'utf8', timeout: 120_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

export function python(args: string[]) {
  const r = spawnSync('python3', args, { cwd: ROOT, encoding: 'utf8' });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}
