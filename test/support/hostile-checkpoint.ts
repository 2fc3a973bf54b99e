import { execFileSync } from 'node:child_process';
import { cpSync, linkSync, mkdirSync, readFileSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Rng } from '../../engine/util/rng.js';
import { ROOT } from '../helpers.js';

/**
 * Hostile Hugging Face checkpoint folders, made from the tiny LLaDA fixture (test/fixtures/hf/llada) with one or two
 * things wrong, as an attacker or a careless user would leave them: headers, offsets, dtypes, shapes, index paths,
 * symbolic links, named pipes, chat templates, configs and cards. Used by the seeded fuzz (convert-fuzz.test.ts) and,
 * by name, by the table of convert mistakes (test/convert-import-mistakes.json).
 */
export const SOURCE = join(ROOT, 'test', 'fixtures', 'hf', 'llada');
const FILES = ['config.json', 'model.safetensors', 'tokenizer.json', 'tokenizer_config.json'];
/** What a file outside the folder holds: a message that quotes it, or a number made of its bytes, leaks it. */
export const SECRET = 'root:x:0:0:SECRET-OUTSIDE-THE-FOLDER\n';
export const SECRET_HEADER_NUMBER = Buffer.from(SECRET).readBigUInt64LE(0).toString();

export const mkfifo = (path: string) => execFileSync('mkfifo', [path]);

/** A scratch area: `pristine/` (the fixture, hard-linked into each case), `outside/` (the secret, a shard copy). */
export function hostileArea(base: string) {
  mkdirSync(join(base, 'pristine'), { recursive: true });
  mkdirSync(join(base, 'outside'), { recursive: true });
  for (const f of FILES) cpSync(join(SOURCE, f), join(base, 'pristine', f));
  writeFileSync(join(base, 'outside', 'secret.txt'), SECRET);
  cpSync(join(SOURCE, 'model.safetensors'), join(base, 'outside', 'outside.safetensors'));
  const shard = readFileSync(join(SOURCE, 'model.safetensors'));
  const n = Number(shard.readBigUInt64LE(0));
  const header = JSON.parse(shard.subarray(8, 8 + n).toString('utf8')) as Record<string, unknown>;
  return { base, shard, header, data: shard.subarray(8 + n), config: readJson(join(SOURCE, 'config.json')) };
}
export type Area = ReturnType<typeof hostileArea>;

const readJson = (p: string) => JSON.parse(readFileSync(p, 'utf8')) as Record<string, unknown>;

/** A fresh copy of the pristine checkpoint in `dir` (hard links: a case that rewrites a file unlinks it first). */
export function pristineCopy(area: Area, dir: string) {
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  for (const f of FILES) linkSync(join(area.base, 'pristine', f), join(dir, f));
}

/** Replaces one file of a case (never writing through the hard link into the pristine copy). */
export function put(dir: string, name: string, content: string | Uint8Array) {
  rmSync(join(dir, name), { recursive: true, force: true });
  writeFileSync(join(dir, name), content);
}

/** A safetensors file from a header object (or raw header text) and a data section. */
export function shardBytes(header: unknown, data: Uint8Array, lengthOverride?: bigint): Buffer {
  const text = Buffer.from(typeof header === 'string' ? header : JSON.stringify(header));
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(lengthOverride ?? BigInt(text.length));
  return Buffer.concat([len, text, data]);
}

const nest = (depth: number) => '['.repeat(depth) + ']'.repeat(depth);

