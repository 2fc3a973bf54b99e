import {
  closeSync,
  constants as FS,
  fstatSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readdirSync,
  statSync,
  writeSync,
} from 'node:fs';
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { DlensError } from '../errors.js';
import { compactDecode, expandDecode, KEEP_DEFAULT, type Keep } from '../trace/set-decode.js';
import type { Trace } from '../trace/trace.js';
import { writeFileAtomic } from '../util/atomic-write.js';
import { groupBy } from '../util/group-by.js';
import {
  kindOf,
  openRegularFile,
  optionalFileIn,
  pathInside,
  readExactly,
  readRegularFile,
} from '../util/safe-read.js';
import { parseJsonChecked } from '../trace/json-guard.js';
import { indexRow, type IndexRow, type SampleId } from './index-row.js';
import { readTrace } from '../trace/trace.js';

/**
 * A trace set on disk (docs/trace-set.md): a folder with `set.json`, and per writer a shard — `shards/NAME.dlshard`,
 * compact decodes one after another, and `shards/NAME.jsonl`, one index row per decode, appended only after the
 * decode's bytes are flushed. A killed writer leaves every decode whose row was written; a row cut short is ignored.
 * Writers never coordinate: each has its own shard (rank, host, process and a random tag in its name).
 */
export const SET_FORMAT = 'dlens-set/1';
const MAX_INDEX_BYTES = 1 << 30;

export interface SetWriter {
  dir: string;
  shard: string;
  /** Appends one decode; returns its set-unique id. */
  append(trace: Trace, sample?: SampleId, extra?: Partial<IndexRow>): string;
  close(): void;
}

/** A set is a folder: anything else at `dir` (a file, a pipe, a device) is refused by name. */
function checkFolder(dir: string) {
  const st = statSync(dir, { throwIfNoEntry: false });
  if (st && !st.isDirectory())
    throw new DlensError(`${dir} is ${kindOf(st)}, not a trace set (a set is a folder, docs/trace-set.md)`);
  return st;
}

export function createSet(dir: string) {
  checkFolder(dir);
  try {
    mkdirSync(join(dir, 'shards'), { recursive: true });
  } catch (e) {
    throw new DlensError(`cannot make the trace set ${dir}: ${(e as NodeJS.ErrnoException).code}`);
  }
  const head = new TextEncoder().encode(JSON.stringify({ format: SET_FORMAT, created: new Date().toISOString() }));
  try {
    writeFileAtomic(join(dir, 'set.json'), head, { overwrite: false });
  } catch (e) {
    if ((e as { code?: string }).code !== 'EEXIST') throw e;
  }
  readSetHead(dir);
}

/** A writer of its own shard in the set at `dir` (made if new). */
export function openSetWriter(dir: string, o: { prefix?: string; keep?: Keep } = {}): SetWriter {
  createSet(dir);
  const shard = `${o.prefix ?? 'w'}-${hostname().replace(/[^\w.-]/g, '_')}-${process.pid}-${randomBytes(3).toString('hex')}`;
  const open = (ext: string) => openSync(join(dir, 'shards', `${shard}.${ext}`), 'ax');
  const data = open('dlshard'),
    index = open('jsonl');
  let offset = 0;
  return {
    dir,
    shard,
    append(trace, sample, extra) {
      const blob = compactDecode(trace, o.keep ?? KEEP_DEFAULT);
      // Bytes, then the row, one write each: a killed writer leaves every decode whose row is there. The disk sync
      // waits once, at close (docs/trace-set.md), not twice per decode.
      writeAll(data, blob);
      const id = randomBytes(8).toString('hex');
      const row = { ...indexRow(trace, sample), ...extra, id, shard, offset, length: blob.length };
      offset += blob.length;
      writeAll(index, new TextEncoder().encode(JSON.stringify(row) + '\n'));
      return id;
    },
    close() {
      fsyncSync(data);
      fsyncSync(index);
      closeSync(data);
      closeSync(index);
    },
  };
}

