import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { loadModel, type LoadedModel } from '../../engine/model/load.js';
import { record } from '../../engine/record.js';
import { readTrace } from '../../engine/trace/trace.js';
import { openSet } from '../../engine/traceset/set.js';
import { compactDecode, expandDecode } from '../../engine/trace/set-decode.js';
import { taskAt } from '../../engine/tasks/generate.js';
import { fileCorpus } from '../../engine/tasks/corpus.js';
import { DEFAULTS } from '../../engine/api/defaults.js';
import { ROOT, dlens, tmp } from '../helpers.js';

/**
 * A trace set recorded where an evaluation runs: `torchrun` with two gloo processes decodes 24 prompts of dlens-tiny
 * in PyTorch, batched (LLaDA's low-confidence rule), and records every row of every batch into one set, each rank
 * its own shard. The command line then reads it: info, a label join from a samples file in lm-eval's format, merge,
 * diff against the engine's bench of the same prompts, export; every decode equals the TypeScript engine's decode
 * of the same prompt. A writer killed mid-write leaves a set holding every decode it finished.
 */
const CKPT = join(ROOT, 'assets/checkpoints/dlens-tiny');
let dir: string, model: LoadedModel;
const prompts: { task: string; doc_id: number; prompt: string; ids: number[]; reference: string }[] = [];

/** A free loopback port for the ranks' rendezvous (torch 1.13's launcher does not take port 0). */
async function freePort() {
  const s = createServer();
  await new Promise<void>((ok) => s.listen(0, '127.0.0.1', ok));
  const port = (s.address() as { port: number }).port;
  await new Promise((ok) => s.close(ok));
  return port;
}

async function torchrun(args: string[], nproc = 2) {
  // --redirects/--tee 1: torch 1.13's launcher on Python 3.11 cannot parse its own default "0" (IntFlag iteration).
  const launch = ['-m', 'torch.distributed.run', `--nproc_per_node=${nproc}`, `--master_port=${await freePort()}`];
  // Asynchronously: the ranks take tens of seconds, and a worker blocked that long misses vitest's messages.
  const p = spawn(
    '/usr/bin/python3',
    [...launch, '--redirects=1', '--tee=1', 'test/support/eval_set_tiny.py', ...args],
    {
      cwd: ROOT,
      env: { ...process.env, OMP_NUM_THREADS: '1' },
    },
  );
  let stderr = '';
  p.stderr.on('data', (d) => (stderr += d));
  p.stdout.resume();
  const status = await new Promise<number | null>((ok) => p.on('close', (code) => ok(code)));
  return { status, stderr };
}

beforeAll(async () => {
  dir = tmp('dlens-set-');
  model = await loadModel();
  // Prompts of three lengths (a batch holds one length), 8 of each.
  const want = new Map([
    [13, 8],
    [14, 8],
    [15, 8],
  ]);
  for (const suite of ['sort', 'copy', 'add', 'reverse'])
    for (let i = 0; i < 60; i++) {
      const t = taskAt(suite, i, DEFAULTS.taskSeed, { split: 'eval', corpus: fileCorpus() });
      const ids = model.encode(model.card.prompt_template.replace('{prompt}', t.prompt));
      if ((want.get(ids.length) ?? 0) > 0) {
        want.set(ids.length, want.get(ids.length)! - 1);
        prompts.push({ task: suite, doc_id: i, prompt: t.prompt, ids, reference: t.reference });
      }
    }
  writeFileSync(join(dir, 'prompts.json'), JSON.stringify(prompts));
}, 120_000);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('a compact decode', () => {
  it('of a gen-256, block-32, top-5 decode takes at most 1 MB and exports back to the same decode', async () => {
    const out = join(dir, 'g256.dlens');
    await record(
      {
        task: taskAt('arith', 8, DEFAULTS.taskSeed, { split: 'eval', corpus: fileCorpus() }),
        genLength: 256,
        blockLength: 32,
        topK: 5,
        lens: false,
        out,
      },
      { model },
    );
    const full = readFileSync(out);
    const t = readTrace(full);
    const blob = compactDecode(t);
    console.log(`gen 256, block 32, top-5: .dlens ${full.length} bytes, compact decode ${blob.length} bytes`);
    expect(blob.length).toBeLessThan(1 << 20);
    const back = readTrace(expandDecode(blob));
    expect(Array.from(back.state)).toEqual(Array.from(t.state));
    expect(Array.from(back.commitStep)).toEqual(Array.from(t.commitStep));
    // The rows a step decides from keep their statistics exactly; other rows read as not recorded.
    const { S, G, K, P, T } = t.dims;
    for (let s = 0; s < S; s++)
      for (let g = 0; g < G; g++) {
        const decided = t.masked[s * T + P + g] && P + g >= t.block[2 * s]! && P + g < t.block[2 * s + 1]!;
        const c = back.confidence[s * G + g]!;
        if (decided) expect(c).toBe(t.confidence[s * G + g]);
        else expect(Number.isNaN(c)).toBe(true);
      }
    expect(Array.from(back.topkIds.row(S - 1)!.subarray(0, K))).toHaveLength(K);
  }, 300_000);
});