/** Values a config field or a header field can hold that it should not. */
const HOSTILE_NUMBERS: unknown[] = [0, -1, 1.5, 1e12, 1e308, '4', null, [], {}, true, 2 ** 53, -0.5, 2 ** 31];
const TEMPLATES = [
  '{% for i in range(1000000000) %}{% endfor %}{{ messages[0].content }}',
  '{% for i in range(400) %}{% for j in range(400) %}x{% endfor %}{% endfor %}{{ messages[0].content }}',
  "{{ raise_exception('boom') }}",
  '{% if %}',
  '{{ messages[0].content ',
  'no user message here',
  '{% macro f() %}{{ f() }}{% endmacro %}{{ f() }}',
  "{% set ns = namespace(s='ab') %}{% for i in range(40) %}{% set ns.s = ns.s ~ ns.s %}{% endfor %}{{ ns.s }}",
  "{{ messages[0]['content'] }}{{ 'x' | indent(1000000) }}\n{{ 'y' | indent(100000) }}",
  "{{ (messages[0]['content'] ~ '\\n') * 3 }}",
];
const CONFIG_FIELDS = [
  'n_layers',
  'n_heads',
  'n_kv_heads',
  'd_model',
  'embedding_size',
  'vocab_size',
  'mask_token_id',
  'eos_token_id',
  'pad_token_id',
  'block_size',
  'rope_theta',
  'rms_norm_eps',
  'max_sequence_length',
];
const NAMES = [
  'config.json',
  'tokenizer.json',
  'tokenizer_config.json',
  'dlens-card.json',
  'model.safetensors.index.json',
  'model.safetensors',
];
const INDEX_PATHS = (area: Area) => [
  '../outside/outside.safetensors',
  join(area.base, 'outside', 'outside.safetensors'),
  join(area.base, 'outside', 'secret.txt'),
  '../../../../../../../../etc/passwd',
  'leaving.safetensors',
  'dangling.safetensors',
  'fifo.safetensors',
  '',
  '.',
  '..',
  'sub/../model.safetensors',
  'missing.safetensors',
  5,
  null,
];

/** One hostile case in `dir` (a pristine copy first): returns what was done, for the failure message. */
export function hostileCase(area: Area, dir: string, rng: Rng): string {
  pristineCopy(area, dir);
  const pick = <T>(xs: readonly T[]): T => xs[rng.int(0, xs.length - 1)]!;
  const kind = rng.int(0, 8 - 1);
  if (kind === 0) {
    const field = pick(CONFIG_FIELDS),
      value = pick(HOSTILE_NUMBERS);
    put(dir, 'config.json', JSON.stringify({ ...area.config, [field]: value }));
    return `config.json ${field} = ${JSON.stringify(value)}`;
  }
  if (kind === 1) {
    const text = pick([
      'null',
      '[]',
      '{',
      '"x"',
      nest(100_000),
      '{"n_layers": 2, "n_layers": 3}',
      SECRET,
      ' '.repeat(5 << 20),
      '\xff\xfe{}',
    ]);
    put(dir, pick(['config.json', 'tokenizer.json', 'tokenizer_config.json', 'dlens-card.json']), text);
    return `a JSON file holds ${JSON.stringify(text.slice(0, 30))}`;
  }
  if (kind === 2) return headerCase(area, dir, rng, pick);
  if (kind === 3) {
    const name = pick(INDEX_PATHS(area));
    symlinkSync(join(area.base, 'outside', 'outside.safetensors'), join(dir, 'leaving.safetensors'));
    symlinkSync(join(dir, 'nothing-here'), join(dir, 'dangling.safetensors'));
    mkfifo(join(dir, 'fifo.safetensors'));
    mkdirSync(join(dir, 'sub'));
    const map = Object.fromEntries(
      Object.keys(area.header)
        .filter((k) => k !== '__metadata__')
        .map((k) => [k, name]),
    );
    put(dir, 'model.safetensors.index.json', JSON.stringify({ weight_map: map }));
    return `index names ${JSON.stringify(name)} for every tensor`;
  }
  if (kind === 4) {
    const name = pick(NAMES);
    rmSync(join(dir, name), { force: true });
    const how = pick(['fifo', 'folder', 'link-out', 'dangling', 'device']);
    if (how === 'fifo') mkfifo(join(dir, name));
    else if (how === 'folder') mkdirSync(join(dir, name));
    else if (how === 'link-out') symlinkSync(join(area.base, 'outside', 'secret.txt'), join(dir, name));
    else if (how === 'dangling') symlinkSync(join(dir, 'nothing'), join(dir, name));
    else symlinkSync('/dev/zero', join(dir, name));
    return `${name} is ${how}`;
  }
  if (kind === 5) {
    const template = pick<unknown>([...TEMPLATES, 5, ['a'], null]);
    put(dir, 'tokenizer_config.json', JSON.stringify({ chat_template: template, eos_token: { content: 5 } }));
    return `chat_template ${JSON.stringify(template).slice(0, 60)}`;
  }
  if (kind === 6) {
    const card = pick<unknown>([
      { license: 5, training: [], eval: 'x' },
      { description: 'x'.repeat(1000), training: { a: nest(20) } },
      JSON.parse(`{"eval": ${'{"a":'.repeat(31)}1${'}'.repeat(31)}}`),
    ]);
    put(dir, 'dlens-card.json', JSON.stringify(card));
    return `dlens-card.json ${JSON.stringify(card).slice(0, 40)}`;
  }
  // Two faults at once: the first one found is reported, whichever it is.
  const a = hostileCase(area, dir + '-a', rng);
  rmSync(dir, { recursive: true, force: true });
  renameSync(dir + '-a', dir);
  const field = pick(CONFIG_FIELDS);
  put(dir, 'config.json', JSON.stringify({ ...area.config, [field]: pick(HOSTILE_NUMBERS) }));
  return `${a}; and config.json ${field}`;
}

