/** Tables for papers: the metrics of one or more traces, as CSV and as a booktabs LaTeX table pdflatex typesets. */
import type { LoadedTrace } from './traceModel.js';
import { REGION_LABEL, type Region } from '../../../engine/metrics/index.js';

/** The metrics table of one or more traces: rows of [metric, value per trace]. */
/**
 * The metrics table of the Compare view and the CSV/LaTeX exports. Per-position metrics are over `region` (answer
 * tokens by default; docs/metrics.md), and the table's first row says which.
 */
export function metricsTable(
  traces: LoadedTrace[],
  region: Region = 'answer',
): { header: string[]; rows: (string | number)[][] } {
  const f = (x: number, d = 2) => (Number.isFinite(x) ? Number(x.toFixed(d)) : '');
  const r = (lt: LoadedTrace) => lt.metrics.regions[region];
  const rows: [string, (lt: LoadedTrace) => string | number][] = [
    ['positions counted', () => REGION_LABEL[region]],
    ['strategy', (lt) => lt.trace.manifest.strategy.name],
    ['cache', (lt) => lt.trace.manifest.cache.mode],
    ['generated tokens', (lt) => lt.trace.dims.G],
    ['answer tokens', (lt) => lt.metrics.regions.answer.positions],
    ['steps', (lt) => lt.metrics.steps],
    ['NFE', (lt) => lt.metrics.nfe],
    ['TPF, all positions', (lt) => f(lt.metrics.tpf)],
    ['TPF, answer tokens (d3LLM: excluding EOS)', (lt) => f(lt.metrics.regions.answer.tpf)],
    ['wall time (ms)', (lt) => f(lt.metrics.wall_ms, 0)],
    ['tokens/s', (lt) => f(lt.metrics.tokens_per_s, 1)],
    ['mean delay (steps)', (lt) => f(r(lt).delay.meanDelay)],
    ['share delayed > 2 steps', (lt) => f(r(lt).delay.delayedMoreThan['2'] ?? 0, 3)],
    ['oracle steps (Learn2PD)', (lt) => r(lt).delay.oracleSteps],
    ['steps with a volatility band', (lt) => r(lt).volatility.steps_with_band],
    ['mean volatility band width', (lt) => f(r(lt).volatility.mean_band_width, 1)],
    ['decoding order, Kendall τ (answer)', (lt) => f(lt.metrics.order.overall.answer.kendall)],
    ['decoding order, Spearman ρ (answer)', (lt) => f(lt.metrics.order.overall.answer.spearman)],
    ['decoding order, mean Kendall τ per block', (lt) => f(lt.metrics.order.meanBlock.kendall)],
    [
      'failure detectors flagged',
      (lt) =>
        lt.metrics.detectors
          .filter((d) => d.findings.length)
          .map((d) => `${d.label} (${d.findings.length})`)
          .join('; ') || 'none',
    ],
    ['peak cache (MB)', (lt) => f((lt.trace.manifest.peak_cache_bytes ?? 0) / 1e6)],
    ['accuracy', (lt) => (lt.metrics.accuracy === null ? '' : f(lt.metrics.accuracy, 3))],
    ['complete', (lt) => (lt.trace.manifest.complete ? 'yes' : `no (${lt.trace.manifest.incomplete_reason ?? ''})`)],
  ];
  return { header: ['metric', ...traces.map((t) => t.name)], rows: rows.map(([k, fn]) => [k, ...traces.map(fn)]) };
}

export function toCsv(table: { header: string[]; rows: (string | number)[][] }): string {
  const cell = (v: string | number) => {
    const s = String(v);
    return /[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
  };
  return [table.header, ...table.rows].map((r) => r.map(cell).join(',')).join('\n') + '\n';
}

// What pdflatex typesets without extra packages: every special character escaped, and the symbols dlens's tables use
// (τ, ρ, ×, ≤, …) in math mode. One pass, so that no replacement is escaped again.
const TEX: Record<string, string> = {
  '\\': '\\textbackslash{}',
  '&': '\\&',
  '%': '\\%',
  $: '\\$',
  '#': '\\#',
  _: '\\_',
  '{': '\\{',
  '}': '\\}',
  '~': '\\textasciitilde{}',
  '^': '\\textasciicircum{}',
  '<': '$<$',
  '>': '$>$',
  '|': '$|$',
  τ: '$\\tau$',
  ρ: '$\\rho$',
  '×': '$\\times$',
  '≤': '$\\leq$',
  '≥': '$\\geq$',
  '±': '$\\pm$',
  '→': '$\\rightarrow$',
  '…': '\\ldots{}',
  '–': '--',
  '✓': 'yes',
  '✗': 'no',
};
export const texEscape = (s: string) => s.replace(/[\\&%$#_{}~^<>|τρ×≤≥±→…–✓✗]/g, (c) => TEX[c]!);

/** A booktabs table ready for a paper. */
export function toLatex(
  table: { header: string[]; rows: (string | number)[][] },
  caption = 'Decoding metrics recorded with dlens.',
): string {
  const cols = 'l' + 'r'.repeat(table.header.length - 1);
  return [
    '\\begin{table}[t]',
    '\\centering',
    `\\begin{tabular}{${cols}}`,
    '\\toprule',
    table.header.map((h) => texEscape(String(h))).join(' & ') + ' \\\\',
    '\\midrule',
    ...table.rows.map((r) => r.map((v) => texEscape(String(v))).join(' & ') + ' \\\\'),
    '\\bottomrule',
    '\\end{tabular}',
    `\\caption{${texEscape(caption)}}`,
    '\\end{table}',
    '',
  ].join('\n');
}
