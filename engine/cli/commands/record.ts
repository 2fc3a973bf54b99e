import { readFileSync } from 'node:fs';
import { DlensError } from '../../errors.js';
import { checkDevice, DEVICES } from '../../model/devices.js';
import { record } from '../../record.js';
import { readTrace } from '../../trace/trace.js';
import { taskAt, parseTaskRef } from '../../tasks/generate.js';
import { fileCorpus } from '../../tasks/corpus.js';
import type { CacheMode } from '../../cache/types.js';
import { CACHE_MODES } from '../../cache/index.js';
import { DEFAULTS } from '../../api/defaults.js';
import { intOpt, pathOpt, fileArg, parse, type Command } from '../args.js';
import { progressReporter } from '../progress.js';

export const recordCommand: Command = {
  name: 'record',
  usage: `dlens record [--model NAME|DIR] (--prompt TEXT | --prompt-file F | --task SUITE:INDEX) [--strategy NAME]
               [--set key=value]... [--set cache.key=value]... [--cache ${CACHE_MODES.join('|')}] [--gen-length N] [--block-length N]
               [--steps N] [--seed N] [--temperature T] [--top-k K] [--task-seed S] [--eot] [--no-lens] [--device ${DEVICES.join('|')}] [--out FILE] [--json] [--quiet]
               (--no-lens: leave out the logit lens of a model that has it, and its cost; progress goes to stderr,
               a line every 10 s when it is not a terminal; --quiet: none)
  dlens record --from TRACE --at STEP [--strategy NAME] [--set ...] [--cache ...] [--out FILE]
               (continue a trace from the state it had at STEP: counterfactual branching)`,
  summary:
    'decodes one prompt or suite task and writes a trace (`--out`); `--from T --at S` continues trace T from the state it had before step S with another strategy or cache (a counterfactual branch). A model with the logit lens (dlens-tiny, or converted with `--lens`) records it at every step; `--no-lens` leaves it out and its cost (docs/diagnostics.md)',
  run,
};

