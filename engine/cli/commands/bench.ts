import { DlensError } from '../../errors.js';
import { checkDevice } from '../../model/devices.js';
import { SUITES } from '../../tasks/suites.js';
import type { CacheMode } from '../../cache/types.js';
import { runBench, aupTable } from '../../evaluate/run.js';
import { benchMarkdown, benchCsv, benchLatex } from '../../evaluate/tables.js';
import { writeFileAtomic } from '../../util/atomic-write.js';
import { DEFAULTS } from '../../api/defaults.js';
import { intOpt, pathOpt, parse, type Command } from '../args.js';

export const benchCommand: Command = {
  name: 'bench',
  usage: `dlens bench [--model NAME|DIR] --suite NAME[,NAME] [--strategies a,b] [--caches a,b] [--limit N]
              [--gen-length N] [--block-length N] [--steps N] [--device D] [--format md|csv|latex|json] [--json] [--out FILE]
              [--traces DIR] [--set SET] [--no-diagnose]
               (gen length defaults to each suite's own: 64 for sort, define, fortune, 32 for the rest; every decode is
                recorded for the failure detectors and decoding order unless --no-diagnose; --traces DIR keeps them;
                a strategy is NAME[@key=value,...]: its parameters, steps=N or tps=N, eot=true, block=gen for the
                generation as one block)`,
  summary:
    "suites × strategies × caches on held-out task instances: accuracy, steps, NFE, tokens per forward over all positions and over the answer (d3LLM: excluding EOS), speed, AUP; each decode is recorded for the failure detectors' shares (premature commit's two signs also apart) and the mean decoding-order Kendall τ (`--traces DIR` keeps the instance traces, which the app's Bench view opens; `--set SET` writes them into a trace set, docs/trace-set.md; `--no-diagnose` decodes without recording, for speed alone: recording adds its per-step cost to the wall time; the bench never records the logit lens); as Markdown, CSV, LaTeX or JSON",
  run,
};

async function run(argv: string[]) {
  const { values } = parse(benchCommand, argv, {
    model: { type: 'string' },
    suite: { type: 'string' },
    strategies: { type: 'string' },
    caches: { type: 'string' },
    limit: { type: 'string' },
    'gen-length': { type: 'string' },
    'block-length': { type: 'string' },
    steps: { type: 'string' },
    json: { type: 'boolean' },
    out: { type: 'string' },
    format: { type: 'string' },
    device: { type: 'string' },
    traces: { type: 'string' },
    set: { type: 'string' },
    'no-diagnose': { type: 'boolean' },
  });
  if (values.traces && values['no-diagnose'])
    throw new DlensError('--traces keeps the traces the diagnostics record: leave out --no-diagnose');
  const format = (values.format as string | undefined) ?? (values.json ? 'json' : 'md');
  if (!['md', 'csv', 'latex', 'json'].includes(format))
    throw new DlensError(`--format must be md, csv, latex or json; got "${format}"`);
  if (!values.suite)
    throw new DlensError(
      `--suite is required (one or more of ${SUITES.map((s) => s.name).join(', ')}, comma-separated)`,
    );
  const genLength = intOpt(values['gen-length'] as string, '--gen-length', 1);
  pathOpt(values.out as string | undefined, '--out');
  const tty = process.stderr.isTTY && !values.json;
  const cells = await runBench(
    {
      model: values.model as string | undefined,
      device: values.device === undefined ? undefined : checkDevice(values.device as string),
      suites: (values.suite as string).split(','),
      strategies: ((values.strategies as string | undefined) ?? DEFAULTS.strategy).split(','),
      caches: ((values.caches as string | undefined) ?? DEFAULTS.cache).split(',') as CacheMode[],
      limit: intOpt(values.limit as string, '--limit', 1) ?? 20,
      genLength,
      blockLength: intOpt(values['block-length'] as string, '--block-length', 1) ?? DEFAULTS.blockLength,
      steps: intOpt(values.steps as string, '--steps', 1),
      diagnose: !values['no-diagnose'],
      tracesDir: pathOpt(values.traces as string | undefined, '--traces'),
      setDir: pathOpt(values.set as string | undefined, '--set'),
    },
    tty
      ? (d, t, label) => {
          const w = 30,
            f = Math.round((d / t) * w);
          process.stderr.write(`\r[${'#'.repeat(f)}${'.'.repeat(w - f)}] ${d}/${t} ${label.padEnd(30)}`);
        }
      : undefined,
  );
  if (tty) process.stderr.write('\n');
  const text =
    format === 'json'
      ? JSON.stringify({ cells, aup: aupTable(cells) }, null, 1)
      : format === 'csv'
        ? benchCsv(cells)
        : format === 'latex'
          ? benchLatex(cells)
          : benchMarkdown(cells);
  if (values.out) writeFileAtomic(values.out as string, new TextEncoder().encode(text + '\n'));
  console.log(format === 'json' ? JSON.stringify({ cells, aup: aupTable(cells) }) : text);
}
