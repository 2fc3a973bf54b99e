import { describe, it, expect, beforeAll } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadModel, type LoadedModel } from '../../engine/model/load.js';
import { decode } from '../../engine/decode/run.js';
import { getStrategy, resolveParams } from '../../engine/strategies/index.js';
import { readTrace } from '../../engine/trace/trace.js';
import { FIXTURE, dlens, python, tmp } from '../helpers.js';

const NAMES = [
  'low-confidence',
  'random',
  'fast-dllm-threshold',
  'fast-dllm-factor',
  'localleap',
  'adablock',
  'credit',
  'ccd',
  'freedave',
  'entropy',
  'maskgit_plus',
  'topk_margin',
  'edit-threshold',
  'eb-sampler',
  'prophet',
  'pc-sampler',
];
const SERIES: Record<string, string> = {
  localleap: 'extra.anchor',
  credit: 'extra.credit',
  ccd: 'extra.ccd_buffer',
  freedave: 'extra.accepted_steps',
  entropy: 'extra.dream_entropy',
  maskgit_plus: 'extra.dream_maskgit_plus',
  topk_margin: 'extra.dream_topk_margin',
  prophet: 'extra.gap',
  'pc-sampler': 'extra.pc_score',
};

describe('every strategy through dlens record, on the fixture and on dlens-tiny', () => {
  const dir = tmp();
  it.each([
    ['fixture', ['--model', FIXTURE, '--prompt', 'hello']],
    ['dlens-tiny', ['--task', 'sort:1']],
  ] as const)("%s: valid traces with each strategy's series", async (label, src) => {
    const files: string[] = [];
    for (const s of NAMES) {
      const out = join(dir, `${label}-${s}.dlens`);
      const r = await dlens([
        'record',
        ...src,
        '--strategy',
        s,
        '--gen-length',
        '32',
        '--block-length',
        '16',
        '--out',
        out,
        '--json',
      ]);
      expect(r.code, r.stderr).toBe(0);
      const t = readTrace(new Uint8Array(readFileSync(out)));
      expect(t.manifest.strategy.name).toBe(s);
      expect(t.manifest.complete).toBe(true);
      if (SERIES[s]) expect(t.extras.has(SERIES[s]!), `${s} records ${SERIES[s]}`).toBe(true);
      files.push(out);
    }
    const f = join(dir, `${label}-filter.json`);
    expect((await dlens(['learn', '--traces', dir, '--out', f])).code).toBe(0);
    const l2 = join(dir, `${label}-learn2pd.dlens`);
    expect(
      (
        await dlens([
          'record',
          ...src,
          '--strategy',
          'learn2pd',
          '--set',
          `filter=${f}`,
          '--gen-length',
          '32',
          '--block-length',
          '16',
          '--out',
          l2,
        ])
      ).code,
    ).toBe(0);
    expect(readTrace(new Uint8Array(readFileSync(l2))).extras.has('extra.filter_score')).toBe(true);
    expect((await python(['test/check_trace.py', ...files, l2])).code).toBe(0);
  });
});