function writeAll(fd: number, bytes: Uint8Array) {
  for (let o = 0; o < bytes.length;) o += writeSync(fd, bytes, o);
}

function readSetHead(dir: string) {
  let head: unknown;
  try {
    head = parseJsonChecked(readRegularFile(join(dir, 'set.json'), '', 1 << 20).toString('utf8'), 8);
  } catch (e) {
    throw new DlensError(`${dir} is not a dlens trace set: ${(e as Error).message}`);
  }
  if ((head as { format?: unknown })?.format !== SET_FORMAT)
    throw new DlensError(`${dir}/set.json is not a ${SET_FORMAT} set (a newer dlens, or not a set)`);
}

export interface OpenSet {
  dir: string;
  rows: IndexRow[];
  /** Rows a killed writer cut short or a shard that is shorter than its index says: left out, counted here. */
  skipped: number;
  /** The compact bytes of one decode, or its `.dlens` trace. */
  blob(id: string): Uint8Array;
  trace(id: string): Uint8Array;
}

/** Reads a set's index: every shard's rows, with the labels joined (`dlens set label`). */
export function openSet(dir: string): OpenSet {
  if (!checkFolder(dir)) throw new DlensError(`${dir} does not exist; give a trace set folder (docs/trace-set.md)`);
  readSetHead(dir);
  const rows: IndexRow[] = [];
  let skipped = 0;
  const shardsDir = join(dir, 'shards');
  const names = readdirSync(shardsDir).filter((f) => f.endsWith('.jsonl'));
  for (const f of names) {
    const shard = f.slice(0, -'.jsonl'.length);
    // Confined to the set's folder: a shard that is a link out of it is refused, as convert refuses one.
    const { fd, size } = openRegularFile(pathInside(dir, `shards/${shard}.dlshard`), 'shard');
    closeSync(fd);
    const text = readRegularFile(pathInside(dir, `shards/${f}`), '', MAX_INDEX_BYTES).toString('utf8');
    const lines = text.split('\n');
    for (let i = 0; i < lines.length; i++) {
      if (!lines[i]) continue;
      let row: IndexRow;
      try {
        row = parseJsonChecked(lines[i]!, 8) as IndexRow;
      } catch {
        // The last line of a killed writer may be cut short: that decode is not in the set. Elsewhere it is damage.
        if (i === lines.length - 1) {
          skipped++;
          continue;
        }
        throw new DlensError(`${join(shardsDir, f)}, line ${i + 1}: not an index row (not valid JSON)`);
      }
      if (!validRow(row, shard, size)) {
        skipped++;
        continue;
      }
      rows.push(row);
    }
  }
  joinOverlays(dir, rows);
  const byId = new Map(rows.map((r) => [r.id, r]));
  const blob = (id: string) => {
    const r = byId.get(id);
    if (!r) throw new DlensError(`the set ${dir} has no decode ${id}`);
    const { fd } = openRegularFile(pathInside(dir, `shards/${r.shard}.dlshard`), 'shard');
    try {
      return new Uint8Array(readExactly(fd, r.offset, r.length, `shard ${r.shard}`));
    } finally {
      closeSync(fd);
    }
  };
  return { dir, rows, skipped, blob, trace: (id) => expandDecode(blob(id)) };
}

function validRow(r: IndexRow, shard: string, size: number) {
  const whole = (x: unknown) => typeof x === 'number' && Number.isSafeInteger(x) && x >= 0;
  return (
    r &&
    typeof r === 'object' &&
    typeof r.id === 'string' &&
    r.shard === shard &&
    whole(r.offset) &&
    whole(r.length) &&
    r.offset + r.length <= size
  );
}

/**
 * Overlays: `labels.jsonl` (rows {id, reference?, filtered?, correct?} from `dlens set label`) and `derived.jsonl`
 * (the metrics and detectors of decodes a writer could not compute: the Python recorder's), the last row winning.
 * A row never changes where a decode is (id, shard, offset, length).
 */
