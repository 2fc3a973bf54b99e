import { DlensError } from '../../errors.js';
import { generateTasks } from '../../tasks/generate.js';
import { fileCorpus } from '../../tasks/corpus.js';
import { SUITES, getSuite } from '../../tasks/suites.js';
import { intOpt, parse, usageOf, type Command } from '../args.js';

export const tasksCommand: Command = {
  name: 'tasks',
  usage: 'dlens tasks generate --suite NAME --n N --seed S [--split eval|train]',
  summary: 'task instances of a suite as JSON lines (prompt, reference, checker data)',
  run,
};

async function run(argv: string[]) {
  const [sub, ...rest] = argv;
  if (sub !== 'generate') throw new DlensError(`unknown tasks subcommand "${sub ?? ''}"\n${usageOf(tasksCommand)}`);
  const { values } = parse(tasksCommand, rest, {
    suite: { type: 'string' },
    n: { type: 'string' },
    seed: { type: 'string' },
    split: { type: 'string' },
  });
  if (!values.suite) throw new DlensError(`--suite is required: one of ${SUITES.map((s) => s.name).join(', ')}`);
  const n = intOpt(values.n as string, '--n', 1) ?? 10,
    seed = intOpt(values.seed as string, '--seed') ?? 0;
  const split = (values.split as string | undefined) ?? 'eval';
  if (split !== 'eval' && split !== 'train') throw new DlensError('--split must be eval or train');
  // the recipe's eval decodes each suite at its own length
  const genLength = getSuite(values.suite as string).genLength;
  for (const t of generateTasks(values.suite as string, n, seed, { split, corpus: fileCorpus() }))
    process.stdout.write(JSON.stringify({ ...t, gen_length: genLength }) + '\n');
}
