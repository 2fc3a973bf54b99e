import { loadModel } from '../model/load.js';
import { decode } from '../decode/run.js';
import { getStrategy, resolveParams } from '../strategies/index.js';
import { taskAt } from '../tasks/generate.js';
import { getSuite } from '../tasks/suites.js';
import { fileCorpus } from '../tasks/corpus.js';
import { decodeOutput } from '../record.js';
import { makeCache } from '../cache/index.js';
import type { CacheMode } from '../cache/types.js';

export interface BenchRequest {
  model?: string; suites: string[]; strategies: string[]; caches: CacheMode[];
  limit: number; seed?: number; genLength: number; blockLength: number; steps: number;
}
export interface BenchCell {
  suite: string; strategy: string; cache: CacheMode; n: number;
  accuracy: number; steps: number; nfe: number; tpf: number; wall_ms: number; tokens_per_s: number; speedup: number;
}

/** suites x strategies x caches on one model; every cell decodes the same eval instances. */
export async function runBench(req: BenchRequest, onProgress?: (done: number, total: number, label: string) => void): Promise<BenchCell[]> {
  const model = await loadModel(req.model);
  for (const s of req.suites) getSuite(s);
  for (const s of req.strategies) getStrategy(s);
  for (const c of req.caches) makeCache(c, {}, model.card.attention);
  const ctx = { split: 'eval' as const, corpus: fileCorpus() };
  const seed = req.seed ?? 424242;
  const cells: BenchCell[] = [];
  const total = req.suites.length * req.strategies.length * req.caches.length * req.limit;
  let done = 0;
  for (const suite of req.suites) for (const strategy of req.strategies) for (const cache of req.caches) {
    const strat = getStrategy(strategy), params = resolveParams(strat, {});
    let score = 0, steps = 0, nfe = 0, wall = 0, gen = 0;
    for (let i = 0; i < req.limit; i++) {
      const t = taskAt(suite, i, seed, ctx);
      const ids = model.encode(model.card.prompt_template.replace('{prompt}', t.prompt));
      const r = await decode(model, ids, strat, params, { genLength: req.genLength, blockLength: req.blockLength, steps: req.steps, temperature: 0, seed: 0, topK: 5, cache, record: false });
      score += getSuite(suite).score(decodeOutput(model, r.state, ids.length), t);
      steps += r.steps; nfe += r.nfe; wall += r.wallMs; gen += req.genLength;
      onProgress?.(++done, total, `${suite}/${strategy}/${cache}`);
    }
    cells.push({ suite, strategy, cache, n: req.limit, accuracy: score / req.limit, steps: steps / req.limit, nfe: nfe / req.limit, tpf: gen / nfe, wall_ms: wall / req.limit, tokens_per_s: gen / (wall / 1000), speedup: 1 });
  }
  for (const c of cells) {
    const base = cells.find((b) => b.suite === c.suite && b.strategy === req.strategies[0] && b.cache === req.caches[0])!;
    c.speedup = c.tokens_per_s / base.tokens_per_s;
  }
  await model.release();
  return cells;
}

export function benchMarkdown(cells: BenchCell[]): string {
  return ['| suite | strategy | cache | n | accuracy | steps | NFE | TPF | wall ms | tokens/s | speedup |', '|---|---|---|---|---|---|---|---|---|---|---|',
    ...cells.map((c) => `| ${c.suite} | ${c.strategy} | ${c.cache} | ${c.n} | ${(c.accuracy * 100).toFixed(1)} | ${c.steps.toFixed(1)} | ${c.nfe.toFixed(1)} | ${c.tpf.toFixed(2)} | ${c.wall_ms.toFixed(0)} | ${c.tokens_per_s.toFixed(1)} | ${c.speedup.toFixed(2)}x |`)].join('\n');
}
