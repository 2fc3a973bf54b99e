import { describe, it, expect } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { record } from '../../engine/record.js';
import { readTrace } from '../../engine/trace/trace.js';
import { taskAt } from '../../engine/tasks/generate.js';
import { fileCorpus } from '../../engine/tasks/corpus.js';
import { DEFAULTS } from '../../engine/api/defaults.js';
import { detectFailures, decodingOrder, type DetectorId } from '../../engine/metrics/index.js';
import { dlens, tmp } from '../helpers.js';

/**
 * Each failure detector on a real dlens-tiny decode that shows it (found with npm run bench:diagnostics, which keeps
 * every instance's trace), and `dlens diff` / `dlens info` / `dlens bench` printing what they compute.
 */
const dir = tmp();
async function decodeTo(name: string, req: Parameters<typeof record>[0]) {
  const out = join(dir, `${name}.dlens`);
  await record({ genLength: 32, blockLength: 32, ...req, out });
  return { out, trace: readTrace(new Uint8Array(readFileSync(out))) };
}
const task = (ref: string) => {
  const [suite, i] = ref.split(':') as [string, string];
  return taskAt(suite, Number(i), DEFAULTS.taskSeed, { split: 'eval', corpus: fileCorpus() });
};
const flagged = (t: ReturnType<typeof readTrace>, id: DetectorId) =>
  detectFailures(t).find((r) => r.id === id)!.findings;

describe('failure detectors on real decodes', () => {
  it('EOS flood: EOS dominates the predictions over answer text (pick:5, low-confidence)', async () => {
    const { trace } = await decodeTo('eos', { task: task('pick:5') });
    expect(flagged(trace, 'eos-flood')[0]!.detail).toMatch(/EOS is the top-1 at \d+ of \d+ masked positions/);
  });
  it('repetition: a sort of six 5s loses one and loops "5 " (low-confidence)', async () => {
    const { trace } = await decodeTo('rep', { prompt: 'Sort: 5 5 5 5 5 5' });
    expect(trace.manifest.output).toBe('5 5 5 5 5');
    expect(flagged(trace, 'repetition')[0]!.detail).toMatch(/2-gram "5" " " repeated 4 times/);
  });
  it('premature commit: a wrong digit committed where the step before had the right one (arith:10, low-confidence)', async () => {
    const { trace } = await decodeTo('prem', { task: task('arith:10'), genLength: 64 });
    expect(trace.manifest.output).toContain('261 + 49 = 300'); // 310
    const f = flagged(trace, 'premature-commit').filter((x) => x.sign === 'not-top1-before');
    expect(f[0]!.detail).toMatch(/"0" committed at position \d+; the step before, the top-1 there was "1"/);
  });
  it('stall and lock-in: forced one-token steps and a space the neighbours follow (pick:2, fast-dllm-threshold)', async () => {
    const { trace } = await decodeTo('stall', { task: task('pick:2'), strategy: 'fast-dllm-threshold' });
    expect(flagged(trace, 'stall')[0]!.detail).toMatch(/no position passed the threshold; \d+ forced commits/);
    expect(flagged(trace, 'lock-in')[0]!.detail).toMatch(/" " committed at position \d+/);
    // a schedule-driven strategy records no fallback: the stall detector says it cannot judge it
    const lc = await decodeTo('stall-lc', { task: task('pick:2') });
    expect(detectFailures(lc.trace).find((r) => r.id === 'stall')!.notApplicable).toMatch(/schedule/);
  });
  it('a clean decode has no flags but premature commits (copy:0)', async () => {
    const { trace } = await decodeTo('clean', { task: task('copy:0'), strategy: 'fast-dllm-threshold' });
    const hits = detectFailures(trace).filter((r) => r.findings.length && r.id !== 'premature-commit');
    expect(hits).toEqual([]);
  });
});

