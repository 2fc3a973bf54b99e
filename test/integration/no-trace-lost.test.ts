import { describe, it, expect } from 'vitest';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, lstatSync, mkdirSync, readFileSync, readdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { dlens, python, tmp, FIXTURE } from '../helpers.js';
import { readTrace } from '../../engine/trace/trace.js';
import { record } from '../../engine/record.js';

const short = ['--model', FIXTURE, '--prompt', 'hi', '--gen-length', '8', '--block-length', '8', '--steps', '8'];

describe('no trace is lost', () => {
  it('a cancel before any text is decoded writes a valid trace with empty output', async () => {
    // dlens-tiny's low-confidence rule commits the EOS padding of a short definition first.
    const out = join(tmp(), 'lantern.dlens');
    const ac = new AbortController();
    const s = await record(
      { prompt: 'Define: lantern', genLength: 64, blockLength: 64, steps: 64, out },
      {
        signal: ac.signal,
        onStep: (p) => {
          if (p.step === 3) ac.abort();
        },
      },
    );
    expect(s).toMatchObject({ output: '', complete: false, steps: 3 });
    const t = readTrace(new Uint8Array(readFileSync(out)));
    expect(t.manifest).toMatchObject({ output: '', complete: false, incomplete_reason: 'cancelled' });
    expect((await python(['test/check_trace.py', out])).code).toBe(0);
  });

  it('a cancel before the first step writes a valid trace of zero steps', async () => {
    const out = join(tmp(), 'zero.dlens');
    const ac = new AbortController();
    ac.abort();
    const s = await record(
      { model: FIXTURE, prompt: 'hello', genLength: 16, blockLength: 8, steps: 16, out },
      { signal: ac.signal },
    );
    expect(s).toMatchObject({ output: '', steps: 0, complete: false });
    expect(readTrace(new Uint8Array(readFileSync(out))).dims.S).toBe(0);
    const py = await python(['test/check_trace.py', out]);
    expect(py.stderr).toBe('');
    expect(py.code).toBe(0);
  });

  it('--out through a symlink writes the file it points to and keeps the link', async () => {
    const d = tmp();
    mkdirSync(join(d, 'results'));
    writeFileSync(join(d, 'results', 'real.dlens'), 'old');
    symlinkSync(join(d, 'results', 'real.dlens'), join(d, 'link.dlens'));
    const r = await dlens(['record', ...short, '--out', join(d, 'link.dlens')]);
    expect(r.code).toBe(0);
    expect(lstatSync(join(d, 'link.dlens')).isSymbolicLink()).toBe(true);
    expect(readTrace(new Uint8Array(readFileSync(join(d, 'results', 'real.dlens')))).dims.S).toBe(8);
  });

  it('--out refuses a folder, a device, a named pipe and a dangling link, and leaves them as they were', async () => {
    const d = tmp();
    mkdirSync(join(d, 'folder.dlens'));
    execFileSync('mkfifo', [join(d, 'pipe.dlens')]);
    symlinkSync(join(d, 'nowhere', 'x.dlens'), join(d, 'dangling.dlens'));
    const cases: [string, string][] = [
      [join(d, 'folder.dlens'), 'it is a folder, not a file'],
      ['/dev/null', 'it is a device, not a file'],
      [join(d, 'pipe.dlens'), 'it is a named pipe, not a file'],
      [join(d, 'dangling.dlens'), 'it is a symbolic link to a file that does not exist'],
    ];
    for (const [out, msg] of cases) {
      const r = await dlens(['record', ...short, '--out', out]);
      expect(r.code).toBe(2);
      expect(r.stderr).toContain(`dlens: cannot write ${out}: ${msg}`);
    }
    expect(lstatSync(join(d, 'folder.dlens')).isDirectory()).toBe(true);
    expect(lstatSync(join(d, 'pipe.dlens')).isFIFO()).toBe(true);
    expect(lstatSync('/dev/null').isCharacterDevice()).toBe(true);
    expect(readdirSync(d).sort()).toEqual(['dangling.dlens', 'folder.dlens', 'pipe.dlens']);
  });

  it('the next write removes temporary files a killed run left, and keeps those of a live one', async () => {
    const d = tmp();
    const dead = spawnSync(process.execPath, ['-e', '0']).pid!;
    writeFileSync(join(d, `t.dlens.tmp-${dead}-1700000000000`), 'partial');
    writeFileSync(join(d, `t.dlens.tmp-${process.pid}-1700000000000`), 'in progress');
    expect((await dlens(['record', ...short, '--out', join(d, 't.dlens')])).code).toBe(0);
    expect(readdirSync(d).sort()).toEqual(['t.dlens', `t.dlens.tmp-${process.pid}-1700000000000`]);
    expect(existsSync(join(d, 't.dlens'))).toBe(true);
  });
});