describe('a trace set recorded under torchrun', () => {
  it('two ranks write two shards holding every row of every batch, each the engine’s decode of its prompt', async () => {
    expect(prompts.length).toBe(24);
    const set = join(dir, 'py.dlset');
    const r = await torchrun([CKPT, join(dir, 'prompts.json'), set, '--batch', '4']);
    expect(r.status, r.stderr).toBe(0);
    expect(readdirSync(join(set, 'shards')).filter((f) => f.endsWith('.jsonl'))).toHaveLength(2);
    const info = JSON.parse((await dlens(['set', 'info', set, '--json'])).stdout);
    expect(info.decodes).toBe(24);
    const s = openSet(set);
    for (const p of prompts) {
      const row = s.rows.find((x) => x.sample?.task === p.task && String(x.sample.doc_id) === String(p.doc_id))!;
      expect(row, `${p.task}:${p.doc_id}`).toBeDefined();
      const a = readTrace(s.trace(row.id));
      const eng = join(dir, 'eng.dlens');
      await record(
        { prompt: p.prompt, strategy: 'low-confidence', genLength: 32, blockLength: 32, steps: 32, out: eng },
        { model },
      );
      const b = readTrace(readFileSync(eng));
      const { S, T } = b.dims;
      expect(a.dims.S).toBe(S);
      // The final sequence is the engine's (ties at probability 1 within float32 may commit in another order:
      // python-recorder.test.ts says why; the final tokens agree).
      expect(Array.from(a.state.subarray(S * T)), `${p.task}:${p.doc_id}`).toEqual(Array.from(b.state.subarray(S * T)));
      expect(a.manifest.output).toBe(b.manifest.output);
    }
  }, 600_000);

  it('set label joins lm-eval samples; merge, diff against the engine’s bench, and export read the set', async () => {
    const set = join(dir, 'py.dlset');
    // lm-eval's --log_samples lines (lm_eval/evaluator.py): doc_id, target, filtered_resps, filter, metrics + values.
    const sort = prompts.filter((p) => p.task === 'sort');
    const samples = join(dir, 'samples_sort_2026-12-03T10-00-00.123456.jsonl');
    writeFileSync(
      samples,
      sort
        .flatMap((p, i) =>
          ['strict-match', 'flexible-extract'].map((filter) =>
            JSON.stringify({
              doc_id: p.doc_id,
              doc: { question: p.prompt },
              target: p.reference,
              arguments: [[p.prompt, {}]],
              resps: [['x']],
              filtered_resps: [filter === 'strict-match' ? `answer ${i}` : 'x'],
              filter,
              metrics: ['exact_match'],
              doc_hash: 'h',
              prompt_hash: 'h',
              target_hash: 'h',
              exact_match: i % 2 === 0 ? 1.0 : 0.0,
            }),
          ),
        )
        .join('\n') + '\n',
    );
    const l = JSON.parse((await dlens(['set', 'label', set, samples, '--json'])).stdout);
    expect(l).toMatchObject({ task: 'sort', filter: 'strict-match', labelled: sort.length });
    const labelled = openSet(set).rows.filter((r) => r.sample?.task === 'sort');
    expect(labelled.filter((r) => r.correct).length).toBe(Math.ceil(sort.length / 2));
    expect(labelled.every((r) => r.filtered?.startsWith('answer '))).toBe(true);

    // The engine's bench of the same suites into another set, paired with the PyTorch one on (task, doc_id).
    const eng = join(dir, 'engine.dlset');
    const b = await dlens([
      'bench',
      '--suite',
      'copy',
      '--strategies',
      'fast-dllm-threshold',
      '--limit',
      '8',
      '--gen-length',
      '32',
      '--set',
      eng,
      '--json',
    ]);
    expect(b.code, b.stderr).toBe(0);
    const d = JSON.parse((await dlens(['set', 'diff', set, eng, '--json'])).stdout);
    const copies = prompts.filter((p) => p.task === 'copy' && p.doc_id < 8).length;
    expect(d.paired).toBe(copies);
    expect(d.steps_saved).toBeGreaterThan(0); // the threshold rule takes fewer steps than one token per step

    const merged = join(dir, 'merged.dlset');
    const m = JSON.parse((await dlens(['set', 'merge', set, eng, '--out', merged, '--json'])).stdout);
    expect(m.decodes).toBe(24 + 8);
    const again = JSON.parse((await dlens(['set', 'merge', set, '--out', merged, '--json'])).stdout);
    expect(again.added).toBe(0);
    const id = openSet(merged).rows.find((r) => r.sample?.task === 'sort' && r.correct)!.id;
    const out = join(dir, 'one.dlens');
    expect((await dlens(['set', 'export', merged, id, '--out', out])).code).toBe(0);
    expect((await dlens(['info', out])).code).toBe(0);
  }, 600_000);

  it('a writer killed mid-write leaves a readable set with every decode it finished', async () => {
    const set = join(dir, 'killed.dlset');
    const r = await torchrun([CKPT, join(dir, 'prompts.json'), set, '--batch', '4', '--kill-after', '6'], 1);
    expect(r.status).not.toBe(0);
    const s = openSet(set);
    expect(s.rows).toHaveLength(5); // the sixth was being written when the process was killed
    for (const row of s.rows) expect(readTrace(s.trace(row.id)).manifest.complete).toBe(true);
    const info = await dlens(['set', 'info', set]);
    expect(info.code).toBe(0);
    expect(info.stdout).toMatch(/5 decodes/);
  }, 600_000);
});
