import { readFileSync, existsSync } from 'node:fs';
import { DlensError } from '../../errors.js';
import { readTrace } from '../../trace/trace.js';
import { writeFileAtomic } from '../../util/atomic-write.js';
import { pathOpt, parse, usageOf, type Command } from '../args.js';

export const learnCommand: Command = {
  name: 'learn',
  usage: "dlens learn --traces DIR --out FILE      (train Learn2PD's filter on recorded traces)",
  summary: "trains Learn2PD's filter on a folder of traces (`--set filter=FILE` for `--strategy learn2pd`)",
  run,
};

async function run(argv: string[]) {
  const { values } = parse(learnCommand, argv, {
    traces: { type: 'string' },
    out: { type: 'string' },
    json: { type: 'boolean' },
  });
  pathOpt(values.out as string | undefined, '--out');
  if (!values.traces || !values.out)
    throw new DlensError(`dlens learn needs --traces DIR and --out FILE\n${usageOf(learnCommand)}`);
  const { readdirSync, statSync } = await import('node:fs');
  const { join } = await import('node:path');
  const { traceExamples, trainFilter } = await import('../../learn/filter.js');
  const dir = values.traces as string;
  if (!existsSync(dir) || !statSync(dir).isDirectory())
    throw new DlensError(`--traces ${dir} is not a folder of .dlens traces`);
  const files = readdirSync(dir)
    .filter((f) => f.endsWith('.dlens'))
    .map((f) => join(dir, f));
  if (!files.length)
    throw new DlensError(`${dir} holds no .dlens traces; record some first (dlens record ... --out ${dir}/x.dlens)`);
  const X: number[][] = [],
    Y: number[] = [];
  for (const f of files) {
    let t;
    try {
      t = readTrace(new Uint8Array(readFileSync(f)));
    } catch (e) {
      throw new DlensError(`${f}: ${(e as Error).message}; remove it or re-record it`);
    }
    const { x, y } = traceExamples(t);
    X.push(...x);
    Y.push(...y);
  }
  const filter = trainFilter(X, Y, files.length);
  writeFileAtomic(values.out as string, new TextEncoder().encode(JSON.stringify(filter, null, 1)));
  const summary = {
    out: values.out,
    traces: files.length,
    examples: filter.examples,
    positives: filter.positives,
    train_accuracy: filter.train_accuracy,
  };
  if (values.json) console.log(JSON.stringify(summary));
  else
    console.log(
      `filter trained on ${filter.examples} positions from ${files.length} traces (${((100 * filter.positives) / filter.examples).toFixed(1)}% already final), training accuracy ${(100 * filter.train_accuracy).toFixed(1)}%; written to ${values.out}. Use it: dlens record --strategy learn2pd --set filter=${values.out}`,
    );
}