describe('lossless and counterfactual decoding on real models', () => {
  let fixture: LoadedModel, tiny: LoadedModel;
  beforeAll(async () => {
    fixture = await loadModel(FIXTURE);
    tiny = await loadModel();
  });
  const opts = {
    genLength: 64,
    blockLength: 16,
    steps: 64,
    temperature: 0,
    seed: 0,
    topK: 5,
    cache: 'none' as const,
    record: false,
  };

  it('FreeDave reproduces low-confidence exactly, with fewer sequential passes', async () => {
    for (const [m, prompt] of [
      [fixture, 'hello world'],
      [tiny, 'Sort: 17 5 90 33 2'],
      [tiny, 'Define: lantern'],
    ] as const) {
      const ids = m.encode(m.card.prompt_template.replace('{prompt}', prompt));
      const base = await decode(m, ids, getStrategy('low-confidence'), {}, opts);
      const fd = await decode(m, ids, getStrategy('freedave'), resolveParams(getStrategy('freedave'), {}), opts);
      expect(Array.from(fd.state)).toEqual(Array.from(base.state));
      expect(fd.nfe).toBeLessThan(base.nfe);
    }
  });

  it('FreeDave refuses caches and sampling it cannot keep lossless', async () => {
    const ids = fixture.encode('hi');
    await expect(
      decode(fixture, ids, getStrategy('freedave'), { draft: 4 }, { ...opts, cache: 'dual' }),
    ).rejects.toThrow(/use --cache none/);
    await expect(
      decode(fixture, ids, getStrategy('freedave'), { draft: 4 }, { ...opts, temperature: 1 }),
    ).rejects.toThrow(/--temperature 0/);
  });

  it('AdaBlock changes block boundaries at run time and the trace shows them', async () => {
    const ids = tiny.encode(tiny.card.prompt_template.replace('{prompt}', 'Define: lantern'));
    const r = await decode(
      tiny,
      ids,
      getStrategy('adablock'),
      { ...resolveParams(getStrategy('adablock'), {}), delimiters: 'space+punct+newline', delimiter_threshold: 0 },
      { ...opts, record: true },
    );
    const sizes = new Set(r.recorder.blocks.map(([a, b]) => b - a));
    expect(r.complete).toBe(true);
    expect([...sizes].some((s) => s !== 16)).toBe(true);
  });

  it('End-of-Text Prediction fills everything after a committed EOS in the same step', async () => {
    const ids = tiny.encode(tiny.card.prompt_template.replace('{prompt}', 'Copy: salt 7'));
    const r = await decode(tiny, ids, getStrategy('low-confidence'), {}, { ...opts, eot: true, record: true });
    const base = await decode(tiny, ids, getStrategy('low-confidence'), {}, opts);
    const P = ids.length,
      EOS = tiny.card.eos_token_id,
      MASK = tiny.card.mask_token_id;
    // after every step, nothing after a committed EOS is still masked
    for (const st of r.recorder.states) {
      const e = Array.from(st).findIndex((t, i) => i >= P && t === EOS);
      if (e >= 0) expect(Array.from(st.subarray(e + 1)).includes(MASK)).toBe(false);
    }
    expect(r.steps).toBeLessThan(base.steps);
    expect(tiny.decode(Array.from(r.state.subarray(P)))).toBe(tiny.decode(Array.from(base.state.subarray(P))));
  });

  it('record --from TRACE --at STEP continues from that state and says where it branched', async () => {
    const d = tmp();
    const src = join(d, 'src.dlens'),
      br = join(d, 'branch.dlens');
    expect((await dlens(['record', '--task', 'sort:2', '--gen-length', '32', '--out', src])).code).toBe(0);
    const r = await dlens([
      'record',
      '--from',
      src,
      '--at',
      '10',
      '--strategy',
      'fast-dllm-threshold',
      '--out',
      br,
      '--json',
    ]);
    expect(r.code, r.stderr).toBe(0);
    const a = readTrace(new Uint8Array(readFileSync(src))),
      b = readTrace(new Uint8Array(readFileSync(br)));
    expect(b.manifest.branch).toEqual({ from: src, at: 10, strategy: 'low-confidence' });
    expect(Array.from(b.state.subarray(0, b.dims.T))).toEqual(
      Array.from(a.state.subarray(10 * a.dims.T, 11 * a.dims.T)),
    );
    expect(b.dims.S).toBeLessThan(22);
    expect((await dlens(['record', '--from', src, '--at', '99'])).stderr).toMatch(
      /--at 99 is outside the trace's steps 0\.\.32/,
    );
    expect((await dlens(['record', '--from', src, '--at', '3', '--prompt', 'x'])).stderr).toMatch(/drop --prompt/);
  });
});
