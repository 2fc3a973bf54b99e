import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { readTrace } from '../../engine/trace/trace.js';
import { breather, python, tmp } from '../helpers.js';

/**
 * The Python package's reader (dlens.read) and the app's reader (engine/trace) give the same verdict on 10,000 seeded
 * hostile files (python/tests/hostile_traces.py): a file one of them opens and the other refuses is a file someone
 * analyses in numpy that the app cannot show, or the reverse.
 */
const N = 10_000;
let dir: string;
beforeAll(async () => {
  dir = tmp('dlens-agreement-');
  const r = await python(['python/tests/hostile_traces.py', dir, String(N)]);
  if (r.code !== 0) throw new Error(r.stderr);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** The app's verdict: open the trace and read every step of the tensors it checks row by row when shown. */
function tsVerdict(bytes: Uint8Array): boolean {
  try {
    const t = readTrace(bytes);
    for (let s = 0; s < t.dims.S; s++) {
      for (const x of [t.topkIds, t.lensIds, t.attnBlock]) if (x.present) x.row(s);
    }
    return true;
  } catch {
    return false;
  }
}

describe('the Python and TypeScript readers agree', () => {
  it(`on ${N} hostile files: both open it, or both refuse it`, async () => {
    const files = readdirSync(dir).sort();
    const r = await python([
      '-c',
      `import sys, json, os; sys.path.insert(0, 'python'); import dlens
out = []
for f in sorted(os.listdir(sys.argv[1])):
    try:
        dlens.read(os.path.join(sys.argv[1], f)); out.append(True)
    except dlens.TraceError:
        out.append(False)
print(json.dumps(out))`,
      dir,
    ]);
    expect(r.stderr).toBe('');
    const py = JSON.parse(r.stdout) as boolean[];
    const disagree: string[] = [];
    const breathe = breather();
    for (const [i, f] of files.entries()) {
      await breathe(); // (test/helpers.ts says why)
      if (tsVerdict(new Uint8Array(readFileSync(join(dir, f)))) !== py[i]) disagree.push(f);
    }
    const opened = py.filter(Boolean).length;
    expect(opened, 'some files open (the fuzz is not all broken files)').toBeGreaterThan(N / 50);
    expect(disagree, `files where the readers disagree (python/tests/hostile_traces.py ${dir} ${N})`).toEqual([]);
  }, 300_000);
});
