/**
 * dlens's decodes against the goldens the papers' own code made (make_goldens.py; docs/fidelity.md): per configuration
 * and prompt, whether the outputs are equal, and whether the content tokens (non-EOS) were committed in the same
 * order — strictly, and except where the reference's own probabilities were within 1e-6 (its recorded ties).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { LoadedModel } from '../../engine/model/load.js';
import { decode } from '../../engine/decode/run.js';
import { getStrategy, resolveParams } from '../../engine/strategies/index.js';
import { REPO_ROOT } from '../../engine/model/paths.js';
import type { CacheMode } from '../../engine/cache/modes.js';
import type { ReferencePrompt } from './prompts.js';

export const GOLDENS = join(REPO_ROOT, 'test', 'fixtures', 'reference-goldens.json');

export interface GoldenRun {
  task: string;
  output: number[];
  nfe: number;
  /** Per generated position, the reference's model call after which it was decided. */
  commit_step: number[];
  /** Reference call → positions whose decision was within the tie margin of going the other way. */
  ties: Record<string, number[]>;
}
export interface Goldens {
  model: { name: string; sha256: string };
  /** Where the reference ran (cpu or cuda, torch version). */
  device: string;
  gen_length: number;
  block_length: number;
  steps: number;
  tie: number;
  prompts: ReferencePrompt[];
  configs: {
    name: string;
    dlens: {
      strategy: string;
      params: Record<string, unknown>;
      cache: CacheMode;
      cache_params?: Record<string, number>;
    };
    runs: GoldenRun[];
  }[];
}

export const readGoldens = (file = GOLDENS): Goldens => JSON.parse(readFileSync(file, 'utf8')) as Goldens;

export interface RunComparison {
  task: string;
  outputEqual: boolean;
  /** Content-token pairs committed in a different order, and how many of them the reference's ties excuse. */
  orderMismatches: number;
  excused: number;
  /** Passes dlens made and model calls the reference made. */
  nfe: number;
  refNfe: number;
  /** The first differing pair, for a failure message. */
  firstMismatch?: string;
}

const sign = (x: number) => (x > 0 ? 1 : x < 0 ? -1 : 0);

/** Decodes one golden run with dlens and compares. */
export async function compareRun(
  model: LoadedModel,
  g: Goldens,
  config: Goldens['configs'][number],
  run: GoldenRun,
  ids: number[],
): Promise<RunComparison> {
  const strategy = getStrategy(config.dlens.strategy);
  const r = await decode(model, ids, strategy, resolveParams(strategy, config.dlens.params), {
    genLength: g.gen_length,
    blockLength: g.block_length,
    steps: g.steps,
    temperature: 0,
    seed: 0,
    topK: 1,
    cache: config.dlens.cache,
    cacheParams: config.dlens.cache_params,
    record: false,
  });
  const P = ids.length,
    eos = model.card.eos_token_id;
  const out = Array.from(r.state.subarray(P));
  const content = run.output.flatMap((t, i) => (t === eos ? [] : [i]));
  let orderMismatches = 0,
    excused = 0,
    firstMismatch: string | undefined;
  for (let x = 0; x < content.length; x++)
    for (let y = x + 1; y < content.length; y++) {
      const a = content[x]!,
        b = content[y]!;
      const ra = run.commit_step[a]!,
        rb = run.commit_step[b]!;
      if (sign(ra - rb) === sign(r.commitStep[P + a]! - r.commitStep[P + b]!)) continue;
      orderMismatches++;
      const tied = run.ties[String(Math.min(ra, rb))] ?? [];
      if (tied.includes(P + a) && tied.includes(P + b)) excused++;
      else
        firstMismatch ??= `positions ${P + a} and ${P + b}: reference calls ${ra} and ${rb}, dlens steps ${r.commitStep[P + a]} and ${r.commitStep[P + b]}`;
    }
  return {
    task: run.task,
    outputEqual: out.length === run.output.length && out.every((t, i) => t === run.output[i]),
    orderMismatches,
    excused,
    nfe: r.nfe,
    refNfe: run.nfe,
    firstMismatch,
  };
}

/** One line per configuration: outputs equal, content order equal strictly, and with the reference's ties excused. */
export function summaryTable(rows: { config: string; runs: RunComparison[] }[]): string {
  const n = (xs: RunComparison[], f: (r: RunComparison) => boolean) => `${xs.filter(f).length}/${xs.length}`;
  return [
    '| configuration | outputs equal | content order equal | content order equal except reference ties (< 1e-6) | passes dlens / reference |',
    '|---|---|---|---|---|',
    ...rows.map(
      ({ config, runs }) =>
        `| ${config} | ${n(runs, (r) => r.outputEqual)} | ${n(runs, (r) => r.orderMismatches === 0)} | ${n(runs, (r) => r.orderMismatches === r.excused)} | ${runs.reduce((a, r) => a + r.nfe, 0)} / ${runs.reduce((a, r) => a + r.refNfe, 0)} |`,
    ),
  ].join('\n');
}