describe('decoding order and divergence from the command line', () => {
  it('dlens info prints the order and the detectors; dlens diff finds where two decodes part', async () => {
    const a = await decodeTo('a', { task: task('pick:1') });
    const b = await decodeTo('b', { task: task('pick:1'), strategy: 'fast-dllm-threshold' });
    const o = decodingOrder(a.trace);
    expect(o.overall.answer.kendall).toBeGreaterThan(-1);
    const info = await dlens(['info', a.out]);
    expect(info.code).toBe(0);
    expect(info.stdout).toMatch(/decoding order \(1 = left to right\): Kendall τ -?\d\.\d\d/);
    expect(info.stdout).toMatch(/Stall\s+not applicable/);
    const diff = await dlens(['diff', a.out, b.out, '--json']);
    expect(diff.code).toBe(0);
    const d = JSON.parse(diff.stdout);
    expect(d.states.step).toBe(1); // the threshold decoder commits several positions at its first step
    expect(d.states.positions[0].b.candidates.length).toBe(5);
    const text = await dlens(['diff', a.out, b.out]);
    expect(text.stdout).toMatch(/states part at step 1/);
  });
  it('dlens diff refuses traces of different prompts and a missing file, with exit 2', async () => {
    const a = await decodeTo('p1', { prompt: 'Sort: 3 1 2' });
    const b = await decodeTo('p2', { prompt: 'Copy: cat dog' });
    const r = await dlens(['diff', a.out, b.out]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/cannot be compared: the traces decode different prompts/);
    expect((await dlens(['diff', a.out])).stderr).toMatch(/takes two trace files/);
    expect((await dlens(['diff', a.out, join(dir, 'none.dlens')])).stderr).toMatch(/does not exist/);
  });
  it('dlens bench reports detector shares and Kendall tau, and keeps instance traces with --traces', async () => {
    const keep = join(dir, 'bench');
    const r = await dlens([
      'bench',
      '--suite',
      'pick',
      '--strategies',
      'low-confidence,fast-dllm-threshold',
      '--limit',
      '2',
      '--traces',
      keep,
      '--format',
      'json',
    ]);
    expect(r.code).toBe(0);
    const { cells } = JSON.parse(r.stdout);
    const th = cells.find((c: { strategy: string }) => c.strategy === 'fast-dllm-threshold');
    expect(th.detectors.stall).toBe(0.5); // pick:1 stalls, pick:0 does not
    expect(cells[0].detectors.stall).toBeNull(); // low-confidence: not applicable
    expect(th.instances[1].flagged).toContain('stall');
    // premature commit's two signs, counted apart: each at most the detector's share, together at least it
    const pc = th.detectors['premature-commit'],
      [before, later] = ['not-top1-before', 'contradicted'].map((s) => th.detector_signs[`premature-commit:${s}`]);
    expect(Math.max(before, later)).toBeLessThanOrEqual(pc);
    expect(before + later).toBeGreaterThanOrEqual(pc);
    for (const x of th.instances)
      expect(x.flagged.includes('premature-commit')).toBe(
        x.flagged_signs.some((s: string) => s.startsWith('premature-commit:')),
      );
    expect(readTrace(new Uint8Array(readFileSync(th.instances[1].trace))).manifest.task?.id).toBe(
      th.instances[1].task_id,
    );
    const md = await dlens(['bench', '--suite', 'pick', '--limit', '1']);
    expect(md.stdout).toMatch(/\| Stall % \|/);
    expect(md.stdout).toMatch(
      /\| Premature commit: not top-1 the step before % \| Premature commit: contradicted later % \|/,
    );
  });
});

describe('diagnostics on a converted checkpoint', () => {
  it('a Dream-architecture checkpoint converted with --lens: info, diff and the lens over its decodes', async () => {
    // Random weights in Dream's layout (shifted rows, q/k/v biases): the output is noise, but every diagnostic must
    // read its traces as it reads dlens-tiny's.
    const { randomQwenCheckpoint } = await import('../support/random-checkpoint.js');
    const hf = join(dir, 'dream-hf'),
      model = join(dir, 'dream-lens');
    randomQwenCheckpoint(hf, 'dream');
    expect((await dlens(['convert', hf, '--out', model, '--lens'])).code).toBe(0);
    // Four tokens per step against a threshold decoder (which, unsure of everything here, commits one per step).
    const runs = [
      ['low-confidence', '--steps', '16'],
      ['fast-dllm-threshold', '--steps', '64'],
    ];
    const traces = runs.map(([strategy]) => join(dir, `dream-${strategy}.dlens`));
    for (const [i, [strategy, ...rest]] of runs.entries()) {
      const r = await dlens([
        'record',
        '--model',
        model,
        '--prompt',
        'hi',
        '--strategy',
        strategy!,
        ...rest,
        '--out',
        traces[i]!,
      ]);
      expect(r.code, r.stderr).toBe(0);
    }
    const info = JSON.parse((await dlens(['info', traces[0]!, '--json'])).stdout).summary;
    expect(info.detectors.map((d: { id: string }) => d.id)).toEqual([
      'eos-flood',
      'repetition',
      'premature-commit',
      'stall',
      'lock-in',
      'oscillation',
      'late-edit',
    ]);
    expect(Number.isFinite(info.order.overall.all.kendall)).toBe(true);
    expect(info.lens.layers).toBe(2);
    expect(info.lens.commits).toBeGreaterThan(0);
    const t = readTrace(new Uint8Array(readFileSync(traces[1]!)));
    expect(t.lensIds.shape).toEqual([t.dims.S, 2, t.dims.G]);
    expect(detectFailures(t).find((d) => d.id === 'stall')!.notApplicable).toBeNull();
    const diff = await dlens(['diff', ...traces, '--json']);
    expect(diff.code, diff.stderr).toBe(0);
    expect(JSON.parse(diff.stdout).states).toMatchObject({ step: expect.any(Number) });
  });
});
