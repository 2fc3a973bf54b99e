import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

export const ROOT = resolve(import.meta.dirname, '..');
export const FIXTURE = join(ROOT, 'test', 'fixtures', 'tiny-random');
export const tmp = (prefix = 'dlens-test-') => mkdtempSync(join(tmpdir(), prefix));

/** Runs the real command line as a user would (`node bin/dlens.mjs ...`). */
export function dlens(args: string[], opts: { cwd?: string; env?: Record<string, string> } = {}) {
  const r = spawnSync(process.execPath, [join(ROOT, 'bin', 'dlens.mjs'), ...args], {
    cwd: opts.cwd ?? ROOT,
    encoding: 'utf8',
    timeout: 120_000,
    env: { ...process.env, ...opts.env },
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/**
 * Runs a Python script. `torch`: with Debian's python3 (/usr/bin/python3), which has python3-torch (installed by
 * .ci/run); a PATH python3 (pyenv, a venv) often lacks it.
 */
export function python(args: string[], o: { torch?: boolean } = {}) {
  const exe = o.torch && existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3';
  const r = spawnSync(exe, args, { cwd: ROOT, encoding: 'utf8', maxBuffer: 256 << 20 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Starts `dlens serve` as a user would and returns its printed URL; the caller kills it. */
export async function startServe(env: Record<string, string>, files: string[] = []) {
  const { spawn } = await import('node:child_process');
  const p = spawn(process.execPath, [join(ROOT, 'bin', 'dlens.mjs'), 'serve', '--port', '0', '--json', ...files], {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '',
    err = '';
  p.stderr.on('data', (d) => {
    err += d;
  });
  const info = await new Promise<{ url: string; port: number; token: string; traces_dir: string }>((ok, fail) => {
    p.stdout.on('data', (d) => {
      out += d;
      const line = out.split('\n').find((l) => l.startsWith('{'));
      if (line) ok(JSON.parse(line));
    });
    p.on('exit', (c) => fail(new Error(`dlens serve exited with ${c}: ${err}`)));
    setTimeout(() => fail(new Error(`dlens serve did not start: ${err}`)), 60_000);
  });
  const exited = new Promise<number | null>((ok) => p.on('exit', (c) => ok(c)));
  return { ...info, stop: () => p.kill('SIGTERM'), stderr: () => err, exited };
}

export const CHROMIUM = {
  executablePath: '/usr/bin/chromium',
  args: [
    '--headless',
    '--no-sandbox',
    '--disable-gpu',
    '--disable-background-networking',
    '--disable-component-update',
    '--disable-sync',
    '--no-first-run',
  ],
};

/**
 * For long synchronous loops (the fuzz suites): call the returned function each iteration; once a second it goes
 * back to the event loop. A vitest worker must answer its runner's messages within 60 s, and a loop that holds the
 * thread longer fails the whole run (an "unhandled error" with every test green).
 */
export function breather() {
  let last = performance.now();
  return async () => {
    if (performance.now() - last < 1000) return;
    await new Promise((ok) => setImmediate(ok));
    last = performance.now();
  };
}
