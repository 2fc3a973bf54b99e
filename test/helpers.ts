import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

export const ROOT = resolve(import.meta.dirname, '..');
export const FIXTURE = join(ROOT, 'test', 'fixtures', 'tiny-random');
export const tmp = (prefix = 'dlens-test-') => mkdtempSync(join(tmpdir(), prefix));

/**
 * Runs a program to its end without holding the test worker's thread: a vitest worker must answer its runner within
 * 60 s, and a synchronous child (spawnSync) that runs longer under CI's load fails the whole run.
 */
function run(exe: string, args: string[], o: { cwd: string; env?: NodeJS.ProcessEnv; timeoutMs?: number }) {
  return new Promise<{ code: number | null; stdout: string; stderr: string }>((ok, fail) => {
    const p = spawn(exe, args, { cwd: o.cwd, env: o.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '',
      stderr = '';
    p.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    p.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const timer = o.timeoutMs ? setTimeout(() => p.kill('SIGKILL'), o.timeoutMs) : undefined;
    p.on('error', fail);
    p.on('close', (code) => {
      clearTimeout(timer);
      ok({ code, stdout, stderr });
    });
  });
}

/** Runs the real command line as a user would (`node bin/dlens.mjs ...`). */
export function dlens(args: string[], opts: { cwd?: string; env?: Record<string, string> } = {}) {
  return run(process.execPath, [join(ROOT, 'bin', 'dlens.mjs'), ...args], {
    cwd: opts.cwd ?? ROOT,
    env: { ...process.env, ...opts.env },
    timeoutMs: 120_000,
  });
}

/**
 * Runs a Python script. `torch`: with Debian's python3 (/usr/bin/python3), which has python3-torch (installed by
 * npm test's pretest step); a PATH python3 (pyenv, a venv) often lacks it.
 */
export function python(args: string[], o: { torch?: boolean } = {}) {
  const exe = o.torch && existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3';
  return run(exe, args, { cwd: ROOT });
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
