#!/usr/bin/env node
// `npm test`'s pretest: the Debian packages the tests run on (Chromium for the end-to-end tests; python3 with numpy,
// pytest, PyTorch and OpenBLAS for the reference model, the papers' decoders and the Python package). Installed with
// apt-get when this runs as root (or with password-less sudo); otherwise the one command to run is printed and the
// tests do not start, rather than failing one by one halfway through.
import { execFileSync, spawnSync } from 'node:child_process';

const PYTHON = '/usr/bin/python3';
const has = (cmd, args) => spawnSync(cmd, args, { stdio: 'ignore' }).status === 0;
const pyHas = (mod) => has(PYTHON, ['-c', `import ${mod}`]);

const need = [];
if (!has('chromium', ['--version'])) need.push('chromium');
if (!pyHas('numpy')) need.push('python3-numpy');
if (!pyHas('pytest')) need.push('python3-pytest');
// OpenBLAS's threaded build makes Debian's PyTorch about 5x faster than the reference BLAS.
if (!pyHas('torch')) need.push('python3-torch', 'libopenblas0-pthread');
if (!need.length) process.exit(0);

const apt = ['apt-get', 'install', '-y', '-qq', '--no-install-recommends', 'python3', ...need];
const root = process.getuid?.() === 0;
const sudo = !root && has('sudo', ['-n', 'true']);
if (!root && !sudo) {
  console.error(
    `dlens tests need Debian packages that are not installed: ${need.join(', ')}.\nInstall them, then run npm test again:\n  sudo apt-get update && sudo ${apt.join(' ')}`,
  );
  process.exit(1);
}
console.error(`installing the Debian packages the tests need: ${need.join(', ')}`);
const run = (args) =>
  execFileSync(sudo ? 'sudo' : args[0], sudo ? args : args.slice(1), {
    stdio: ['ignore', 'ignore', 'inherit'],
    env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
  });
run(['apt-get', 'update', '-qq']);
run(apt);
