import { describe, it, expect } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { readTrace } from '../../engine/trace/trace.js';
import { deriveCommitSteps, deriveEdits } from '../../engine/trace/derive.js';
import { alignStates } from '../../engine/trace/align.js';
import { openSet } from '../../engine/traceset/set.js';
import { ROOT, dlens, python, tmp } from '../helpers.js';
import { README_DEMO } from '../../scripts/readme-demo.js';

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

/**
 * Uniform-noise decoding (issue 34, item 3): the bundled dlens-tiny-uniform, trained by the recipe to denoise tokens
 * drawn uniformly from the vocabulary, decodes with `renoise`; its traces record which positions are still noise
 * (`masked`), their edits agree with it, and a decode on a model made for the other noise is flagged.
 */
describe('uniform-noise decoding', () => {
  const dir = tmp();
  it('renoise on dlens-tiny-uniform: a valid trace with masked, edits that agree, and no mismatch', async () => {
    const out = join(dir, 'uniform.dlens');
    const r = await dlens([
      'record',
      '--model',
      'dlens-tiny-uniform',
      '--task',
      'arith:0',
      '--strategy',
      'renoise',
      '--out',
      out,
    ]);
    expect(r.code, r.stderr).toBe(0);
    const t = readTrace(new Uint8Array(readFileSync(out)));
    const { S, T, P } = t.dims;
    expect(t.holds.has('masked')).toBe(true);
    // The generation starts as noise: every generated position undecided, holding some token (no mask token).
    for (let p = P; p < T; p++) expect(t.masked[p]).toBe(1);
    expect(Array.from({ length: T - P }, (_, g) => t.masked[S * T + P + g])).toEqual(new Array(T - P).fill(0));
    expect(Array.from(t.edits)).toEqual(Array.from(deriveEdits(t.state, t.masked, S, T)));
    expect(t.manifest.noise).toBe('uniform');
    expect(t.manifest.noise_mismatch).toBeUndefined();
    expect((await dlens(['info', out])).stdout).toContain('noise     uniform');
    expect((await python(['test/check_trace.py', out])).code).toBe(0);
  });

  it('a decode with the other noise than the model was trained for is flagged in the trace and by dlens info', async () => {
    const a = join(dir, 'renoise-on-masked.dlens'),
      b = join(dir, 'masks-on-uniform.dlens');
    expect((await dlens(['record', '--task', 'arith:0', '--strategy', 'renoise', '--out', a])).code).toBe(0);
    expect((await dlens(['record', '--model', 'dlens-tiny-uniform', '--task', 'arith:0', '--out', b])).code).toBe(0);
    for (const [f, why] of [
      [a, /trained to fill masks.*uniform noise/],
      [b, /trained to denoise uniform noise.*fills masks/],
    ] as const) {
      expect(String(readTrace(new Uint8Array(readFileSync(f))).manifest.noise_mismatch)).toMatch(why);
      expect((await dlens(['info', f])).stdout).toMatch(/noise {5}MISMATCH/);
    }
  });

  it("decodes the README demo's task class (arith) at about the rate the recipe reports", async () => {
    const card = JSON.parse(
      readFileSync(join(ROOT, 'assets', 'checkpoints', 'dlens-tiny-uniform', 'dlens-card.json'), 'utf8'),
    ) as { eval: Record<string, Record<string, number>> };
    const reported = card.eval.gpu_bf16_renoise_block32_eval_seed_424242_200_per_suite!.arith!;
    const r = await dlens([
      'bench',
      '--model',
      'dlens-tiny-uniform',
      '--suite',
      README_DEMO.suite,
      '--strategies',
      'renoise',
      '--limit',
      '40',
      '--no-diagnose',
      '--json',
    ]);
    expect(r.code, r.stderr).toBe(0);
    const acc = (JSON.parse(r.stdout) as { cells: { accuracy: number }[] }).cells[0]!.accuracy;
    // 40 sampled decodes of other instances: within 0.2 of the recipe's 200 (about 2.5 standard errors).
    expect(Math.abs(acc - reported), `dlens ${acc} vs recipe ${reported}`).toBeLessThan(0.2);
  }, 240_000);
});

/**
 * Insertions and deletions (issue 34, item 4): a loop that deletes a position and grows, recorded by the Python
 * recorder into a file and into a trace set, opens in dlens as format v3 with the alignment the TypeScript rule gives
 * (engine/trace/align.ts and dlens.align agree), its commit steps following each token across its move.
 */
describe('decodes whose positions move (trace format v3)', () => {
  const dir = tmp();
  const states = [
    [2, 3, 1, 1, 1, 1, 1],
    [2, 3, 5, 9, 6, 7, 1],
    [2, 3, 5, 6, 7, 1],
    [2, 3, 5, 6, 7, 8, 0, 0],
  ];
  it('the Python recorder writes v3 traces and set decodes that dlens reads, aligned as dlens aligns them', async () => {
    const file = join(dir, 'indel.dlens'),
      set = join(dir, 'indel.dlset');
    const script = `
import sys, json
sys.path.insert(0, 'python')
import torch, dlens
states = json.loads(sys.argv[1])
def logits(st):
    lg = torch.full((len(st), 16), -4.0)
    lg[torch.arange(len(st)), torch.tensor(st)] = 4.0
    return lg
def run(rec):
    rec.start(torch.tensor(states[0]))
    for s in range(len(states) - 1):
        rec.step(torch.tensor(states[s + 1]), logits(states[s]))
kw = dict(mask_token_id=1, prompt_length=2, top_k=2, eos_token_id=0, rows='all')
rec = dlens.Recorder(sys.argv[2], **kw)
run(rec)
rec.save()
with dlens.TraceSet(sys.argv[3]) as ts:
    with ts.recorder(sample_id='toy:0', **kw) as rec:
        run(rec)
`;
    const r = await python(['-c', script, JSON.stringify(states), file, set], { torch: true });
    expect(r.code, r.stderr).toBe(0);
    const want = alignStates(states, 0);
    const fromFile = readTrace(new Uint8Array(readFileSync(file)));
    const s = openSet(set);
    const fromSet = readTrace(s.trace(s.rows[0]!.id));
    for (const t of [fromFile, fromSet]) {
      expect(t.manifest.format).toBe('dlens-trace/3');
      expect(Array.from(t.align!)).toEqual(Array.from(want.align));
      expect(t.commitStep[3]).toBe(1); // the 6, committed at position 4 by step 0, kept through its move
    }
    expect((await dlens(['info', file])).code).toBe(0);
  });
});
