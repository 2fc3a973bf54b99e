import { existsSync } from 'node:fs';
import { DlensError } from '../../errors.js';
import { readTrace } from '../../trace/trace.js';
import { writeFileAtomic } from '../../util/atomic-write.js';
import { importRecord } from '../../importers/index.js';
import { intOpt, pathOpt, fileArg, parse, usageOf, type Command } from '../args.js';

export const importCommand: Command = {
  name: 'import',
  usage: `dlens import FILE --from llada-sample-process|parallelbench|lmdeploy-step-map --out TRACE.dlens
               [--tokenizer PATH] [--index N] [--prompt TEXT]   (another tool's record as a trace; dllm histories and
                d2Cache records: the Python package, python/dlens)`,
  summary:
    "another tool's record as a trace (format v2, `source` \"import\"; the formats and what each gives: docs/trace-format.md, \"Imports\"): LLaDA's `sample_process.txt`, ParallelBench's `results/*.json.gz` (`--tokenizer`: the model's tokenizer.json, to recover token positions from text; `--index`: which output), lmdeploy's `step_map` responses (JSON, a list, or JSON lines). A malformed record gets one line naming the line or field; dllm histories and d2Cache records are torch objects, imported by the Python package (docs/python.md)",
  run,
};

async function run(argv: string[]) {
  const { values, positionals } = parse(
    importCommand,
    argv,
    {
      from: { type: 'string' },
      out: { type: 'string' },
      tokenizer: { type: 'string' },
      index: { type: 'string' },
      prompt: { type: 'string' },
      json: { type: 'boolean' },
    },
    'some',
  );
  if (positionals.length !== 1) throw new DlensError(`dlens import takes one file\n${usageOf(importCommand)}`);
  if (!values.from) throw new DlensError(`dlens import needs --from FORMAT\n${usageOf(importCommand)}`);
  const out = pathOpt(values.out as string | undefined, '--out');
  if (!out) throw new DlensError(`dlens import needs --out TRACE.dlens\n${usageOf(importCommand)}`);
  const f = positionals[0]!;
  fileArg(f, '');
  if (values.tokenizer) {
    const t = values.tokenizer as string;
    if (!existsSync(t)) throw new DlensError(`--tokenizer ${t} does not exist`);
  }
  const bytes = importRecord(f, {
    from: values.from as string,
    tokenizer: values.tokenizer as string | undefined,
    index: intOpt(values.index as string | undefined, '--index', 0),
    prompt: values.prompt as string | undefined,
  });
  const trace = readTrace(bytes); // what was built opens: the same checks as any trace
  writeFileAtomic(out, bytes);
  const s = { out, steps: trace.dims.S, gen_length: trace.dims.G, output: trace.manifest.output };
  if (values.json) console.log(JSON.stringify(s));
  else console.log(`${trace.dims.S} steps, ${trace.dims.G} positions; trace written to ${out}`);
}
