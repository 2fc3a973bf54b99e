import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT, dlens, tmp } from '../helpers.js';
import { loadModel, type KvArray, type LoadedModel } from '../../engine/model/load.js';
import { record } from '../../engine/record.js';
import { readTrace } from '../../engine/trace/trace.js';
import { decodeSafetensors } from '../../engine/trace/safetensors.js';
import { CACHE_MODES } from '../../engine/cache/modes.js';
import { STRATEGIES } from '../../engine/strategies/index.js';

/**
 * Checkpoints made by each architecture's original modeling code (LLaDA's and Dream's modeling files, dllm's A2D
 * Qwen3, run with transformers 5 on the device machine by test/fixtures/hf/make_hf_fixtures.py), converted by
 * `dlens convert` and compared with what that code computed: step-0 probabilities, and LLaDA generate.py's decodes.
 * One row per fixture; what a row may skip says why.
 */
interface Golden {
  block_size?: number;
  template: string;
  mask_token_id: number;
  inputs: { prompt: string; ids: number[]; prompt_length?: number }[];
  generate_py: { prompt: string; gen_length: number; block_length: number; steps: number; output_ids: number[] }[];
  dream_samplers?: { alg: string; prompt: string; max_new_tokens: number; steps: number; output_ids?: number[] }[];
}

const FIXTURES = [
  { name: 'llada', architecture: 'llada', shifted: false, caches: CACHE_MODES },
  { name: 'llada-gqa-tied', architecture: 'llada', shifted: false, caches: CACHE_MODES },
  { name: 'a2d-qwen3', architecture: 'a2d-qwen3', shifted: false, caches: CACHE_MODES },
  // Dream predicts position i from row i - 1: the graph shifts full passes; a block pass also computes bs - 1.
  { name: 'dream', architecture: 'dream', shifted: true, caches: CACHE_MODES },
  // dllm's BD3LM: block-causal; positions after the block are never attended, so only prefix caching applies.
  { name: 'a2d-qwen3-bd3lm', architecture: 'a2d-qwen3', shifted: false, caches: ['none', 'prefix'] as const },
  // LLaDA-MoE: routed experts (4, top 2, weights not renormalised), per-head q/k norm, an untied head.
  { name: 'llada-moe', architecture: 'llada-moe', shifted: false, caches: CACHE_MODES },
] as const;

/** dllm's BD3LM layout: the prompt padded on the left to whole blocks, blocks counted from the padded start. */
function blocksOf(golden: Golden, inp: Golden['inputs'][number]) {
  const b = golden.block_size;
  if (!b) return {};
  const pad = (b - (inp.prompt_length! % b)) % b;
  return { ids: BigInt64Array.from(inp.ids, (_, p) => BigInt(Math.floor((p + pad) / b))) };
}

/** Probabilities with the mask token excluded, as dlens computes them (it never commits the mask). */
function probs(row: Float32Array, mask: number) {
  let m = -Infinity;
  for (let v = 0; v < row.length; v++) if (v !== mask) m = Math.max(m, row[v]!);
  const p = Float64Array.from(row, (x, v) => (v === mask ? 0 : Math.exp(x - m)));
  const z = p.reduce((a, b) => a + b, 0);
  return p.map((x) => x / z);
}
const argmax = (p: Float64Array) => p.reduce((b, x, i) => (x > p[b]! ? i : b), 0);

