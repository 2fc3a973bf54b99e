import { describe, it, expect } from 'vitest';
import { readTrace, TraceError } from '../../engine/trace/trace.js';
import { traceMetrics } from '../../engine/metrics/index.js';
import { Rng } from '../../engine/util/rng.js';
import { sampleTrace } from '../support/sample-trace.js';

/** Splits a safetensors file into its header object and its data section, to mutate the header and re-encode. */
function split(bytes: Uint8Array) {
  const n = Number(new DataView(bytes.buffer, bytes.byteOffset).getBigUint64(0, true));
  return {
    header: JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + n))) as Record<string, unknown>,
    data: bytes.subarray(8 + n),
  };
}
function join(headerText: string, data: Uint8Array) {
  const h = new TextEncoder().encode(headerText);
  const out = new Uint8Array(8 + h.length + data.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(h.length), true);
  out.set(h, 8);
  out.set(data, 8 + h.length);
  return out;
}

const base = sampleTrace();
const { header: baseHeader, data: baseData } = split(base);
const baseManifest = JSON.parse((baseHeader.__metadata__ as Record<string, string>).dlens!) as Record<string, unknown>;
const nest = (depth: number) => '['.repeat(depth) + ']'.repeat(depth);
const WEIRD: unknown[] = [null, -1, 1e308, 2 ** 60, 0.5, '', 'x'.repeat(300), [], {}, true, [1, 2], { a: 1 }, -0, 99];

/** One malformed (or possibly still valid) trace per call, from one of several families of damage. */
function mutant(rng: Rng, i: number): Uint8Array {
  const family = i % 6;
  if (family === 0) {
    // random bytes anywhere, sometimes truncated
    const b = base.slice();
    for (let f = rng.int(1, 8); f > 0; f--) b[rng.int(0, b.length - 1)] = rng.int(0, 255);
    return rng.next() < 0.3 ? b.subarray(0, rng.int(0, b.length)) : b;
  }
  if (family === 1) {
    // bytes of the header only (the JSON text)
    const b = base.slice();
    for (let f = rng.int(1, 4); f > 0; f--)
      b[rng.int(0, 8 + 400)] = rng.pick([0x22, 0x7b, 0x7d, 0x5b, 0x5d, 0x2c, 0x3a, 0x5c, 0x30, rng.int(0, 255)]);
    return b;
  }
  const header = structuredClone(baseHeader);
  const manifest = structuredClone(baseManifest);
  if (family === 2) {
    // manifest fields set to odd values or removed
    const keys = Object.keys(manifest);
    for (let f = rng.int(1, 3); f > 0; f--) {
      const k = rng.pick(keys);
      if (rng.next() < 0.3) delete manifest[k];
      else manifest[k] = rng.pick(WEIRD);
    }
    for (const k of ['num_layers', 'top_k', 'mask_token_id']) if (rng.next() < 0.2) manifest[k] = rng.int(0, 12);
    if (rng.next() < 0.3)
      manifest.extras = { [rng.pick(['extra.missing', 'state', 'extra.x'])]: { label: 'x', kind: 'series' } };
  }
  let manifestText = JSON.stringify(manifest);
  if (family === 3) {
    // deep nesting, duplicate keys, huge strings inside the manifest
    const k = rng.int(0, 3);
    if (k === 0) manifestText = manifestText.replace('"extras":{}', `"extras":{},"deep":${nest(rng.int(33, 100_000))}`);
    else if (k === 1) manifestText = manifestText.replace('"steps":3', `"steps":3,"steps":${rng.int(0, 9)}`);
    else if (k === 2) manifestText = manifestText.replace('"vocab":{"7":"x"}', `"vocab":{"7":"x","\\u0037":"y"}`);
    else manifestText = manifestText.replace('"prompt":"hi"', `"prompt":"hi","model":${nest(rng.int(1, 40))}`);
  }
  (header.__metadata__ as Record<string, string>).dlens = manifestText;
  if (family === 4) {
    // tensor entries: shapes, dtypes, offsets
    const names = Object.keys(header).filter((n) => n !== '__metadata__');
    const t = header[rng.pick(names)] as { dtype: unknown; shape: unknown[]; data_offsets: unknown[] };
    const what = rng.int(0, 3);
    if (what === 0) t.dtype = rng.pick(['F16', 'I32', 'U8', 'F64', 'X', 1]);
    else if (what === 1)
      t.shape = t.shape.map((d) => (rng.next() < 0.5 ? rng.pick([0, 1, 2, 7, -1, 2 ** 53, 'a']) : d));
    else if (what === 2) t.data_offsets = [rng.int(0, 400), rng.int(0, 400)];
    else delete header[rng.pick(names)];
  }
  let headerText = JSON.stringify(header);
  if (family === 5) {
    // block ranges and top-k ids outside the trace, and duplicate tensor entries
    const k = rng.int(0, 2);
    const data = baseData.slice();
    const off = (name: string) => (header[name] as { data_offsets: number[] }).data_offsets[0]!;
    const dv = new DataView(data.buffer);
    if (k === 0) dv.setInt32(off('block') + 4 * rng.int(0, 5), rng.pick([-1, 0, 1, 7, 1000]), true);
    else if (k === 1) dv.setInt32(off('topk_ids') + 4 * rng.int(0, 23), rng.pick([-2, 10, 11, 1 << 30]), true);
    else headerText = headerText.replace('"state":', `"state":${JSON.stringify(header.state)},"state":`);
    return join(headerText, data);
  }
  return join(headerText, baseData);
}

