import { describe, it, expect } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { readTrace } from '../../engine/trace/trace.js';
import { deriveCommitSteps, deriveEdits } from '../../engine/trace/derive.js';
import { dlens, python, tmp } from '../helpers.js';

/**
 * Decoders that change committed tokens (issue 34): an editing decode (edit-threshold with SGLang's default edit
 * threshold 0, which on dlens-tiny rewrites committed tokens) and a remasking decode (remdm) write traces whose
 * `edits` rows are exactly the changes their states show, whose commit_step is each position's final commit, that
 * numpy's reader accepts, and that `dlens info` counts.
 */
describe('remasking and editing decodes write their changes', () => {
  const dir = tmp();
  const cases = [
    ['edit', ['--strategy', 'edit-threshold', '--set', 'edit_threshold=0', '--gen-length', '64']],
    ['remask', ['--strategy', 'remdm', '--gen-length', '32', '--block-length', '32', '--steps', '32']],
  ] as const;
  it.each(cases)(
    '%s: edits agree with the states, commit_step is the final commit, info counts them',
    async (kind, args) => {
      const out = join(dir, `${kind}.dlens`);
      const r = await dlens(['record', '--task', 'copy:3', ...args, '--out', out]);
      expect(r.code, r.stderr).toBe(0);
      const t = readTrace(new Uint8Array(readFileSync(out)));
      const { S, T, P } = t.dims;
      expect(t.holds.has('edits')).toBe(true);
      expect(Array.from(t.edits)).toEqual(Array.from(deriveEdits(t.state, t.masked, S, T)));
      expect(Array.from(t.commitStep)).toEqual(Array.from(deriveCommitSteps(t.state, t.masked, S, T, P)));
      let edits = 0,
        remasks = 0;
      for (let i = 0; i < t.edits.length; i += 4) {
        if (t.edits[i + 3] === t.manifest.mask_token_id) remasks++;
        else edits++;
      }
      if (kind === 'edit') expect(edits).toBeGreaterThan(0);
      else expect(remasks).toBeGreaterThan(0);
      const info = await dlens(['info', out]);
      expect(info.stdout).toContain(`revisions: ${edits} edits, ${remasks} remasks`);
      const json = JSON.parse((await dlens(['info', out, '--json'])).stdout) as {
        summary: {
          revisions: { edits: number; remasks: number };
          detectors: { id: string; notApplicable: string | null }[];
        };
      };
      expect(json.summary.revisions).toMatchObject({ edits, remasks });
      for (const id of ['oscillation', 'late-edit'])
        expect(json.summary.detectors.find((d) => d.id === id)?.notApplicable).toBeNull();
      expect((await python(['test/check_trace.py', out])).code).toBe(0);
    },
  );

  it('a commit-once decode has no revisions and the revision detectors say why they do not apply', async () => {
    const out = join(dir, 'once.dlens');
    expect((await dlens(['record', '--task', 'copy:3', '--out', out])).code).toBe(0);
    const info = await dlens(['info', out]);
    expect(info.stdout).toContain('revisions: none');
    expect(info.stdout).toMatch(/Oscillation\s+not applicable: no committed token changed in this decode/);
  });

  it('remdm refuses a layout its rule cannot run on, in words', async () => {
    const r = await dlens(['record', '--task', 'copy:3', '--strategy', 'remdm', '--out', join(dir, 'x.dlens')]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/remdm decodes the whole generation as one block.*--block-length/);
    expect(r.stderr).not.toMatch(/internal error/);
  });
});
