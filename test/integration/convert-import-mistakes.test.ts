import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { existsSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { dlens, ROOT, tmp } from '../helpers.js';
import { hostileArea, mkfifo, pristineCopy, put, shardBytes, type Area } from '../support/hostile-checkpoint.js';

/**
 * Every convert and import mistake in test/convert-import-mistakes.json gets its exact one-line message and exit code
 * 2, and leaves nothing at --out. A row names the command line and, in `files`, what is wrong with the checkpoint
 * folder ($CK, a copy of the tiny LLaDA fixture) or the record: `merge` into a JSON file, `text` for a file's whole
 * content, `fifo`, `link` to a path, `header` entries merged into the shard's safetensors header, `header_text` for
 * the header's raw JSON. Add a row to cover a new mistake.
 */
type FileSpec = {
  merge?: Record<string, unknown>;
  text?: string;
  fifo?: true;
  link?: string;
  header?: Record<string, unknown>;
  header_text?: string;
};
interface Row {
  what: string;
  args: string[];
  files?: Record<string, FileSpec>;
  stderr: string;
}
const TABLE = JSON.parse(readFileSync(join(ROOT, 'test', 'convert-import-mistakes.json'), 'utf8')) as Row[];

let base: string, area: Area;
beforeAll(async () => {
  base = tmp('dlens-convert-mistakes-');
  area = hostileArea(base);
});
afterAll(() => rmSync(base, { recursive: true, force: true }));

function setUp(dir: string, files: Record<string, FileSpec>, vars: Record<string, string>) {
  const sub = (s: string) => s.replace(/\$[A-Z]+/g, (k) => vars[k] ?? k);
  for (const [name, f] of Object.entries(files)) {
    const p = join(dir, name);
    if (f.merge) {
      const cur = existsSync(p) ? JSON.parse(readFileSync(p, 'utf8')) : {};
      put(dir, name, JSON.stringify({ ...cur, ...f.merge }));
    } else if (f.text !== undefined) put(dir, name, sub(f.text));
    else if (f.fifo) {
      rmSync(p, { force: true });
      mkfifo(p);
    } else if (f.link) {
      rmSync(p, { force: true });
      symlinkSync(sub(f.link), p);
    } else if (f.header || f.header_text) {
      const header = structuredClone(area.header);
      for (const [k, v] of Object.entries(f.header ?? {}))
        header[k] = v === null ? null : { ...(header[k] as object), ...(v as object) };
      put(dir, name, shardBytes(f.header_text ?? header, area.data));
    }
  }
}

describe('convert and import mistakes (test/convert-import-mistakes.json)', () => {
  it.each(TABLE.map((r) => [r.what, r] as const))('%s', async (_, row) => {
    const ck = join(base, 'ck');
    pristineCopy(area, ck);
    const out = join(base, 'out');
    rmSync(out, { recursive: true, force: true });
    rmSync(`${out}.dlens`, { force: true });
    const vars = { $CK: ck, $OUT: out, $OUTSIDE: join(base, 'outside'), $TOK: join(ck, 'tokenizer.json') };
    setUp(ck, row.files ?? {}, vars);
    const r = await dlens(row.args.map((a) => a.replace(/\$[A-Z]+/g, (k) => vars[k as keyof typeof vars] ?? k)));
    const expected = row.stderr.replace(/\$[A-Z]+/g, (k) => vars[k as keyof typeof vars] ?? k);
    if (process.env.DLENS_SHOW_MISTAKES)
      console.log(
        JSON.stringify(
          r.stderr
            .split('\n')[0]!
            .replaceAll(ck, '$CK')
            .replaceAll(base + '/outside', '$OUTSIDE')
            .replaceAll(out, '$OUT'),
        ),
      );
    expect(r.stderr.split('\n')[0]).toBe(expected);
    expect(r.code).toBe(2);
    expect(existsSync(out) || existsSync(`${out}.dlens`)).toBe(false);
  });
});
