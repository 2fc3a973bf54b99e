import type { Trace } from '../trace/trace.js';
import { traceMetrics, confidenceGrid, gridHex, positionRegions } from '../metrics/index.js';

/** The evaluation's own name for a decode: lm-eval's task and doc_id, and which repeat of it (docs/trace-set.md). */
export interface SampleId {
  task: string;
  doc_id: string | number;
  repeat?: number;
}

/**
 * One decode's row in a set's index: what the Set view filters, sorts and plots, and `dlens set info`/`diff` count,
 * without opening the decode. Metrics are over the answer region (the generated tokens before EOS padding).
 */
export interface IndexRow {
  id: string;
  shard: string;
  offset: number;
  length: number;
  sample: SampleId | null;
  prompt: string;
  output: string;
  /** The reference answer and whether the output is right, when known (a suite's checker, or `dlens set label`). */
  reference: string | null;
  correct: boolean | null;
  /** lm-eval's filtered answer, after `dlens set label`. */
  filtered?: string;
  model: string;
  strategy: string;
  cache: string;
  gen_length: number;
  steps: number;
  nfe: number;
  /** Generated tokens per forward pass, and the answer's tokens per forward pass. */
  tpf: number;
  answer_tokens: number;
  answer_tpf: number;
  /** Mean steps between a position's prediction settling and its commit, over the answer (delayed decoding). */
  answer_delay: number;
  /** Detectors that fired (docs/diagnostics.md), and the decoding order's Kendall tau over the answer. */
  detectors: string[];
  kendall: number | null;
  /** Mean confidence by relative step × relative answer position (8 × 8, row-major, as gridHex writes it;
   * engine/metrics/confidence-grid). Sent to the page packed, by setConfidenceGrids, not with the rows. */
  conf_grid?: string;
  complete: boolean;
}

/** The row of a decode, from its full trace (before compaction: the detectors read every statistic). */
export function indexRow(t: Trace, sample?: SampleId): Omit<IndexRow, 'id' | 'shard' | 'offset' | 'length'> {
  const m = t.manifest;
  const x = traceMetrics(t);
  const answer = x.regions.answer;
  const task = m.task ?? null;
  const kendall = x.order.overall.answer.kendall;
  return {
    sample: sample ?? (task ? { task: task.suite, doc_id: task.id } : null),
    prompt: m.prompt,
    output: m.output,
    reference: task?.reference ?? null,
    correct: task && task.score !== null ? task.score >= 1 : null,
    model: m.model.name,
    strategy: m.strategy.name,
    cache: m.cache.mode,
    gen_length: t.dims.G,
    steps: t.dims.S,
    nfe: m.nfe,
    tpf: x.tpf,
    answer_tokens: answer.positions,
    answer_tpf: answer.tpf,
    answer_delay: answer.delay.meanDelay,
    detectors: x.detectors.filter((d) => d.findings.length).map((d) => d.id),
    kendall: Number.isNaN(kendall) ? null : kendall,
    conf_grid: gridHex(confidenceGrid(t, positionRegions(t))),
    complete: m.complete,
  };
}
