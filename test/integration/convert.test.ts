import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { dlens, python, tmp } from '../helpers.js';
import { tinyCheckpoint } from '../support/tiny-checkpoint.js';
import { randomQwenCheckpoint } from '../support/random-checkpoint.js';
import { loadModel, type ForwardInputs, type KvArray, type LoadedModel } from '../../engine/model/load.js';
import { record } from '../../engine/record.js';
import { readTrace } from '../../engine/trace/trace.js';
import { CACHE_MODES } from '../../engine/cache/modes.js';

/**
 * `dlens convert` on dlens-tiny's own LLaDA-format checkpoint (assets/checkpoints/dlens-tiny), through the real command
 * line and onnxruntime: the converted model computes what the float64 LLaDA reference and the PyTorch module that
 * trained dlens-tiny compute.
 */
describe('dlens convert: a LLaDA checkpoint', () => {
  const dir = tmp('dlens-convert-');
  const hf = join(dir, 'hf'),
    out = join(dir, 'converted'),
    out16 = join(dir, 'converted-fp16');
  let tiny: LoadedModel, conv: LoadedModel, conv16: LoadedModel;

  beforeAll(async () => {
    tinyCheckpoint(hf);
    for (const [o, extra] of [
      [out, []],
      [out16, ['--dtype', 'fp16']],
    ] as const) {
      const r = await dlens(['convert', hf, '--out', o, '--json', ...extra]);
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      expect(JSON.parse(r.stdout)).toMatchObject({ architecture: 'llada', dir: o });
    }
    [tiny, conv, conv16] = await Promise.all([loadModel('dlens-tiny'), loadModel(out), loadModel(out16)]);
  }, 120_000);
  afterAll(async () => {
    for (const m of [tiny, conv, conv16]) await m?.release();
  });

  it('writes a model folder with a card made from config.json and the chat template', async () => {
    expect(readdirSync(out).sort()).toEqual(['dlens-model.json', 'model.onnx', 'model.onnx.data', 'tokenizer.json']);
    const card = JSON.parse(readFileSync(join(out, 'dlens-model.json'), 'utf8'));
    expect(card).toMatchObject({
      format: 'dlens-model/2',
      num_kv_heads: 4,
      kv_dtype: 'float32',
      top_k: 8,
      mask_token_id: tiny.card.mask_token_id,
      eos_token_id: tiny.card.eos_token_id,
      vocab_size: 4096,
      num_layers: 6,
      num_heads: 4,
      head_dim: 64,
      max_positions: 2048,
      prompt_template: tiny.card.prompt_template,
      training: { source: { architecture: 'llada', checkpoint: 'hf', dtype: 'fp32' } },
    });
    expect(card.training.source.sha256).toMatch(/^[0-9a-f]{64}$/);
  });

  const pass = (m: LoadedModel, ids: number[], positions: number[], past?: { k: KvArray; v: KvArray; C: number }) =>
    m.forward({
      inputIds: BigInt64Array.from(ids.map(BigInt)),
      positionIds: BigInt64Array.from(positions.map(BigInt)),
      B: 1,
      Q: ids.length,
      pastKeys: past?.k ?? new Float32Array(0),
      pastValues: past?.v ?? new Float32Array(0),
      C: past?.C ?? 0,
      queryWeights: new Float32Array(ids.length).fill(1),
      needLogits: true,
    });
  const maxDiff = (a: Float32Array, b: Float32Array) => {
    expect(a.length).toBe(b.length);
    let m = 0;
    for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
    return m;
  };
  const argmaxRows = (l: Float32Array, V: number) =>
    Array.from({ length: l.length / V }, (_, r) => {
      let best = 0;
      for (let v = 1; v < V; v++) if (l[r * V + v]! > l[r * V + best]!) best = v;
      return best;
    });

  const softmaxRows = (l: Float32Array | number[], V: number) =>
    Array.from({ length: l.length / V }, (_, r) => {
      const row = Array.from(l.slice(r * V, (r + 1) * V));
      const m = Math.max(...row);
      const e = row.map((x) => Math.exp(x - m));
      const z = e.reduce((x, y) => x + y, 0);
      return e.map((x) => x / z);
    }).flat();

  it('computes what a float64 reference of the LLaDA architecture computes, within 1e-4', async () => {
    const prompt = tiny.encode(tiny.card.prompt_template.replace('{prompt}', 'Sort: 5 3 9'));
    const ids = [...prompt, ...Array(24).fill(tiny.card.mask_token_id), 7, 8, 9];
    const ref = JSON.parse((await python(['test/support/hf_reference.py', hf, JSON.stringify(ids)])).stdout) as {
      logits: number[][];
      keys0: number[];
    };
    const b = await pass(
      conv,
      ids,
      ids.map((_, i) => i),
    );
    expect(maxDiff(b.logits, Float32Array.from(ref.logits.flat()))).toBeLessThan(1e-4);
    expect(maxDiff((b.keys as Float32Array).subarray(0, ref.keys0.length), Float32Array.from(ref.keys0))).toBeLessThan(
      1e-4,
    );
  });

  it('predicts what the PyTorch module that trained dlens-tiny predicts (full and cached passes)', async () => {
    // The bundled model (converted by the build, fp16 storage) against recipe/model.py loading the same checkpoint:
    // a full pass, and the block [P, P + 8) alone against the cached keys and values of every other position.
    const prompt = tiny.encode(tiny.card.prompt_template.replace('{prompt}', 'Sort: 5 3 9'));
    const ids = [...prompt, ...Array(24).fill(tiny.card.mask_token_id), 7, 8, 9];
    const positions = ids.map((_, i) => i);
    const P = prompt.length;
    const ref = JSON.parse(
      (await python(['test/support/tiny_reference.py', hf, JSON.stringify(ids), String(P), '8'], { torch: true }))
        .stdout,
    ) as { full: number[][]; cached: number[][] };
    const a = await pass(tiny, ids, positions);
    expect(
      maxDiff(Float32Array.from(softmaxRows(a.logits, 4096)), Float32Array.from(softmaxRows(ref.full.flat(), 4096))),
    ).toBeLessThan(1e-3);
    expect(argmaxRows(a.logits, 4096)).toEqual(argmaxRows(Float32Array.from(ref.full.flat()), 4096));
    const { num_layers: Ly, num_heads: H, head_dim: Dh } = tiny.card,
      T = ids.length;
    const others = positions.filter((p) => p < P || p >= P + 8);
    const gather = (src: KvArray) => {
      const out = new Float32Array(Ly * H * others.length * Dh);
      for (let l = 0; l < Ly; l++)
        for (let h = 0; h < H; h++)
          others.forEach((p, c) =>
            out.set(
              src.subarray(((l * H + h) * T + p) * Dh, ((l * H + h) * T + p + 1) * Dh),
              ((l * H + h) * others.length + c) * Dh,
            ),
          );
      return out;
    };
    const c = await pass(tiny, ids.slice(P, P + 8), positions.slice(P, P + 8), {
      k: gather(a.keys),
      v: gather(a.values),
      C: others.length,
    });
    expect(
      maxDiff(Float32Array.from(softmaxRows(c.logits, 4096)), Float32Array.from(softmaxRows(ref.cached.flat(), 4096))),
    ).toBeLessThan(1e-3);
    expect(argmaxRows(c.logits, 4096)).toEqual(argmaxRows(Float32Array.from(ref.cached.flat()), 4096));
    expect(maxDiff(c.logits, a.logits.slice(P * 4096, (P + 8) * 4096))).toBeLessThan(1e-4);
  });

  it('stores fp16 weights at half the size and the same top-1 predictions', async () => {
    const size = (d: string) => readFileSync(join(d, 'model.onnx.data')).byteLength;
    expect(size(out16) / size(out)).toBeLessThan(0.51);
    const ids = tiny.encode(tiny.card.prompt_template.replace('{prompt}', 'Define: lantern'));
    const positions = ids.map((_, i) => i);
    const [a, b] = await Promise.all([pass(conv, ids, positions), pass(conv16, ids, positions)]);
    expect(maxDiff(a.logits, b.logits)).toBeLessThan(1e-3); // dlens-tiny's weights are fp16 already: exact
    expect(argmaxRows(b.logits, 4096)).toEqual(argmaxRows(a.logits, 4096));
  });

  it('quantizes the linear layers to int8 and int4: smaller weights, mostly the same predictions, the same answer', async () => {
    const size = (d: string) => readFileSync(join(d, 'model.onnx.data')).byteLength;
    const ids = tiny.encode(tiny.card.prompt_template.replace('{prompt}', 'Sort: 487 244 662'));
    const full = [...ids, ...Array(32).fill(tiny.card.mask_token_id)];
    const ref = await pass(
      conv,
      full,
      full.map((_, i) => i),
    );
    // dlens-tiny's tied 4096 x 256 embedding is a sixth of its weights: it stays fp16 and the head gets an 8-bit copy
    for (const [dtype, maxSize, minAgree] of [
      ['int8', 0.4, 0.95],
      ['int4', 0.3, 0.85],
    ] as const) {
      const o = join(dir, `converted-${dtype}`);
      const r = await dlens(['convert', hf, '--out', o, '--dtype', dtype, '--json']);
      expect(r.code, r.stderr).toBe(0);
      expect(size(o) / size(out)).toBeLessThan(maxSize);
      const m = await loadModel(o);
      try {
        const q = await pass(
          m,
          full,
          full.map((_, i) => i),
        );
        const a = argmaxRows(ref.logits, 4096),
          b = argmaxRows(q.logits, 4096);
        expect(a.filter((x, i) => x === b[i]).length / a.length).toBeGreaterThanOrEqual(minAgree);
        const s = await record(
          { prompt: 'Sort: 487 244 662', genLength: 64, blockLength: 32, steps: 64 },
          { model: m },
        );
        expect(s.output).toBe('244 487 662');
      } finally {
        await m.release();
      }
    }
  }, 120_000);

  it('decodes step by step as the bundled dlens-tiny (fp16 storage) does, with every cache', async () => {
    const task = { genLength: 64, blockLength: 32, steps: 64 };
    for (const cache of CACHE_MODES) {
      const a = join(dir, `tiny-${cache}.dlens`),
        b = join(dir, `conv-${cache}.dlens`);
      await record({ ...task, prompt: 'Sort: 487 244 662', cache, out: a }, { model: tiny });
      await record({ ...task, prompt: 'Sort: 487 244 662', cache, out: b }, { model: conv });
      const ta = readTrace(new Uint8Array(readFileSync(a))),
        tb = readTrace(new Uint8Array(readFileSync(b)));
      expect(tb.manifest.output).toBe(ta.manifest.output);
      expect(Array.from(tb.state)).toEqual(Array.from(ta.state));
    }
  }, 120_000);

  it.each([
    [
      'an unknown architecture',
      (d: string) => patchConfig(d, { architectures: ['GPT2LMHeadModel'], model_type: 'gpt2' }),
      'config.json describes ["GPT2LMHeadModel"]; dlens converts llada, dream, a2d-qwen3, a2d-qwen2, llada-moe checkpoints',
    ],
    [
      'a missing shard',
      (d: string) => writeIndex(d, { 'model.transformer.wte.weight': 'model-00002-of-00002.safetensors' }),
      'names "model-00002-of-00002.safetensors", which does not exist in',
    ],
    [
      'a tensor of the wrong shape',
      (d: string) => patchConfig(d, { d_model: 512 }),
      'tensor model.transformer.wte.weight has shape [4096,256], the config implies [4096,512]',
    ],
    [
      'an unreadable tokenizer',
      (d: string) => writeFileSync(join(d, 'tokenizer.json'), '{"model": 3'),
      'tokenizer.json is refused: it is not valid JSON',
    ],
    ['no config.json', (d: string) => rmSync(join(d, 'config.json')), 'config.json is missing'],
    [
      'a LLaDA-MoE config that clips q/k/v',
      (d: string) => patchConfig(d, { architectures: ['LLaDAMoEModelLM'], model_type: 'lladamoe', clip_qkv: 8 }),
      'config.json: clip_qkv 8; dlens converts checkpoints without it',
    ],
    [
      'a partial rotary factor',
      (d: string) =>
        patchConfig(d, { architectures: ['LLaDAMoEModelLM'], model_type: 'lladamoe', partial_rotary_factor: 0.5 }),
      'config.json: partial_rotary_factor 0.5; dlens rotates whole heads only',
    ],
  ])('refuses %s with one message and writes nothing at --out', async (_, spoil, message) => {
    const d = join(tmp('dlens-convert-bad-'), 'hf');
    tinyCheckpoint(d);
    spoil(d);
    const o = join(d, '..', 'out');
    const r = await dlens(['convert', d, '--out', o]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(message);
    expect(r.stderr).not.toMatch(/internal error|\n\s+at /);
    expect(existsSync(o)).toBe(false);
    expect(readdirSync(join(d, '..')).filter((f) => f.startsWith('out'))).toEqual([]);
  });
});

/** One full pass over `ids` (no cache, every query weighted), with what else the test asks of the graph. */
function fullPass(m: LoadedModel, ids: readonly number[], extra: Partial<ForwardInputs> = {}) {
  return m.forward({
    inputIds: BigInt64Array.from(ids.map(BigInt)),
    positionIds: BigInt64Array.from(ids.map((_, i) => BigInt(i))),
    B: 1,
    Q: ids.length,
    pastKeys: new Float32Array(0),
    pastValues: new Float32Array(0),
    C: 0,
    queryWeights: new Float32Array(ids.length).fill(1),
    ...extra,
  });
}

function patchConfig(dir: string, change: Record<string, unknown>) {
  const p = join(dir, 'config.json');
  writeFileSync(p, JSON.stringify({ ...JSON.parse(readFileSync(p, 'utf8')), ...change }));
}
function writeIndex(dir: string, weightMap: Record<string, string>) {
  writeFileSync(
    join(dir, 'model.safetensors.index.json'),
    JSON.stringify({ metadata: {}, weight_map: { ...weightMap, x: 'model.safetensors' } }),
  );
}

describe('dlens convert: the Qwen family (Dream, dllm A2D Qwen3), tiny random checkpoints', () => {
  const dir = tmp('dlens-convert-qwen-');
  const ids = [2, 70, 80, 90, 3, 1, 1, 1, 1, 100, 1, 1];
  const run = (m: LoadedModel) => fullPass(m, ids, { needLogits: true });

  it.each([
    ['dream', 'dream', { shifted_logits: true, mask_token_id: 1 }],
    ['a2d-qwen3', 'a2d-qwen3', { mask_token_id: 1, head_dim: 24, num_heads: 4 }],
  ] as const)(
    '%s: converts and computes what the float64 reference of its architecture computes',
    async (kind, arch, card) => {
      const hf = join(dir, kind),
        out = join(dir, `${kind}-model`);
      randomQwenCheckpoint(hf, kind);
      const r = await dlens(['convert', hf, '--out', out, '--json']);
      expect(r.stderr).toBe('');
      expect(JSON.parse(r.stdout)).toMatchObject({ architecture: arch });
      expect(JSON.parse(readFileSync(join(out, 'dlens-model.json'), 'utf8'))).toMatchObject({
        ...card,
        training: { source: { architecture: arch } },
      });
      const m = await loadModel(out);
      try {
        const ref = JSON.parse((await python(['test/support/hf_reference.py', hf, JSON.stringify(ids)])).stdout) as {
          logits: number[][];
          keys0: number[];
        };
        const got = await run(m);
        const flat = ref.logits.flat();
        let d = 0;
        for (let i = 0; i < flat.length; i++) d = Math.max(d, Math.abs(flat[i]! - got.logits[i]!));
        expect(d).toBeLessThan(1e-4);
        let dk = 0;
        for (let i = 0; i < ref.keys0.length; i++) dk = Math.max(dk, Math.abs(ref.keys0[i]! - got.keys[i]!));
        expect(dk).toBeLessThan(1e-4);
      } finally {
        await m.release();
      }
    },
  );

  it('a2d-qwen3 and Dream decode with every cache into valid traces', async () => {
    for (const model of ['a2d-qwen3-model', 'dream-model'])
      for (const cache of CACHE_MODES) {
        const out = join(dir, `${model}-${cache}.dlens`);
        const r = await dlens([
          'record',
          '--model',
          join(dir, model),
          '--prompt',
          'hi',
          '--cache',
          cache,
          '--gen-length',
          '16',
          '--block-length',
          '8',
          '--out',
          out,
        ]);
        expect(r.code, r.stderr).toBe(0);
        expect((await python(['test/check_trace.py', out])).code).toBe(0);
      }
  });

  it('converts a block-causal (BD3LM) checkpoint with the block size its config or --block-size gives', async () => {
    const hf = join(dir, 'Qwen3-0.6B-diffusion-bd3lm-v0.1');
    randomQwenCheckpoint(hf, 'a2d-qwen3');
    const r = await dlens(['convert', hf, '--out', join(dir, 'bd3lm-model')]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('block-causal (BD3LM) checkpoint, and config.json does not say its block size');
    expect(existsSync(join(dir, 'bd3lm-model'))).toBe(false);
    expect((await dlens(['convert', hf, '--out', join(dir, 'bd3lm-model'), '--block-size', '16'])).code).toBe(0);
    const p = join(hf, 'config.json');
    writeFileSync(p, JSON.stringify({ ...JSON.parse(readFileSync(p, 'utf8')), block_size: 32 }));
    expect((await dlens(['convert', hf, '--out', join(dir, 'bd3lm-model-32')])).code).toBe(0);
    for (const [m, b] of [
      ['bd3lm-model', 16],
      ['bd3lm-model-32', 32],
    ] as const)
      expect(JSON.parse(readFileSync(join(dir, m, 'dlens-model.json'), 'utf8'))).toMatchObject({
        attention: 'block-causal',
        block_size: b,
      });
    // Its traces say which block each position attends from (trace format v2's attn_block).
    const out = join(dir, 'bd3lm.dlens');
    const rec = await dlens([
      'record',
      '--model',
      join(dir, 'bd3lm-model'),
      '--prompt',
      'hi',
      '--gen-length',
      '32',
      '--block-length',
      '16',
      '--steps',
      '32',
      '--cache',
      'prefix',
      '--out',
      out,
    ]);
    expect(rec.code).toBe(0);
    const t = readTrace(new Uint8Array(readFileSync(out)));
    expect(t.manifest.attention).toBe('block-causal');
    const { P, T, S } = t.dims;
    const first = Math.floor((P + ((16 - (P % 16)) % 16)) / 16);
    for (const s of [0, S - 1]) {
      const row = t.attnBlock.row(s)!;
      expect([row[P], row[P + 15], row[P + 16], row[T - 1]]).toEqual([first, first, first + 1, first + 1]);
    }
  });
});

/**
 * `dlens convert --lens`: each layer's top-1 through the final norm and the output head, against the float64 reference
 * of the architecture computing the same lens — LLaDA (dlens-tiny's checkpoint) and Dream, whose shifted rows the
 * lens must follow too. Decodes of a lens model record it; a model without it records none.
 */
describe('dlens convert --lens: the logit lens', () => {
  const dir = tmp('dlens-convert-lens-');
  const forward = (m: LoadedModel, ids: readonly number[], lensRows: number[]) =>
    fullPass(m, ids, { lensRows: BigInt64Array.from(lensRows.map(BigInt)) });

  it.each([
    ['llada', (d: string) => tinyCheckpoint(d), [2, 70, 80, 90, 3, 1, 1, 1, 1, 100, 1, 1, 300, 1]],
    ['dream', (d: string) => randomQwenCheckpoint(d, 'dream'), [2, 70, 80, 90, 3, 1, 1, 1, 1, 100, 1, 1]],
  ] as const)('%s: every layer’s top-1 and probability are the reference’s', async (kind, make, ids) => {
    const hf = join(dir, kind),
      out = join(dir, `${kind}-lens`);
    make(hf);
    const r = await dlens(['convert', hf, '--out', out, '--lens', '--json']);
    expect(r.stderr).toBe('');
    expect(JSON.parse(readFileSync(join(out, 'dlens-model.json'), 'utf8')).training.source.lens).toBe(true);
    const m = await loadModel(out);
    try {
      expect(m.hasLens).toBe(true);
      const { num_layers: Ly, mask_token_id: mask } = m.card;
      const ref = JSON.parse(
        (await python(['test/support/hf_reference.py', hf, JSON.stringify(ids), String(mask)])).stdout,
      ).lens as [number, number][][];
      const Q = ids.length;
      const all = ids.map((_, q) => q);
      const got = await forward(m, ids, all);
      expect(ref.length).toBe(Ly);
      for (let l = 0; l < Ly; l++)
        for (let q = 0; q < Q; q++) {
          const [id, p] = ref[l]![q]!;
          expect(Number(got.lens!.ids[l * Q + q])).toBe(id);
          expect(Math.abs(got.lens!.probs[l * Q + q]! - p)).toBeLessThan(1e-4);
        }
      // The last layer's lens is the model's own top-1.
      const K = m.card.top_k!;
      for (let q = 0; q < Q; q++) expect(got.lens!.ids[(Ly - 1) * Q + q]).toBe(got.stats!.topIds[q * K]);
      // Some rows, in the order asked (a shifted model reads each from the row before it, row 0 from itself).
      const some = [Q - 1, 0, 5];
      const part = await forward(m, ids, some);
      for (let l = 0; l < Ly; l++)
        some.forEach((q, i) => expect(Number(part.lens!.ids[l * some.length + i])).toBe(ref[l]![q]![0]));
      // None asked for, none computed or fetched.
      expect((await forward(m, ids, [])).lens).toBeUndefined();
    } finally {
      await m.release();
    }
  });

  it('records the lens at every step of a decode with a lens model, and none without one', async () => {
    const traces = [
      ['lens', join(dir, 'llada-lens')],
      ['plain', join(dir, 'llada-plain')],
    ] as const;
    const r0 = await dlens(['convert', join(dir, 'llada'), '--out', traces[1][1], '--json']);
    expect(r0.code).toBe(0);
    for (const [name, model] of traces) {
      const out = join(dir, `${name}.dlens`);
      const r = await dlens(['record', '--model', model, '--task', 'sort:2', '--out', out]);
      expect(r.code).toBe(0);
      const t = readTrace(new Uint8Array(readFileSync(out)));
      if (name === 'plain') {
        expect(t.lensIds.present).toBe(false);
        continue;
      }
      const { S, G, Ly, K } = t.dims;
      expect(t.lensIds.shape).toEqual([S, Ly, G]);
      const lens = t.lensIds.full()!,
        top = t.topkIds.full()!;
      for (let s = 0; s < S; s++)
        for (let g = 0; g < G; g++) expect(lens[(s * Ly + Ly - 1) * G + g]).toBe(top[(s * G + g) * K]);
    }
  });
});
