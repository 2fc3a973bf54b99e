import {
  closeSync,
  constants as FS,
  fstatSync,
  lstatSync,
  openSync,
  readSync,
  realpathSync,
  type Stats,
} from 'node:fs';
import { open } from 'node:fs/promises';
import { isAbsolute, join, resolve, sep } from 'node:path';
import { DlensError } from '../errors.js';
import { parseJsonChecked } from '../trace/json-guard.js';

/**
 * Reading files a person handed dlens (a checkpoint folder, a model folder, an import record, a tokenizer) without
 * ever blocking, reading outside the folder given, or echoing a byte of the content in an error message.
 *
 * Why open before checking: a named pipe opened for reading blocks until a writer comes, so files are opened with
 * O_NONBLOCK (which never blocks) and refused by `fstat` of the open descriptor, not a `stat` of the path that could
 * change in between.
 */
export const kindOf = (s: Stats) =>
  s.isFile()
    ? 'a file'
    : s.isDirectory()
      ? 'a folder'
      : s.isFIFO()
        ? 'a named pipe'
        : s.isCharacterDevice() || s.isBlockDevice()
          ? 'a device'
          : s.isSocket()
            ? 'a socket'
            : s.isSymbolicLink()
              ? 'a symbolic link'
              : 'not a regular file';

/** How a file is named in messages: its path, after the option or role that named it when there is one. */
const label = (what: string, path: string) => (what ? `${what} ${path}` : path);

const code = (e: unknown) => (e as NodeJS.ErrnoException).code ?? 'an error';

/** An open descriptor of a regular file at `path` (`what` names it in messages); the caller closes it. */
export function openRegularFile(path: string, what: string): { fd: number; size: number } {
  let fd: number;
  try {
    fd = openSync(path, FS.O_RDONLY | FS.O_NONBLOCK);
  } catch (e) {
    const c = code(e);
    throw new DlensError(
      c === 'ENOENT'
        ? `${label(what, path)} does not exist${isDanglingLink(path) ? ' (it is a symbolic link to nothing)' : ''}`
        : c === 'EISDIR'
          ? `${label(what, path)} is a folder, not a file`
          : `${label(what, path)} cannot be opened (${c})`,
    );
  }
  const st = fstatSync(fd);
  if (!st.isFile()) {
    closeSync(fd);
    throw new DlensError(`${label(what, path)} is ${kindOf(st)}; dlens reads only regular files`);
  }
  return { fd, size: st.size };
}

function isDanglingLink(path: string) {
  try {
    return lstatSync(path).isSymbolicLink();
  } catch {
    return false;
  }
}

/** Bytes [offset, offset + length) of an open file; a short read is the file's end, refused with what was read. */
export function readExactly(fd: number, offset: number, length: number, what: string): Buffer {
  const buf = Buffer.alloc(length);
  let got = 0;
  while (got < length) {
    const r = readSync(fd, buf, got, length - got, offset + got);
    if (r <= 0) throw new DlensError(`${what} ended after ${got} of ${length} bytes (a truncated file?)`);
    got += r;
  }
  return buf;
}

/** A whole regular file of at most `maxBytes` (a larger one is refused before anything is read). */
export function readRegularFile(path: string, what: string, maxBytes: number): Buffer {
  const { fd, size } = openRegularFile(path, what);
  try {
    if (size > maxBytes)
      throw new DlensError(`${label(what, path)} is ${mb(size)}; dlens reads at most ${mb(maxBytes)} for it`);
    return readExactly(fd, 0, size, `${label(what, path)}`);
  } finally {
    closeSync(fd);
  }
}

const mb = (n: number) => (n >= 1 << 20 ? `${(n / (1 << 20)).toFixed(1)} MiB` : `${n} bytes`);

/**
 * A JSON file: a regular file of at most `maxBytes`, valid UTF-8 JSON without duplicate keys, nested at most
 * `maxDepth` levels. The message names the file and what is wrong, never what it holds.
 */
export function readJsonFile(path: string, what: string, o: { maxBytes: number; maxDepth: number }): unknown {
  const bytes = readRegularFile(path, what, o.maxBytes);
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw new DlensError(`${label(what, path)} is not UTF-8 text`);
  }
  try {
    return parseJsonChecked(text, o.maxDepth);
  } catch (e) {
    throw new DlensError(`${label(what, path)} is refused: ${(e as Error).message}`);
  }
}