function headerCase(area: Area, dir: string, rng: Rng, pick: <T>(xs: readonly T[]) => T): string {
  const names = Object.keys(area.header).filter((k) => k !== '__metadata__');
  const header = structuredClone(area.header);
  const victim = pick(names);
  const entry = header[victim] as { data_offsets: number[] };
  const what = rng.int(0, 10 - 1);
  let length: bigint | undefined;
  let raw: string | undefined;
  let data: Uint8Array = area.data;
  if (what === 0) header[victim] = pick([null, 5, 'x', []]);
  else if (what === 1) (header[victim] as Record<string, unknown>).dtype = pick(['F64', 'I8', 'Q4', 5, null]);
  else if (what === 2)
    (header[victim] as Record<string, unknown>).shape = pick([[-1], [1.5], ['4'], null, [2 ** 40], []]);
  else if (what === 3)
    (header[victim] as Record<string, unknown>).data_offsets = pick([
      {},
      [0.5, 128.5],
      [-2232, -2104],
      [entry.data_offsets[1], entry.data_offsets[0]],
      [0, 2 ** 60],
      [0],
      null,
    ]);
  else if (what === 4) {
    // Overlap: another tensor of the same byte length takes this one's bytes.
    const other = names.find(
      (n) =>
        n !== victim &&
        (header[n] as { data_offsets: number[] }).data_offsets[1]! -
          (header[n] as { data_offsets: number[] }).data_offsets[0]! ===
          entry.data_offsets[1]! - entry.data_offsets[0]!,
    );
    if (other) (header[other] as { data_offsets: number[] }).data_offsets = [...entry.data_offsets];
  } else if (what === 5) raw = pick(['null', '[]', '"x"', '{', nest(10_000), SECRET]);
  else if (what === 6) length = pick([0n, 1n, 2n ** 63n, BigInt(Buffer.from(SECRET).readBigUInt64LE(0)), 7n]);
  else if (what === 7) data = area.data.subarray(0, rng.int(0, area.data.length - 1));
  else if (what === 8) {
    const bytes = shardBytes(header, data);
    for (let i = 0; i < 4; i++) bytes[8 + rng.int(0, bytes.length - 8 - 1)] = rng.int(0, 256 - 1);
    put(dir, 'model.safetensors', bytes);
    return `shard bytes flipped`;
  } else header[`${victim}.copy`] = header[victim];
  put(dir, 'model.safetensors', shardBytes(raw ?? header, data, length));
  return `shard header case ${what} on ${victim}`;
}
