/** A bench's cells as tables: Markdown, CSV and LaTeX, with the AUP and diagnostics tables beside the cells. */
import { aupTable } from '../metrics/aup.js';
import { DETECTORS } from '../metrics/detectors/index.js';
import { definedMean, detectorShares, DETECTOR_SIGNS, signShares } from './diagnose.js';
import type { BenchCell } from './run.js';
/**
 * TPF two ways (docs/metrics.md): over all generated positions (gen length / NFE: Fast-dLLM's and ParallelBench's
 * tokens per forward, where EOS padding counts) and over the answer's tokens only (d3LLM's leaderboard: TPF excluding
 * EOS). AUP is computed on the first, as before.
 */
const HEAD = [
  'suite',
  'strategy',
  'cache',
  'n',
  'accuracy %',
  'steps',
  'NFE',
  'TPF (all)',
  'TPF (answer, excl. EOS)',
  'wall ms',
  'tokens/s',
  'speedup',
];
const rowOf = (c: BenchCell) => [
  c.suite,
  c.strategy,
  c.cache,
  String(c.n),
  (c.accuracy * 100).toFixed(1),
  c.steps.toFixed(1),
  c.nfe.toFixed(1),
  c.tpf.toFixed(2),
  c.tpf_answer.toFixed(2),
  c.wall_ms.toFixed(0),
  c.tokens_per_s.toFixed(1),
  `${c.speedup.toFixed(2)}x`,
];
const aupRow = (r: ReturnType<typeof aupTable>[number]) => [
  r.strategy,
  r.cache,
  (r.accuracy * 100).toFixed(1),
  r.tpf.toFixed(2),
  r.tpf_answer.toFixed(2),
  r.steps.toFixed(1),
  r.aup.toFixed(3),
];
const AUP_HEAD = [
  'strategy',
  'cache',
  'mean accuracy %',
  'mean TPF (all)',
  'mean TPF (answer, excl. EOS)',
  'mean steps',
  'AUP (alpha 3, on TPF all)',
];

/**
 * Failure detectors and decoding order per strategy and cache over all suites (instances pooled): the share of
 * instances each detector flags (docs/diagnostics.md; "n/a" where it cannot judge the strategy's decodes) and the
 * mean decoding-order Kendall tau. Empty when the bench ran without diagnostics.
 */
export function diagnosticsTable(cells: BenchCell[]) {
  const keys = [...new Set(cells.filter((c) => c.instances).map((c) => `${c.strategy}|${c.cache}`))];
  return keys.map((k) => {
    const cs = cells.filter((c) => `${c.strategy}|${c.cache}` === k);
    const xs = cs.flatMap((c) => c.instances ?? []);
    return {
      strategy: cs[0]!.strategy,
      cache: cs[0]!.cache,
      n: xs.length,
      detectors: detectorShares(xs),
      signs: signShares(xs),
      kendall: definedMean(xs.map((x) => x.kendall)),
      kendall_block: definedMean(xs.map((x) => x.kendall_block)),
    };
  });
}
const pct = (x: number | null) => (x === null ? 'n/a' : (x * 100).toFixed(1));
const tau = (m: { mean: number | null; n: number }) => (m.mean === null ? 'n/a' : `${m.mean.toFixed(2)} (${m.n})`);
const DIAG_HEAD = [
  'strategy',
  'cache',
  'instances',
  ...DETECTORS.map((d) => `${d.label} %`),
  ...DETECTOR_SIGNS.map((s) => `${s.label} %`),
  'Kendall tau (answer; n defined)',
  'Kendall tau per block',
];
const diagRow = (r: ReturnType<typeof diagnosticsTable>[number]) => [
  r.strategy,
  r.cache,
  String(r.n),
  ...DETECTORS.map((d) => pct(r.detectors[d.id])),
  ...DETECTOR_SIGNS.map((s) => pct(r.signs[s.key] ?? null)),
  tau(r.kendall),
  tau(r.kendall_block),
];

export function benchCsv(cells: BenchCell[]): string {
  const q = (s: string) => (/[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s);
  return (
    [HEAD, ...cells.map(rowOf)].map((r) => r.map(q).join(',')).join('\n') +
    '\n\n' +
    [AUP_HEAD, ...aupTable(cells).map(aupRow)].map((r) => r.map(q).join(',')).join('\n') +
    '\n' +
    (cells.some((c) => c.instances)
      ? '\n' + [DIAG_HEAD, ...diagnosticsTable(cells).map(diagRow)].map((r) => r.map(q).join(',')).join('\n') + '\n'
      : '')
  );
}

export function benchLatex(
  cells: BenchCell[],
  caption = 'Decoding strategies on dlens task suites (dlens bench).',
): string {
  const esc = (s: string) => s.replace(/([&%$#_{}])/g, '\\$1');
  const table = (head: string[], rows: string[][], cap: string) =>
    [
      '\\begin{table}[t]',
      '\\centering',
      '\\small',
      `\\begin{tabular}{${'l'.repeat(head.length > 6 ? 3 : 2)}${'r'.repeat(head.length - (head.length > 6 ? 3 : 2))}}`,
      '\\toprule',
      head.map(esc).join(' & ') + ' \\\\',
      '\\midrule',
      ...rows.map((r) => r.map(esc).join(' & ') + ' \\\\'),
      '\\bottomrule',
      '\\end{tabular}',
      `\\caption{${esc(cap)}}`,
      '\\end{table}',
    ].join('\n');
  return (
    table(HEAD, cells.map(rowOf), caption) +
    '\n\n' +
    table(AUP_HEAD, aupTable(cells).map(aupRow), 'Accuracy under parallelism (AUP, alpha = 3) per strategy.') +
    '\n' +
    (cells.some((c) => c.instances)
      ? '\n' +
        table(
          DIAG_HEAD,
          diagnosticsTable(cells).map(diagRow),
          'Share of instances each failure detector flags, and the decoding order (Kendall tau; 1 = left to right).',
        ) +
        '\n'
      : '')
  );
}

export function benchMarkdown(cells: BenchCell[]): string {
  const t = aupTable(cells);
  return [
    `| ${HEAD.join(' | ')} |`,
    `|${HEAD.map(() => '---').join('|')}|`,
    ...cells.map((c) => `| ${rowOf(c).join(' | ')} |`),
    '',
    `| ${AUP_HEAD.join(' | ')} |`,
    `|${AUP_HEAD.map(() => '---').join('|')}|`,
    ...t.map((r) => `| ${aupRow(r).join(' | ')} |`),
    ...(cells.some((c) => c.instances)
      ? [
          '',
          `| ${DIAG_HEAD.join(' | ')} |`,
          `|${DIAG_HEAD.map(() => '---').join('|')}|`,
          ...diagnosticsTable(cells).map((r) => `| ${diagRow(r).join(' | ')} |`),
        ]
      : []),
  ].join('\n');
}