describe('the trace reader under hostile input', () => {
  it('refuses 10,000 generated malformed traces with its own error, never another exception or a hang', () => {
    const rng = new Rng(20261123);
    const N = 10_000;
    let refused = 0,
      slowest = 0;
    const other: string[] = [];
    for (let i = 0; i < N; i++) {
      const bytes = mutant(rng, i);
      const t0 = performance.now();
      try {
        const t = readTrace(bytes);
        // What `dlens info --json` does with a trace the reader accepted must not throw either.
        JSON.stringify({ manifest: t.manifest, summary: traceMetrics(t) });
      } catch (e) {
        if (e instanceof TraceError) refused++;
        else other.push(`case ${i}: ${(e as Error).name}: ${(e as Error).message}`);
      }
      slowest = Math.max(slowest, performance.now() - t0);
    }
    // The figures of this run, for whoever reports them (npx vitest run test/unit/trace-fuzz.test.ts).
    console.log(
      `fuzz: ${N} cases, ${refused} refused with TraceError, ${N - refused - other.length} accepted, ${other.length} other exceptions, slowest ${slowest.toFixed(1)} ms`,
    );
    expect(other).toEqual([]);
    expect(refused).toBeGreaterThan(N * 0.8);
    expect(slowest).toBeLessThan(2000);
  });

  it('refuses duplicate keys and deep nesting with messages that say so', () => {
    const m = JSON.stringify(baseManifest);
    const withManifest = (text: string) => {
      const h = structuredClone(baseHeader);
      (h.__metadata__ as Record<string, string>).dlens = text;
      return join(JSON.stringify(h), baseData);
    };
    expect(() => readTrace(withManifest(m.replace('"steps":3', '"steps":3,"steps":2')))).toThrow(
      /key "steps" appears twice/,
    );
    expect(() => readTrace(withManifest(m.replace('"extras":{}', `"extras":{},"deep":${nest(100_000)}`)))).toThrow(
      /nested more than 32 levels/,
    );
    expect(() =>
      readTrace(
        join(
          JSON.stringify(baseHeader).replace('"state":', `"state":${JSON.stringify(baseHeader.state)},"state":`),
          baseData,
        ),
      ),
    ).toThrow(/header: the key "state" appears twice/);
  });

  it('refuses a manifest that disagrees with its tensors', () => {
    expect(() => readTrace(sampleTrace({ num_layers: 4 }))).toThrow(/num_layers is 4 but tensor "saliency" holds 1/);
    expect(() => readTrace(sampleTrace({ top_k: 5 }))).toThrow(/top_k is 5 but tensor "topk_ids" holds 2/);
    expect(() => readTrace(sampleTrace({ mask_token_id: 10 }))).toThrow(
      /mask_token_id 10 is outside the model's vocabulary of 10/,
    );
    expect(() => readTrace(sampleTrace({ extras: { 'extra.gone': { label: 'x', kind: 'series' } } }))).toThrow(
      /extras names tensor "extra.gone"/,
    );
  });

  it('never quotes the bytes of a file that is not a trace', () => {
    const text = new TextEncoder().encode('root:x:0:0:root:/root:/bin/bash\n');
    const b = new Uint8Array(8 + text.length);
    new DataView(b.buffer).setBigUint64(0, BigInt(text.length), true);
    b.set(text, 8);
    expect(() => readTrace(b)).toThrow(TraceError);
    try {
      readTrace(b);
    } catch (e) {
      expect((e as Error).message).not.toContain('root:x');
    }
  });
});
