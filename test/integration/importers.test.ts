import { describe, it, expect } from 'vitest';
import { readFileSync, writeFileSync, existsSync } from 'node:fs';
import { gzipSync, gunzipSync } from 'node:zlib';
import { join } from 'node:path';
import { readTrace } from '../../engine/trace/trace.js';
import { ROOT, dlens, python, tmp } from '../helpers.js';

const FIX = join(ROOT, 'test/fixtures/import');
const TOK = join(ROOT, 'assets/checkpoints/dlens-tiny/tokenizer.json');
const source = readTrace(readFileSync(join(FIX, 'source.dlens')));
const { P, T, S } = source.dims;
const srcCommit = Array.from(source.commitStep.subarray(P));

/**
 * Each fixture is the dlens-tiny decode in source.dlens written as its tool writes it (test/fixtures/import/make.ts).
 * Imported, it must be the same decode: the same steps, each position decided at the same step, the same tokens.
 */
describe("dlens import: other tools' records come back as the decode they recorded", () => {
  const dir = tmp();
  const imp = async (file: string, from: string, extra: string[] = []) => {
    const out = join(dir, `${from}.dlens`);
    const r = await dlens(['import', join(FIX, file), '--from', from, '--out', out, ...extra]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const t = readTrace(readFileSync(out));
    expect(t.manifest.source).toMatchObject({ kind: 'import', format: from });
    expect(t.dims.S).toBe(S);
    expect(Array.from(t.commitStep)).toEqual(srcCommit);
    const check = await python(['test/check_trace.py', out]);
    expect(check.stderr).toBe('');
    expect(JSON.parse(check.stdout)).toMatchObject({ source: 'import', steps: S, complete: true });
    const info = await dlens(['info', out]);
    expect(info.code).toBe(0);
    expect(info.stdout).toMatch(/source {4}import/);
    expect(info.stdout).toMatch(/holds no {2}topk_ids/);
    return t;
  };

  it("LLaDA's visualization sample_process.txt", async () => {
    const t = await imp('sample_process.txt', 'llada-sample-process', ['--prompt', source.manifest.prompt]);
    // Its own ids (the file has text only), the same text at every position of every step.
    for (let s = 0; s <= S; s++)
      for (let g = 0; g < T - P; g++) {
        const a = t.state[s * (T - P) + g]!,
          b = source.state[s * T + P + g]!;
        const text = (id: number, tr: typeof t) =>
          id === tr.manifest.mask_token_id ? 'MASK' : tr.manifest.vocab[String(id)]!.replace('<|eos|>', ' ');
        expect(text(a, t)).toBe(text(b, source).replace(/\n/g, ' '));
      }
    expect(t.manifest.prompt).toBe(source.manifest.prompt);
  });

  it("ParallelBench's results .json.gz (with the model's tokenizer)", async () => {
    const t = await imp('parallelbench.json.gz', 'parallelbench', ['--tokenizer', TOK]);
    for (let s = 0; s <= S; s++)
      expect(Array.from(t.state.subarray(s * (T - P), (s + 1) * (T - P)))).toEqual(
        Array.from(source.state.subarray(s * T + P, (s + 1) * T)),
      );
    expect(t.manifest.output).toBe(source.manifest.output);
    expect(t.manifest.task?.reference).toBe(source.manifest.task?.reference ?? t.manifest.task?.reference);
  });

  it("lmdeploy's step_map", async () => {
    const t = await imp('lmdeploy.json', 'lmdeploy-step-map', ['--tokenizer', TOK]);
    expect(t.holds.has('masked')).toBe(true);
    expect(Array.from(t.state.subarray(S * (T - P)))).toEqual(Array.from(source.state.subarray(S * T + P)));
    expect(t.manifest.output).toBe(source.manifest.output);
  });

  const lines = readFileSync(join(FIX, 'sample_process.txt'), 'utf8').trimEnd().split('\n');
  const pb = JSON.parse(gunzipSync(readFileSync(join(FIX, 'parallelbench.json.gz'))).toString());
  const lm = JSON.parse(readFileSync(join(FIX, 'lmdeploy.json'), 'utf8'));
  const mistakes: [string, string, string | Uint8Array, string[], RegExp][] = [
    ['bad line', 'llada-sample-process', 'x, *a&\n', [], /line 1: expected "STEP, \*token&/],
    ['two runs', 'llada-sample-process', [...lines, ...lines].join('\n'), [], /line 33: step 1 again/],
    ['step gap', 'llada-sample-process', [lines[0], lines[2]].join('\n'), [], /line 2: step 3 follows step 1/],
    ['short line', 'llada-sample-process', [lines[0], '2, *a&'].join('\n'), [], /line 2: 1 tokens, but line 1 has 32/],
    ['no outputs', 'parallelbench', gzipSync('{"metrics": {}}'), ['--tokenizer', TOK], /no "outputs" list/],
    [
      'index',
      'parallelbench',
      gzipSync(JSON.stringify(pb)),
      ['--tokenizer', TOK, '--index', '3'],
      /holds 1 outputs; --index must be 0\.\.0/,
    ],
    ['no tokenizer', 'parallelbench', gzipSync(JSON.stringify(pb)), [], /give the model's tokenizer \(--tokenizer/],
    [
      'order vs text',
      'parallelbench',
      gzipSync(
        JSON.stringify({ outputs: [{ ...pb.outputs[0], decoding_order: pb.outputs[0].decoding_order.map(() => 0) }] }),
      ),
      ['--tokenizer', TOK],
      /outputs\[0\]: history\[0\] shows \d+ mask tokens but decoding_order leaves 0 undecided/,
    ],
    [
      'missing history',
      'parallelbench',
      gzipSync(JSON.stringify({ outputs: [{ decoding_order: [] }] })),
      ['--tokenizer', TOK],
      /"history" is missing/,
    ],
    ['not gzip json', 'parallelbench', 'garbage', ['--tokenizer', TOK], /is not ParallelBench's gzipped JSON/],
    [
      'lengths',
      'lmdeploy-step-map',
      JSON.stringify({ ...lm, step_map: [1] }),
      [],
      /step_map has 1 entries but token_ids 32/,
    ],
    ['jsonl', 'lmdeploy-step-map', '{"token_ids": [1]}\n{oops', [], /line 2: it is not valid JSON/],
    ['python format', 'dllm-histories', 'x', [], /torch objects: import them in Python.*from_dllm_histories/],
    [
      'unknown format',
      'sglang',
      'x',
      [],
      /--from must be one of llada-sample-process, parallelbench, lmdeploy-step-map/,
    ],
  ];
  for (const [name, from, content, extra, msg] of mistakes)
    it(`refuses a malformed record with one clear line: ${name}`, async () => {
      const f = join(dir, `bad-${name.replace(/\W+/g, '-')}`);
      writeFileSync(f, content);
      const out = join(dir, `bad-${name.replace(/\W+/g, '-')}.dlens`);
      const r = await dlens(['import', f, '--from', from, '--out', out, ...extra]);
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(msg);
      expect(r.stderr).not.toMatch(/internal error/);
      expect(existsSync(out)).toBe(false);
    });
});