const OVERLAYS = ['derived.jsonl', 'labels.jsonl'];
const FIXED = new Set(['id', 'shard', 'offset', 'length']);

function joinOverlays(dir: string, rows: IndexRow[]) {
  const byId = new Map(rows.map((r) => [r.id, r]));
  for (const name of OVERLAYS) {
    const path = optionalFileIn(dir, name);
    if (!path) continue;
    const text = readRegularFile(path, '', MAX_INDEX_BYTES).toString('utf8');
    for (const line of text.split('\n')) {
      let l: Record<string, unknown>;
      try {
        l = parseJsonChecked(line, 8) as Record<string, unknown>;
      } catch {
        continue; // an empty line, or the last one of a killed writer
      }
      const r = byId.get(String(l?.id)) as Record<string, unknown> | undefined;
      if (!r) continue;
      for (const [k, v] of Object.entries(l)) if (!FIXED.has(k)) r[k] = v;
    }
  }
}

/** Appends overlay rows to the set (one write, flushed; never through a link): labels or derived metrics. */
export function appendOverlay(dir: string, name: 'labels.jsonl' | 'derived.jsonl', rows: object[]) {
  if (!rows.length) return;
  const fd = openSync(join(dir, name), FS.O_WRONLY | FS.O_APPEND | FS.O_CREAT | FS.O_NOFOLLOW | FS.O_NONBLOCK, 0o644);
  try {
    if (!fstatSync(fd).isFile()) throw new DlensError(`${join(dir, name)} is not a regular file`);
    writeAll(fd, new TextEncoder().encode(rows.map((l) => JSON.stringify(l) + '\n').join('')));
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** Rows a writer left without metrics (the Python recorder's) get them from their decodes, cached in derived.jsonl. */
export function completeRows(set: OpenSet) {
  const derived: object[] = [];
  for (const r of set.rows) {
    // Rows of sets written before a metric existed get it too (conf_grid came after detectors).
    if (Array.isArray(r.detectors) && typeof r.conf_grid === 'string') continue;
    const { sample, ...row } = indexRow(readTrace(set.trace(r.id)), r.sample ?? undefined);
    const keep = { ...row, sample, prompt: r.prompt || row.prompt, output: r.output || row.output };
    // What the writer knew (a reference, correctness) stays; what it could not compute is filled in.
    const have = new Map(Object.entries(r));
    const patch = Object.fromEntries(
      Object.entries(keep).filter(([k]) => have.get(k) === undefined || have.get(k) === null),
    );
    Object.assign(r, patch);
    derived.push({ id: r.id, ...patch });
  }
  appendOverlay(set.dir, 'derived.jsonl', derived);
}

/**
 * `dlens set merge`: the sets' shards copied into `out` (a new or existing set), each decode once (ids are random and
 * set-unique: a decode met twice is the same decode), labels and derived rows with them.
 */
export function mergeSets(out: string, inputs: OpenSet[]) {
  createSet(out);
  const have = new Set(openSet(out).rows.map((r) => r.id));
  let added = 0;
  for (const set of inputs) {
    const byShard = groupBy(
      set.rows.filter((r) => !have.has(r.id)),
      (r) => r.shard,
    );
    for (const [shard, rows] of byShard) {
      const name = `${shard}-m${randomBytes(3).toString('hex')}`;
      const data = openSync(join(out, 'shards', `${name}.dlshard`), 'ax');
      const index = openSync(join(out, 'shards', `${name}.jsonl`), 'ax');
      let offset = 0;
      try {
        for (const r of rows) {
          const blob = set.blob(r.id);
          writeAll(data, blob);
          const moved = { ...r, shard: name, offset, length: blob.length };
          offset += blob.length;
          writeAll(index, new TextEncoder().encode(JSON.stringify(moved) + '\n'));
          have.add(r.id);
          added++;
        }
        fsyncSync(data);
        fsyncSync(index);
      } finally {
        closeSync(data);
        closeSync(index);
      }
    }
  }
  return { added, decodes: have.size };
}