describe.each(FIXTURES)('a $name checkpoint made by its original modeling code', (fx) => {
  const src = join(ROOT, 'test', 'fixtures', 'hf', fx.name);
  const golden = JSON.parse(readFileSync(join(src, 'golden.json'), 'utf8')) as Golden;
  const logits = decodeSafetensors(new Uint8Array(readFileSync(join(src, 'golden.safetensors')))).tensors;
  const dir = tmp(`dlens-golden-${fx.name}-`);
  const out = join(dir, 'model');
  let model: LoadedModel;

  beforeAll(async () => {
    const r = await dlens([
      'convert',
      src,
      '--out',
      out,
      '--json',
      // The goldens' adapter set the mask logit to −inf before generate.py saw it (these random-weight models can
      // put most of their mass on the mask token), so their confidences are renormalised without it.
      '--confidence',
      'without-mask',
      ...(golden.block_size ? ['--block-size', String(golden.block_size)] : []),
    ]);
    expect(r.stderr).toBe('');
    expect(JSON.parse(r.stdout)).toMatchObject({ architecture: fx.architecture });
    model = await loadModel(out);
  }, 60_000);
  afterAll(async () => model?.release());

  it('tokenises the prompt as the reference did', async () => {
    const ids = golden.inputs[0]!.ids;
    const prompt = model.encode(model.card.prompt_template.replace('{prompt}', golden.inputs[0]!.prompt));
    expect(prompt).toEqual(ids.slice(0, prompt.length));
  });

  it.each(golden.inputs.map((inp, i) => [i, inp] as const))(
    'input %i: probabilities within 1e-3 of the reference logits, the same top-1',
    async (i, inp) => {
      const V = model.card.vocab_size,
        T = inp.ids.length;
      const ref = logits.get(`logits_${i}`)!.data as Float32Array;
      const got = await model.forward({
        inputIds: BigInt64Array.from(inp.ids.map(BigInt)),
        positionIds: BigInt64Array.from(inp.ids.map((_, j) => BigInt(j))),
        B: 1,
        Q: T,
        pastKeys: new Float32Array(0),
        pastValues: new Float32Array(0),
        C: 0,
        queryWeights: new Float32Array(T).fill(1),
        queryBlocks: blocksOf(golden, inp).ids,
        keyBlocks: blocksOf(golden, inp).ids,
        needLogits: true,
      });
      let worst = 0,
        top1 = 0;
      // Dream's row j - 1 is position j's prediction: dlens's row j is compared with the reference's row j - 1.
      for (let j = fx.shifted ? 1 : 0; j < T; j++) {
        const r = j - (fx.shifted ? 1 : 0);
        const a = probs(got.logits.subarray(j * V, (j + 1) * V), golden.mask_token_id);
        const b = probs(ref.subarray(r * V, (r + 1) * V), golden.mask_token_id);
        for (let v = 0; v < V; v++) worst = Math.max(worst, Math.abs(a[v]! - b[v]!));
        if (argmax(a) === argmax(b)) top1++;
      }
      expect(worst).toBeLessThan(1e-3);
      expect(top1).toBe(T - (fx.shifted ? 1 : 0));
    },
  );

  it('computes a block against cached keys and values as the full pass does, within 1e-4', async () => {
    const inp = golden.inputs[0]!;
    const P = inp.prompt_length ?? model.encode(model.card.prompt_template.replace('{prompt}', inp.prompt)).length;
    const T = inp.ids.length,
      V = model.card.vocab_size,
      { num_layers: Ly, head_dim: Dh } = model.card,
      Hkv = model.card.num_kv_heads ?? model.card.num_heads;
    const blocks = blocksOf(golden, inp).ids;
    const run = (positions: number[], past?: { keys: KvArray; values: KvArray; at: number[] }) =>
      model.forward({
        inputIds: BigInt64Array.from(positions, (p) => BigInt(inp.ids[p]!)),
        positionIds: BigInt64Array.from(positions, (p) => BigInt(p)),
        B: 1,
        Q: positions.length,
        pastKeys: past ? gather(past.keys, past.at) : new Float32Array(0),
        pastValues: past ? gather(past.values, past.at) : new Float32Array(0),
        C: past?.at.length ?? 0,
        queryWeights: new Float32Array(positions.length).fill(1),
        queryBlocks: blocks && BigInt64Array.from(positions, (p) => blocks[p]!),
        keyBlocks: blocks && BigInt64Array.from([...(past?.at ?? []), ...positions], (p) => blocks[p]!),
        needLogits: true,
      });
    const gather = (src: KvArray, at: number[]) => {
      const out = new Float32Array(Ly * Hkv * at.length * Dh);
      for (let lh = 0; lh < Ly * Hkv; lh++)
        at.forEach((p, c) =>
          out.set(src.subarray((lh * T + p) * Dh, (lh * T + p + 1) * Dh), (lh * at.length + c) * Dh),
        );
      return out;
    };
    const all = inp.ids.map((_, p) => p);
    const full = await run(all);
    const bs = P,
      be = P + 8,
      q0 = bs - (fx.shifted ? 1 : 0); // a shifted model's block pass also computes bs - 1
    const block = all.slice(q0, be);
    // Block-causal: the prefix (what its attention can see); otherwise every other position (the dual cache).
    const cached = all.filter((p) => (p < q0 || p >= be) && (!blocks || p < q0));
    const part = await run(block, { keys: full.keys, values: full.values, at: cached });
    let worst = 0;
    for (let p = bs; p < be; p++)
      for (let v = 0; v < V; v++)
        worst = Math.max(worst, Math.abs(part.logits[(p - q0) * V + v]! - full.logits[p * V + v]!));
    expect(worst).toBeLessThan(1e-4);
  });

  it.each(golden.generate_py.map((d) => [d.prompt, d.steps, d.block_length, d] as const))(
    'decodes "%s" (%i steps, block %i) exactly as LLaDA generate.py does',
    async (prompt, steps, blockLength, d) => {
      const file = join(dir, `gen-${steps}-${blockLength}-${prompt.replace(/\W+/g, '_')}.dlens`);
      await record(
        { prompt, genLength: d.gen_length, blockLength, steps, strategy: 'low-confidence', cache: 'none', out: file },
        { model },
      );
      const t = readTrace(new Uint8Array(readFileSync(file)));
      const final = Array.from(t.state.subarray(t.dims.S * t.dims.T + t.dims.P, (t.dims.S + 1) * t.dims.T));
      expect(final).toEqual(d.output_ids);
    },
  );

  const samplers = (golden.dream_samplers ?? []).filter((s) => s.output_ids);
  it.runIf(samplers.length > 0)(
    "decodes as Dream's own diffusion_generate with each of its sampling rules",
    async () => {
      for (const s of samplers) {
        const file = join(dir, `dream-${s.alg}-${s.prompt.replace(/\W+/g, '_')}.dlens`);
        const n = s.max_new_tokens;
        await record(
          { prompt: s.prompt, genLength: n, blockLength: n, steps: s.steps, strategy: s.alg, out: file },
          { model },
        );
        const t = readTrace(new Uint8Array(readFileSync(file)));
        const final = Array.from(t.state.subarray(t.dims.S * t.dims.T + t.dims.P, (t.dims.S + 1) * t.dims.T));
        expect({ alg: s.alg, prompt: s.prompt, ids: final }).toEqual({
          alg: s.alg,
          prompt: s.prompt,
          ids: s.output_ids,
        });
      }
    },
  );

  it('runs every strategy with every cache it supports', async () => {
    // Learn2PD needs a filter learned from this model's own traces, as a user would make one.
    const traces = join(dir, 'learn'),
      filter = join(dir, 'filter.json');
    mkdirSync(traces);
    for (const inp of golden.inputs)
      await record(
        { prompt: inp.prompt, genLength: 16, blockLength: 8, steps: 16, out: join(traces, `${inp.ids.length}.dlens`) },
        { model },
      );
    expect((await dlens(['learn', '--traces', traces, '--out', filter])).code).toBe(0);
    for (const cache of fx.caches)
      for (const s of STRATEGIES) {
        if (s.loop === 'draft-verify' && cache !== 'none') continue; // verifies whole states: full passes only, by design
        const params = s.name === 'learn2pd' ? { filter } : {};
        // ReMDM's loop runs over the whole generation as one block: a block-causal model refuses that, in words.
        const whole = s.name === 'remdm';
        const req = {
          prompt: golden.inputs[0]!.prompt,
          genLength: 16,
          blockLength: whole ? 16 : 8,
          steps: 16,
          strategy: s.name,
          params,
          cache,
        };
        if (whole && model.card.attention === 'block-causal') {
          await expect(record(req, { model })).rejects.toThrow(/attends in blocks of 8.*--block-length 8/);
          continue;
        }
        const r = await record(req, { model });
        expect({ strategy: s.name, cache, complete: r.complete }).toEqual({ strategy: s.name, cache, complete: true });
      }
  }, 60_000);
});

