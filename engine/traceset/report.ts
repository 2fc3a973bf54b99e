import { divergence } from '../metrics/divergence.js';
import { readTrace } from '../trace/trace.js';
import { DETECTORS } from '../metrics/detectors/index.js';
import type { IndexRow } from './index-row.js';
import { groupBy } from '../util/group-by.js';
import type { OpenSet } from './set.js';

/** Quantiles of a list of numbers (nearest rank): what `dlens set info` prints for steps and TPF. */
export function distribution(xs: number[]) {
  const s = xs.filter(Number.isFinite).sort((a, b) => a - b);
  const q = (f: number) => (s.length ? s[Math.min(s.length - 1, Math.floor(f * s.length))]! : null);
  const mean = s.length ? s.reduce((a, b) => a + b, 0) / s.length : null;
  return { n: s.length, min: s[0] ?? null, p10: q(0.1), median: q(0.5), mean, p90: q(0.9), max: s.at(-1) ?? null };
}

/** A group's label: strategy and cache, as `dlens bench` names a cell. */
export const groupOf = (r: IndexRow) => `${r.strategy} / ${r.cache}`;

/** `dlens set info`: per strategy and cache, the decodes, accuracy where known, steps and TPF, detector shares. */
export function setInfo(set: OpenSet) {
  const groups = groupBy(set.rows, groupOf);
  return {
    dir: set.dir,
    decodes: set.rows.length,
    skipped: set.skipped,
    groups: [...groups].map(([group, rows]) => {
      const judged = rows.filter((r) => r.correct !== null);
      return {
        group,
        decodes: rows.length,
        accuracy: judged.length ? judged.filter((r) => r.correct).length / judged.length : null,
        judged: judged.length,
        steps: distribution(rows.map((r) => r.steps)),
        tpf: distribution(rows.map((r) => r.tpf)),
        answer_tpf: distribution(rows.map((r) => r.answer_tpf)),
        detectors: Object.fromEntries(
          DETECTORS.map((d) => [d.id, rows.filter((r) => r.detectors.includes(d.id)).length / rows.length]),
        ),
      };
    }),
  };
}

/** The key two sets pair their decodes on: the evaluation's sample id (task, doc_id, repeat), else the prompt. */
export const sampleKey = (r: IndexRow) =>
  r.sample ? `${r.sample.task}\u0000${r.sample.doc_id}\u0000${r.sample.repeat ?? 0}` : `prompt\u0000${r.prompt}`;

export interface PairedDiff {
  paired: number;
  only_a: number;
  only_b: number;
  right_to_wrong: { key: string; a: string; b: string; part?: number | null }[];
  wrong_to_right: { key: string; a: string; b: string; part?: number | null }[];
  /** Mean steps and forward passes B saves against A over the paired decodes (negative: B takes more). */
  steps_saved: number | null;
  nfe_saved: number | null;
}

/**
 * `dlens set diff A B`: decodes paired on their sample; which flipped right to wrong and wrong to right, the steps
 * saved, and for the first `partLimit` flips the step where the paired decodes' states first part.
 */
export function setDiff(a: OpenSet, b: OpenSet, partLimit = 50): PairedDiff {
  const byKey = new Map(b.rows.map((r) => [sampleKey(r), r]));
  const pairs: [IndexRow, IndexRow][] = [];
  for (const r of a.rows) {
    const o = byKey.get(sampleKey(r));
    if (o) pairs.push([r, o]);
  }
  const flip = (from: boolean, to: boolean) =>
    pairs
      .filter(([x, y]) => x.correct === from && y.correct === to)
      .map(([x, y]) => ({ key: sampleKey(x).replaceAll('\u0000', ':'), a: x.id, b: y.id }));
  const rw = flip(true, false),
    wr = flip(false, true);
  let budget = partLimit;
  for (const f of [...rw, ...wr]) {
    if (budget-- <= 0) break;
    const d = divergence(readTrace(a.trace(f.a)), readTrace(b.trace(f.b)));
    (f as { part?: number | null }).part = d.incomparable ? null : (d.states?.step ?? null);
  }
  const mean = (xs: number[]) => (xs.length ? xs.reduce((s, x) => s + x, 0) / xs.length : null);
  return {
    paired: pairs.length,
    only_a: a.rows.length - pairs.length,
    only_b: b.rows.length - pairs.length,
    right_to_wrong: rw,
    wrong_to_right: wr,
    steps_saved: mean(pairs.map(([x, y]) => x.steps - y.steps)),
    nfe_saved: mean(pairs.map(([x, y]) => x.nfe - y.nfe)),
  };
}