/** As readJsonFile, and the value must be a JSON object. */
export function readJsonObject(
  path: string,
  what: string,
  o: { maxBytes: number; maxDepth: number },
): Record<string, unknown> {
  const v = readJsonFile(path, what, o);
  if (!v || typeof v !== 'object' || Array.isArray(v))
    throw new DlensError(`${label(what, path)} is not a JSON object (it holds ${v === null ? 'null' : typeof v})`);
  return v as Record<string, unknown>;
}

/**
 * Where the files of `root` may really live: the folder itself, and for a Hugging Face hub cache snapshot
 * (`models--org--name/snapshots/REV`, whose files are links to `../../blobs/SHA`) that repository's `blobs` folder.
 */
function allowedRoots(realRoot: string): string[] {
  const parts = realRoot.split(sep);
  const n = parts.length;
  if (n >= 3 && parts[n - 2] === 'snapshots' && parts[n - 3]!.startsWith('models--'))
    return [realRoot, [...parts.slice(0, n - 2), 'blobs'].join(sep)];
  return [realRoot];
}

const within = (p: string, roots: string[]) => roots.some((r) => p.startsWith(r + sep));

/**
 * The real path of `name` inside `root`, refused unless it stays inside `root` after following every symbolic link
 * (or in the hub cache's blobs, allowedRoots). `name` is a path relative to the folder (as an index names a shard):
 * absolute paths, `..` that leaves the folder, empty names and the folder itself are refused.
 */
export function pathInside(root: string, name: string, referrer?: string): string {
  const shown = JSON.stringify(String(name).slice(0, 120));
  const who = referrer ? `${referrer} names ${shown}, which` : join(root, String(name));
  if (typeof name !== 'string' || name.trim() === '' || name === '.' || name.includes('\0'))
    throw new DlensError(`${referrer ?? root} names ${shown}, which is not a file name`);
  if (isAbsolute(name)) throw new DlensError(`${who} is an absolute path; it must name a file inside ${root}`);
  let realRoot: string;
  try {
    realRoot = realpathSync(root);
  } catch {
    throw new DlensError(`folder ${root} does not exist`);
  }
  const lexical = resolve(realRoot, name);
  if (!lexical.startsWith(realRoot + sep))
    throw new DlensError(`${who} is outside ${root}; dlens reads only inside that folder`);
  let real: string;
  try {
    real = realpathSync(lexical);
  } catch {
    throw new DlensError(
      `${who} does not exist${isDanglingLink(lexical) ? ' (it is a symbolic link to nothing)' : ` in ${root}`}`,
    );
  }
  if (!within(real, allowedRoots(realRoot)))
    throw new DlensError(`${who} is a symbolic link that leaves ${root}; dlens reads only inside that folder`);
  return real;
}

/**
 * A file of a folder by its fixed name (config.json, tokenizer.json), confined as pathInside says; undefined when
 * there is none (and was never a link).
 */
export function optionalFileIn(root: string, name: string): string | undefined {
  const p = join(root, name);
  try {
    lstatSync(p);
  } catch {
    return undefined;
  }
  return pathInside(root, name);
}

/* The engine service's asynchronous reads (the app and `dlens serve` must not block their event loop). */

/** The stat of a trace file, opened without blocking: a named pipe, a device or a folder is refused. */
export async function statRegularAsync(path: string) {
  let fh;
  try {
    fh = await open(path, FS.O_RDONLY | FS.O_NONBLOCK);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new DlensError(code === 'ENOENT' ? `trace ${path} does not exist` : `cannot open trace ${path} (${code})`);
  }
  try {
    const st = await fh.stat();
    if (!st.isFile()) throw new DlensError(`trace ${path} is not a regular file; dlens reads only files`);
    return st;
  } finally {
    await fh.close();
  }
}

/** Reads a regular file without blocking: a FIFO, a device or a folder is refused, never opened for reading. */
export async function readRegularFileAsync(path: string, what: string, maxBytes = 4 * 1024 ** 3): Promise<Uint8Array> {
  let fh;
  try {
    fh = await open(path, FS.O_RDONLY | FS.O_NONBLOCK);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new DlensError(
      code === 'ENOENT' ? `${what} ${path} does not exist` : `cannot open ${what} ${path} (${code})`,
    );
  }
  try {
    const st = await fh.stat();
    if (!st.isFile()) throw new DlensError(`${what} ${path} is not a regular file; dlens reads only files`);
    if (st.size > maxBytes)
      throw new DlensError(`${what} ${path} is ${st.size} bytes, more than dlens reads (${maxBytes})`);
    return new Uint8Array(await fh.readFile());
  } finally {
    await fh.close();
  }
}