describe('keys and values in float16 (dlens convert --kv-dtype fp16)', () => {
  const src = join(ROOT, 'test', 'fixtures', 'hf', 'llada-gqa-tied');
  const golden = JSON.parse(readFileSync(join(src, 'golden.json'), 'utf8')) as Golden;
  const dir = tmp('dlens-kv16-');

  it('halves the cache and decodes as generate.py does', async () => {
    const models: LoadedModel[] = [];
    for (const kv of ['fp32', 'fp16']) {
      expect((await dlens(['convert', src, '--out', join(dir, kv), '--kv-dtype', kv])).code).toBe(0);
      models.push(await loadModel(join(dir, kv)));
    }
    const [m32, m16] = models as [LoadedModel, LoadedModel];
    try {
      expect(m16.card.kv_dtype).toBe('float16');
      const d = golden.generate_py[0]!;
      const job = { prompt: d.prompt, genLength: d.gen_length, blockLength: d.block_length, steps: d.steps };
      const a = await record({ ...job, cache: 'prefix' }, { model: m32 });
      const b = await record({ ...job, cache: 'prefix' }, { model: m16 });
      expect(b.peak_cache_bytes).toBe(a.peak_cache_bytes / 2);
      expect(b.output).toBe(a.output);
      // Without a cache the keys never leave the graph in float16: generate.py's decode exactly.
      const file = join(dir, 'kv16.dlens');
      await record({ ...job, cache: 'none', out: file }, { model: m16 });
      const t = readTrace(new Uint8Array(readFileSync(file)));
      expect(Array.from(t.state.subarray(t.dims.S * t.dims.T + t.dims.P))).toEqual(d.output_ids);
    } finally {
      for (const m of models) await m.release();
    }
  });
});
