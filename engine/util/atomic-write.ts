import {
  closeSync,
  fsyncSync,
  linkSync,
  lstatSync,
  mkdirSync,
  openSync,
  readdirSync,
  realpathSync,
  renameSync,
  statSync,
  unlinkSync,
  writeFileSync,
  type Stats,
} from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { DlensError } from '../errors.js';
import { kindOf } from './safe-read.js';

/**
 * Where a write to `path` lands: the path itself, or through a symlink to the file it names. Only a regular file (or
 * nothing yet) may be replaced; a folder, a device, a pipe or a dangling link is refused with a message.
 */
export function writeTarget(path: string): string {
  const p = resolve(path);
  let st: Stats;
  try {
    st = lstatSync(p);
  } catch {
    return p;
  }
  let target = p;
  if (st.isSymbolicLink()) {
    try {
      target = realpathSync(p);
    } catch {
      throw new DlensError(
        `cannot write ${path}: it is a symbolic link to a file that does not exist; remove the link or give another path`,
      );
    }
    try {
      st = statSync(target);
    } catch {
      return target;
    }
  }
  if (!st.isFile())
    throw new DlensError(
      `cannot write ${path}: it is ${kindOf(st)}, not a file; ${st.isDirectory() ? `give a file path such as ${join(path, 'trace.dlens')}` : 'give the path of a file'}`,
    );
  return target;
}

const TMP = (target: string) => `${basename(target)}.tmp-`;

/**
 * Paths in `dir` named `prefix` + a process id (+ anything after `-`) whose process is gone: what a killed run left.
 * Our own and live processes' (and those we may not signal, EPERM) are kept.
 */
export function leftoversOfGoneRuns(dir: string, prefix: string): string[] {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return [];
  }
  return names
    .filter((n) => {
      if (!n.startsWith(prefix)) return false;
      const pid = Number(/^(\d+)(-|$)/.exec(n.slice(prefix.length))?.[1]);
      return Number.isSafeInteger(pid) && pid > 0 && pid !== process.pid && !processAlive(pid);
    })
    .map((n) => join(dir, n));
}

function processAlive(pid: number) {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Temporary files a killed run left beside `target` are removed before the next write. */
function removeStaleTemps(target: string) {
  for (const p of leftoversOfGoneRuns(dirname(target), TMP(target))) {
    try {
      unlinkSync(p);
    } catch {
      /* another run got there first */
    }
  }
}

/**
 * Write to a temporary name, flush, then rename into place: a reader never sees a half-written file and an old
 * file is never lost. With `overwrite: false` an existing file is kept and the write fails with code EEXIST
 * (the temporary file is linked, which, unlike rename, never replaces).
 */
export function writeFileAtomic(path: string, bytes: Uint8Array, opts: { overwrite?: boolean } = {}): string {
  const target = writeTarget(path);
  const dir = dirname(target);
  try {
    mkdirSync(dir, { recursive: true });
  } catch (e) {
    throw new DlensError(
      `cannot write ${path}: cannot create its folder ${dir} (${(e as NodeJS.ErrnoException).code})`,
    );
  }
  removeStaleTemps(target);
  const tmp = join(dir, `${TMP(target)}${process.pid}-${Date.now()}-${Math.random().toString(36).slice(2, 8)}`);
  try {
    const fd = openSync(tmp, 'wx');
    try {
      writeFileSync(fd, bytes);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    if (opts.overwrite === false) linkSync(tmp, target);
    else renameSync(tmp, target);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'EEXIST' && opts.overwrite === false)
      throw Object.assign(new DlensError(`${path} already exists`), { code });
    throw new DlensError(
      `could not write ${path}: ${code ? `${code} (${(e as Error).message.split(',')[0]})` : (e as Error).message}`,
    );
  } finally {
    try {
      unlinkSync(tmp);
    } catch {
      /* renamed away */
    }
  }
  return target;
}