async function run(argv: string[]) {
  const { values } = parse(recordCommand, argv, {
    model: { type: 'string' },
    prompt: { type: 'string' },
    'prompt-file': { type: 'string' },
    task: { type: 'string' },
    'task-seed': { type: 'string' },
    strategy: { type: 'string' },
    set: { type: 'string', multiple: true },
    cache: { type: 'string' },
    'gen-length': { type: 'string' },
    'block-length': { type: 'string' },
    steps: { type: 'string' },
    seed: { type: 'string' },
    temperature: { type: 'string' },
    'top-k': { type: 'string' },
    out: { type: 'string' },
    json: { type: 'boolean' },
    quiet: { type: 'boolean' },
    eot: { type: 'boolean' },
    'no-lens': { type: 'boolean' },
    device: { type: 'string' },
    from: { type: 'string' },
    at: { type: 'string' },
  });
  const branch =
    values.from !== undefined ? loadBranch(values.from as string, values.at as string | undefined) : undefined;
  if (values.at !== undefined && !branch) throw new DlensError('--at needs --from TRACE (the trace to branch from)');
  if (branch) {
    const clash = ['prompt', 'prompt-file', 'task', 'gen-length', 'block-length'].filter(
      (k) => values[k] !== undefined,
    );
    if (clash.length)
      throw new DlensError(
        `--from continues the trace's own prompt and lengths; drop ${clash.map((k) => '--' + k).join(', ')}`,
      );
  }
  const sources = branch ? ['from'] : ['prompt', 'prompt-file', 'task'].filter((k) => values[k] !== undefined);
  if (sources.length !== 1)
    throw new DlensError(
      `give exactly one of --prompt, --prompt-file or --task (got ${sources.length ? sources.map((s) => '--' + s).join(', ') : 'none'})`,
    );
  let prompt = values.prompt as string | undefined;
  if (values['prompt-file']) {
    const f = values['prompt-file'] as string;
    fileArg(f, '--prompt-file');
    prompt = readFileSync(f, 'utf8').trimEnd();
  }
  const task = values.task
    ? (() => {
        const { suite, index } = parseTaskRef(values.task as string);
        return taskAt(suite, index, intOpt(values['task-seed'] as string, '--task-seed') ?? DEFAULTS.taskSeed, {
          split: 'eval',
          corpus: fileCorpus(),
        });
      })()
    : undefined;
  const cache = (values.cache as string | undefined) ?? DEFAULTS.cache;
  if (!(CACHE_MODES as readonly string[]).includes(cache))
    throw new DlensError(`--cache must be one of ${CACHE_MODES.join(', ')}; got "${cache}"`);
  // --set key=value goes to the strategy; --set cache.key=value to the cache policy (keep_ratio, kernel_size, delay).
  // Entries, then Object.fromEntries: a key such as __proto__ becomes an own (and so refused) name, never a prototype.
  const params: [string, string][] = [];
  const cacheParams: [string, number][] = [];
  for (const kv of (values.set as string[] | undefined) ?? []) {
    const i = kv.indexOf('=');
    if (i <= 0) throw new DlensError(`--set expects key=value, got "${kv}"`);
    const key = kv.slice(0, i),
      val = kv.slice(i + 1);
    if (key.startsWith('cache.')) {
      const n = Number(val);
      if (!Number.isFinite(n)) throw new DlensError(`--set ${key} expects a number, got "${val}"`);
      cacheParams.push([key.slice(6), n]);
    } else params.push([key, val]);
  }
  const temperature = values.temperature === undefined ? undefined : Number(values.temperature);
  if (temperature !== undefined && ((values.temperature as string).trim() === '' || !(temperature >= 0)))
    throw new DlensError(`--temperature must be a number >= 0, got "${values.temperature}"`);
  const progress = progressReporter({ quiet: values.quiet === true });
  const s = await record(
    {
      ...(branch
        ? {
            prompt: branch.prompt,
            genLength: branch.genLength,
            blockLength: branch.blockLength,
            initialState: branch.state,
            branch: branch.info,
          }
        : {}),
      eot: values.eot === true,
      lens: values['no-lens'] !== true,
      model: (values.model as string | undefined) ?? branch?.model,
      ...(branch ? {} : { prompt }),
      task,
      strategy: values.strategy as string | undefined,
      params: Object.fromEntries(params),
      cache: cache as CacheMode,
      cacheParams: Object.fromEntries(cacheParams),
      ...(branch
        ? {}
        : {
            genLength: intOpt(values['gen-length'] as string, '--gen-length'),
            blockLength: intOpt(values['block-length'] as string, '--block-length'),
          }),
      steps: intOpt(values.steps as string, '--steps'),
      seed: intOpt(values.seed as string, '--seed'),
      temperature,
      topK: intOpt(values['top-k'] as string, '--top-k'),
      out: pathOpt(values.out as string | undefined, '--out'),
      device: values.device === undefined ? undefined : checkDevice(values.device as string),
    },
    { onStep: progress.onStep },
  );
  progress.done();
  if (values.json) {
    console.log(JSON.stringify(s));
    return;
  }
  console.log(s.output);
  console.error(
    `${s.steps} steps, ${s.nfe} forward passes, ${s.wall_ms.toFixed(0)} ms, ${s.tokens_per_s} tokens/s${s.trace ? `; trace written to ${s.trace}` : ''}${s.task ? `; task score ${s.task.score}` : ''}`,
  );
}

/** The state a trace had before step `at`, to decode on from there with another strategy (counterfactual branch). */
function loadBranch(path: string, atArg: string | undefined) {
  fileArg(path, '--from');
  let t;
  try {
    t = readTrace(new Uint8Array(readFileSync(path)));
  } catch (e) {
    throw new DlensError(`--from ${path}: ${(e as Error).message}`);
  }
  if (atArg === undefined)
    throw new DlensError(`--from needs --at STEP (0..${t.dims.S}): the step whose state to continue from`);
  const at = intOpt(atArg, '--at')!;
  if (at < 0 || at > t.dims.S) throw new DlensError(`--at ${at} is outside the trace's steps 0..${t.dims.S}`);
  const { T } = t.dims;
  return {
    prompt: t.manifest.prompt,
    model: t.manifest.model.name,
    genLength: t.dims.G,
    blockLength: t.manifest.block_length ?? t.dims.G,
    state: Int32Array.from(t.state.subarray(at * T, (at + 1) * T)),
    info: { from: path, at, strategy: t.manifest.strategy.name },
  };
}
