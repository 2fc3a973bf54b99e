import { parseArgs, type ParseArgsConfig } from 'node:util';
import { readFileSync, existsSync, statSync } from 'node:fs';
import { DlensError } from '../errors.js';
import { listModelDirs, readCard } from '../model/load.js';
import { ensureBundledModels } from '../model/bundled.js';
import { checkDevice, DEVICES } from '../model/devices.js';
import { record } from '../record.js';
import { readTrace, openTrace, TraceError, LAZY_ABOVE } from '../trace/trace.js';
import { fileSource } from '../trace/file-source.js';
import { traceMetrics, divergence, lensSummary, REGIONS, REGION_LABEL, type Region } from '../metrics/index.js';
import { taskAt, parseTaskRef, generateTasks } from '../tasks/generate.js';
import { fileCorpus } from '../tasks/corpus.js';
import { SUITES, getSuite } from '../tasks/suites.js';
import type { CacheMode } from '../cache/types.js';
import { CACHE_MODES } from '../cache/index.js';
import { runBench, benchMarkdown, benchCsv, benchLatex, aupTable } from '../evaluate/run.js';
import { writeFileAtomic } from '../util/atomic-write.js';
import { DEFAULTS } from '../api/defaults.js';
import { QUANT_BLOCKS, type QuantBlock } from '../convert/weights.js';
import { importRecord } from '../importers/index.js';
import { kindOf } from '../util/safe-read.js';

/** Each command's usage, printed by `dlens COMMAND --help` and after a mistake in that command. */
const USAGES: Record<string, string> = {
  models: 'dlens models [--json]',
  record: `dlens record [--model NAME|DIR] (--prompt TEXT | --prompt-file F | --task SUITE:INDEX) [--strategy NAME]
               [--set key=value]... [--set cache.key=value]... [--cache ${CACHE_MODES.join('|')}] [--gen-length N] [--block-length N]
               [--steps N] [--seed N] [--temperature T] [--top-k K] [--task-seed S] [--eot] [--no-lens] [--device ${DEVICES.join('|')}] [--out FILE] [--json]
               (--no-lens: leave out the logit lens of a model that has it, and its cost)
  dlens record --from TRACE --at STEP [--strategy NAME] [--set ...] [--cache ...] [--out FILE]
               (continue a trace from the state it had at STEP: counterfactual branching)`,
  learn: "dlens learn --traces DIR --out FILE      (train Learn2PD's filter on recorded traces)",
  info: 'dlens info FILE [--region answer|padding|all] [--json]',
  diff: 'dlens diff A.dlens B.dlens [--json]   (where two decodes of the same prompt part: step, positions, candidates)',
  bench: `dlens bench [--model NAME|DIR] --suite NAME[,NAME] [--strategies a,b] [--caches a,b] [--limit N]
              [--gen-length N] [--block-length N] [--steps N] [--device D] [--format md|csv|latex|json] [--json] [--out FILE]
              [--traces DIR] [--no-diagnose]
               (gen length defaults to each suite's own: 64 for sort, define, fortune, 32 for the rest; every decode is
                recorded for the failure detectors and decoding order unless --no-diagnose; --traces DIR keeps them)`,
  convert: `dlens convert HF_DIR --out MODEL_DIR [--dtype fp32|fp16|int8|int4] [--kv-dtype fp32|fp16] [--top-k N]
              [--block-size N] [--quant-block 16|32|64|128] [--confidence full|without-mask] [--lens] [--name NAME]
              [--json]
               (a Hugging Face checkpoint folder to a dlens model; architectures: llada, dream, a2d-qwen3, a2d-qwen2,
                llada-moe; --block-size: block-causal attention, for BD3LM checkpoints; --quant-block: int8/int4 block;
                --confidence: softmax over the whole vocabulary as the papers' code (default), or without the mask token;
                --lens: the logit lens, each layer's top-1 recorded at every step, at one output head per layer)`,
  tasks: 'dlens tasks generate --suite NAME --n N --seed S [--split eval|train]',
  import: `dlens import FILE --from llada-sample-process|parallelbench|lmdeploy-step-map --out TRACE.dlens
               [--tokenizer PATH] [--index N] [--prompt TEXT]   (another tool's record as a trace; dllm histories and
                d2Cache records: the Python package, python/dlens)`,
  serve: `dlens serve [--host 127.0.0.1] [--port N] [--traces-dir DIR] [FILE.dlens...]
               (the app in a browser, on loopback, behind a per-run token; prints the URL)`,
};
const USAGE = `usage:\n${Object.values(USAGES)
  .map((u) => `  ${u}`)
  .join('\n')}`;
const usageOf = (cmd: string) => `usage:\n  ${USAGES[cmd]}`;

/** An integer option: a whole number that a double holds exactly (nothing beyond 2^53 is silently rounded). */
function intOpt(v: string | undefined, flag: string, min = -Number.MAX_SAFE_INTEGER): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (v.trim() === '' || !Number.isInteger(n)) throw new DlensError(`${flag} expects an integer, got "${v}"`);
  if (!Number.isSafeInteger(n)) throw new DlensError(`${flag} ${v} is too large: dlens takes integers up to 2^53 - 1`);
  if (n < min) throw new DlensError(`${flag} must be at least ${min}, got ${n}`);
  return n;
}

/** A path option that must not be empty (an empty --out would write a file named "" or nothing at all). */
function pathOpt(v: string | undefined, flag: string): string | undefined {
  if (v !== undefined && v.trim() === '') throw new DlensError(`${flag} needs a file name, got an empty string`);
  return v;
}

/** A file the person named that must be a readable regular file (not a folder). */
function fileArg(f: string, flag: string) {
  if (!existsSync(f)) throw new DlensError(`${flag}${flag ? ' ' : ''}${f} does not exist`);
  if (!statSync(f).isFile())
    throw new DlensError(`${flag}${flag ? ' ' : ''}${f} is ${kindOf(statSync(f))}; give a file`);
}

/**
 * node:util parseArgs with two fixes for a command line: an option's value may be a negative number (`--seed -1`,
 * which parseArgs calls ambiguous), and stray positional arguments are an error unless the command takes some.
 */
function parse(
  cmd: string,
  argv: string[],
  options: NonNullable<ParseArgsConfig['options']>,
  positionals: 'none' | 'some' = 'none',
) {
  const args: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!,
      next = argv[i + 1];
    const name = a.startsWith('--') && !a.includes('=') ? a.slice(2) : undefined;
    if (name && options[name]?.type === 'string' && next !== undefined && /^-(\d|\.\d|Infinity)/.test(next)) {
      args.push(`${a}=${next}`);
      i++;
    } else args.push(a);
  }
  let r;
  try {
    r = parseArgs({ args, options, allowPositionals: true, strict: true });
  } catch (e) {
    throw new DlensError(`${(e as Error).message.replace(/\. To specify.*$/s, '')}\n${usageOf(cmd)}`);
  }
  if (positionals === 'none' && r.positionals.length)
    throw new DlensError(
      `dlens ${cmd} takes no argument "${r.positionals[0]}" (options start with --)\n${usageOf(cmd)}`,
    );
  return r;
}

async function cmdModels(argv: string[]) {
  const { values } = parse('models', argv, { json: { type: 'boolean' } });
  const models = listModelDirs().map((dir) => {
    const c = readCard(dir);
    return {
      name: c.name,
      dir,
      vocab_size: c.vocab_size,
      layers: c.num_layers,
      max_positions: c.max_positions,
      default: c.name === 'dlens-tiny',
    };
  });
  if (values.json) {
    console.log(JSON.stringify({ models }));
    return;
  }
  for (const m of models)
    console.log(
      `${m.default ? '*' : ' '} ${m.name.padEnd(16)} ${m.layers} layers, vocab ${m.vocab_size}, ${m.max_positions} positions  ${m.dir}`,
    );
}

async function cmdRecord(argv: string[]) {
  const { values } = parse('record', argv, {
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
  const tty = process.stderr.isTTY && !values.json;
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
    {
      onStep: tty
        ? (p) =>
            process.stderr.write(
              `\rstep ${p.step}/${p.totalSteps}  ${p.committed}/${p.genLength} tokens  ${(p.committed / (p.elapsedMs / 1000)).toFixed(1)} tok/s `,
            )
        : undefined,
    },
  );
  if (tty) process.stderr.write('\n');
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

async function cmdLearn(argv: string[]) {
  const { values } = parse('learn', argv, {
    traces: { type: 'string' },
    out: { type: 'string' },
    json: { type: 'boolean' },
  });
  pathOpt(values.out as string | undefined, '--out');
  if (!values.traces || !values.out)
    throw new DlensError(`dlens learn needs --traces DIR and --out FILE\n${usageOf('learn')}`);
  const { readdirSync, statSync } = await import('node:fs');
  const { join } = await import('node:path');
  const { traceExamples, trainFilter } = await import('../learn/filter.js');
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

/** A trace file the person named, read whole; a malformed one is refused with what is wrong. */
function readTraceFile(f: string) {
  fileArg(f, '');
  try {
    return readTrace(new Uint8Array(readFileSync(f)));
  } catch (e) {
    if (e instanceof TraceError)
      throw new DlensError(`${f}: ${e.message}. The file is left untouched; re-record it or open another trace.`);
    throw e;
  }
}

async function cmdInfo(argv: string[]) {
  const { values, positionals } = parse(
    'info',
    argv,
    { json: { type: 'boolean' }, region: { type: 'string' } },
    'some',
  );
  const region = ((values.region as string | undefined) ?? 'answer') as Region;
  if (!(REGIONS as readonly string[]).includes(region))
    throw new DlensError(`--region must be one of ${REGIONS.join(', ')} (docs/metrics.md), got "${region}"`);
  if (positionals.length !== 1) throw new DlensError(`dlens info takes one trace file\n${usageOf('info')}`);
  const f = positionals[0]!;
  const trace = readTraceFile(f);
  const { vocab, ...manifest } = trace.manifest;
  const sum = { ...traceMetrics(trace), lens: lensSummary(trace) ?? null };
  if (values.json) {
    console.log(
      JSON.stringify({
        file: f,
        manifest: { ...manifest, vocab_size: Object.keys(vocab).length },
        output: trace.manifest.output,
        summary: sum,
      }),
    );
    return;
  }
  const m = trace.manifest;
  console.log(`${f}  (${m.app}, ${m.created}${m.complete ? '' : `, INCOMPLETE: ${m.incomplete_reason}`})`);
  const src = m.source ?? { kind: 'engine' };
  console.log(
    `source    ${src.kind}${src.tool ? ` (${[src.tool, src.tool_version, src.format].filter(Boolean).join(', ')})` : ''}`,
  );
  const lacks = ['topk_ids', 'confidence', 'entropy', 'saliency', 'cached', 'step_ms'].filter(
    (n) => !trace.holds.has(n),
  );
  if (lacks.length) console.log(`holds no  ${lacks.join(', ')} (views that need them say so)`);
  console.log(
    `model     ${m.model.name}\nstrategy  ${m.strategy.name} ${JSON.stringify(m.strategy.params)}\ncache     ${m.cache.mode}\nseed      ${m.seed}`,
  );
  console.log(
    `prompt    ${JSON.stringify(m.prompt)} (${m.prompt_length} tokens)\noutput    ${JSON.stringify(m.output)}`,
  );
  if (m.task)
    console.log(
      `task      ${m.task.suite}/${m.task.id} reference ${JSON.stringify(m.task.reference)} score ${m.task.score}`,
    );
  if (m.branch)
    console.log(`branch    from ${m.branch.from} at step ${m.branch.at} (its strategy: ${m.branch.strategy})`);
  const r = sum.regions[region];
  const d = r.delay;
  const counts = `${sum.regions.answer.positions} answer tokens, ${sum.regions.padding.positions} EOS padding, ${sum.gen_length} positions`;
  console.log(
    `region    ${REGION_LABEL[region]} (${counts}; --region ${REGIONS.filter((x) => x !== region).join('|')} for the others)`,
  );
  console.log(
    `delayed decoding: mean delay ${d.meanDelay.toFixed(2)} steps; delayed > 0/1/4 steps: ${['0', '1', '4'].map((k) => (d.delayedMoreThan[k]! * 100).toFixed(0) + '%').join(' / ')}; oracle steps ${d.oracleSteps} of ${d.actualSteps}`,
  );
  console.log(
    `volatility band: present at ${r.volatility.steps_with_band} steps, mean width ${r.volatility.mean_band_width.toFixed(1)} positions`,
  );
  console.log(
    `steps ${sum.steps}  NFE ${sum.nfe}  gen length ${sum.gen_length}  tokens/step ${r.tokens_per_step.toFixed(2)}  tokens/forward ${r.tpf.toFixed(2)}  wall ${sum.wall_ms.toFixed(0)} ms  (${sum.tokens_per_s.toFixed(1)} tokens/s)`,
  );
  const o = sum.order,
    num = (x: number) => (Number.isNaN(x) ? 'n/a' : x.toFixed(2)),
    pct = (x: number) => (Number.isNaN(x) ? 'n/a' : `${(x * 100).toFixed(0)}%`);
  console.log(
    `decoding order (1 = left to right): Kendall τ ${num(o.overall.answer.kendall)}, Spearman ρ ${num(o.overall.answer.spearman)} over answer tokens; all positions τ ${num(o.overall.all.kendall)} ρ ${num(o.overall.all.spearman)}; mean per block τ ${num(o.meanBlock.kendall)} ρ ${num(o.meanBlock.spearman)} (${o.blocks.length} blocks)`,
  );
  const lens = sum.lens;
  console.log(
    lens
      ? `logit lens (${lens.layers} layers): at their commit step, answer tokens first came out on top at layer ${num(lens.meanFirstLayer)} on average (median ${lens.medianFirstLayer}); from layer 1: ${pct(lens.fromFirstLayer)}; in no layer: ${pct(lens.never)} (${lens.commits} commits)`
      : 'logit lens: not recorded (a model converted with dlens convert --lens records it; the bundled dlens-tiny has it)',
  );
  console.log('failure detectors (docs/diagnostics.md):');
  for (const d of sum.detectors) {
    const head = `  ${d.label.padEnd(17)}`;
    if (d.notApplicable) console.log(`${head}not applicable: ${d.notApplicable}`);
    else if (!d.findings.length) console.log(`${head}none`);
    else {
      const f0 = d.findings[0]!;
      console.log(
        `${head}${d.findings.length} finding${d.findings.length > 1 ? 's' : ''}; first at step ${f0.step}: ${f0.detail}`,
      );
    }
  }
}

async function cmdDiff(argv: string[]) {
  const { values, positionals } = parse('diff', argv, { json: { type: 'boolean' } }, 'some');
  if (positionals.length !== 2) throw new DlensError(`dlens diff takes two trace files\n${usageOf('diff')}`);
  const [fa, fb] = positionals as [string, string];
  const a = readTraceFile(fa),
    b = readTraceFile(fb);
  const d = divergence(a, b);
  if (d.incomparable) throw new DlensError(`${fa} and ${fb} cannot be compared: ${d.incomparable}`);
  if (values.json) {
    console.log(JSON.stringify({ a: fa, b: fb, ...d }));
    return;
  }
  const who = (f: string, t: typeof a) =>
    `${f} (${t.manifest.strategy.name}, cache ${t.manifest.cache.mode}, seed ${t.manifest.seed}, ${t.dims.S} steps)`;
  console.log(`A  ${who(fa, a)}\nB  ${who(fb, b)}`);
  console.log(`aligned step by step over ${d.steps} steps and ${d.positions} generated positions`);
  const cands = (c: { text: string; p: number }[]) =>
    c.length ? c.map((x) => `${JSON.stringify(x.text)} ${x.p.toFixed(3)}`).join(', ') : '(not predicted)';
  const show = (what: string, pt: NonNullable<typeof d.states>) => {
    console.log(
      `${what} part at step ${pt.step}, at ${pt.count} position(s)${pt.count > 4 ? ' (the first 4; --json lists 16)' : ''}:`,
    );
    for (const x of pt.positions.slice(0, 4)) {
      const st = (s: typeof x.a) => (s.masked ? 'masked' : JSON.stringify(s.text));
      console.log(`  position ${x.position}: A ${st(x.a)}, B ${st(x.b)}`);
      console.log(`    A candidates ${cands(x.a.candidates)}\n    B candidates ${cands(x.b.candidates)}`);
    }
  };
  if (d.states) show('states', d.states);
  else console.log('states are equal at every shared step');
  if (d.decisions) show('decisions (a committed token the other decode does not end with)', d.decisions);
  else if (d.states) console.log('decisions agree: every committed token is the one the other decode ends with');
  if (d.predictions) show('top-1 predictions', d.predictions);
  else
    console.log(
      a.holds.has('topk_ids') && b.holds.has('topk_ids')
        ? 'top-1 predictions agree wherever both computed them'
        : 'predictions: one trace records none',
    );
  console.log(
    d.finalDiffers.length
      ? `final tokens differ at ${d.finalDiffers.length} position(s): ${d.finalDiffers.slice(0, 20).join(', ')}${d.finalDiffers.length > 20 ? ', ...' : ''}`
      : 'final tokens are equal',
  );
  console.log(`A output ${JSON.stringify(a.manifest.output)}\nB output ${JSON.stringify(b.manifest.output)}`);
}

async function cmdImport(argv: string[]) {
  const { values, positionals } = parse(
    'import',
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
  if (positionals.length !== 1) throw new DlensError(`dlens import takes one file\n${usageOf('import')}`);
  if (!values.from) throw new DlensError(`dlens import needs --from FORMAT\n${usageOf('import')}`);
  const out = pathOpt(values.out as string | undefined, '--out');
  if (!out) throw new DlensError(`dlens import needs --out TRACE.dlens\n${usageOf('import')}`);
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

async function cmdTasks(argv: string[]) {
  const [sub, ...rest] = argv;
  if (sub !== 'generate') throw new DlensError(`unknown tasks subcommand "${sub ?? ''}"\n${usageOf('tasks')}`);
  const { values } = parse('tasks', rest, {
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

async function cmdBench(argv: string[]) {
  const { values } = parse('bench', argv, {
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

async function cmdServe(argv: string[]) {
  const { values, positionals } = parse(
    'serve',
    argv,
    {
      host: { type: 'string' },
      port: { type: 'string' },
      'traces-dir': { type: 'string' },
      json: { type: 'boolean' },
    },
    'some',
  );
  const { serve } = await import('../server/serve.js');
  const { createEngineService, defaultServiceOptions } = await import('../api/service.js');
  const { REPO_ROOT } = await import('../model/load.js');
  const { join, resolve } = await import('node:path');
  const opts = defaultServiceOptions();
  if (values['traces-dir']) opts.tracesDir = resolve(values['traces-dir'] as string);
  const service = createEngineService(opts);
  const { resolve: res } = await import('node:path');
  // The files on the command line are the person's choice: the page may open them (and is told to).
  for (const f of positionals) {
    fileArg(f, '');
    service.allow(f);
    try {
      // A large trace is checked as the page will open it: header and per-position tensors, not all its layers.
      if (statSync(f).size > LAZY_ABOVE) {
        const src = fileSource(f);
        try {
          await openTrace(src);
        } finally {
          src.close();
        }
      } else await service.readTrace(f);
    } catch (e) {
      throw new DlensError(`${f}: ${(e as Error).message}`);
    }
  }
  const port = intOpt(values.port as string | undefined, '--port') ?? 8765;
  if (port < 0 || port > 65535)
    throw new DlensError(`--port must be a port number in 0..65535 (0: any free port), got ${port}`);
  const served = await serve({
    host: values.host as string | undefined,
    port,
    rendererDir: join(REPO_ROOT, '.vite', 'renderer', 'main_window'),
    service,
  });
  const s = { ...served, url: served.url + positionals.map((f) => `&open=${encodeURIComponent(res(f))}`).join('') };
  if (values.json)
    console.log(JSON.stringify({ url: s.url, port: s.port, token: s.token, traces_dir: opts.tracesDir }));
  else
    console.log(
      `dlens is serving on loopback. Open this URL in a browser (it carries this run's token):\n  ${s.url}\nRecordings go to ${opts.tracesDir}. Ctrl+C stops.`,
    );
  await new Promise<void>((ok) => {
    const stop = () => {
      void s
        .close()
        .then(() => service.close())
        .then(ok);
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
}

async function cmdConvert(argv: string[]) {
  const { values, positionals } = parse(
    'convert',
    argv,
    {
      out: { type: 'string' },
      dtype: { type: 'string' },
      'kv-dtype': { type: 'string' },
      'top-k': { type: 'string' },
      'block-size': { type: 'string' },
      'quant-block': { type: 'string' },
      confidence: { type: 'string' },
      lens: { type: 'boolean' },
      name: { type: 'string' },
      json: { type: 'boolean' },
    },
    'some',
  );
  pathOpt(values.out as string | undefined, '--out');
  if (positionals.length !== 1 || !values.out)
    throw new DlensError(`dlens convert takes one checkpoint folder and --out MODEL_DIR\n${usageOf('convert')}`);
  const dtype = (values.dtype as string | undefined) ?? 'fp32';
  if (!['fp32', 'fp16', 'int8', 'int4'].includes(dtype))
    throw new DlensError(`--dtype must be fp32, fp16, int8 or int4, got "${dtype}"`);
  const kvDtype = (values['kv-dtype'] as string | undefined) ?? 'fp32';
  if (kvDtype !== 'fp32' && kvDtype !== 'fp16')
    throw new DlensError(`--kv-dtype must be fp32 or fp16, got "${kvDtype}"`);
  const confidence = (values.confidence as string | undefined) ?? 'full';
  if (confidence !== 'full' && confidence !== 'without-mask')
    throw new DlensError(`--confidence must be full or without-mask, got "${confidence}"`);
  const quantBlock = intOpt(values['quant-block'] as string | undefined, '--quant-block', 1);
  if (quantBlock !== undefined && !(QUANT_BLOCKS as readonly number[]).includes(quantBlock))
    throw new DlensError(`--quant-block must be ${QUANT_BLOCKS.join(', ')} (MatMulNBits blocks), got ${quantBlock}`);
  if (quantBlock !== undefined && dtype !== 'int8' && dtype !== 'int4')
    throw new DlensError(`--quant-block applies to --dtype int8 or int4, not ${dtype}`);
  const { convertCheckpoint } = await import('../convert/convert.js');
  const tty = process.stderr.isTTY && !values.json;
  const t0 = performance.now();
  const r = await convertCheckpoint(positionals[0]!, values.out as string, {
    dtype: dtype as 'fp32' | 'fp16' | 'int8' | 'int4',
    kvDtype,
    topK: intOpt(values['top-k'] as string | undefined, '--top-k', 1),
    blockSize: intOpt(values['block-size'] as string | undefined, '--block-size', 1),
    quantBlock: quantBlock as QuantBlock | undefined,
    confidence,
    lens: values.lens === true,
    name: values.name as string | undefined,
    onProgress: tty ? (d, t, what) => process.stderr.write(`\r[${d}/${t}] ${what.slice(0, 60).padEnd(60)}`) : undefined,
  });
  if (tty) process.stderr.write('\n');
  const summary = {
    dir: r.dir,
    architecture: r.architecture,
    weight_bytes: r.weightBytes,
    peak_rss_bytes: r.peakRss,
    seconds: (performance.now() - t0) / 1000,
  };
  if (values.json) console.log(JSON.stringify(summary));
  else
    console.log(
      `converted ${r.architecture} checkpoint to ${r.dir} (${(r.weightBytes / 1e6).toFixed(1)} MB of ${dtype} weights, peak memory ${(r.peakRss / 1e6).toFixed(0)} MB, ${summary.seconds.toFixed(1)} s). Use it: dlens record --model ${r.dir} --prompt "..."`,
    );
}

const COMMANDS: Record<string, (argv: string[]) => Promise<void>> = {
  models: cmdModels,
  record: cmdRecord,
  info: cmdInfo,
  diff: cmdDiff,
  tasks: cmdTasks,
  import: cmdImport,
  bench: cmdBench,
  serve: cmdServe,
  learn: cmdLearn,
  convert: cmdConvert,
};

export async function main(argv: string[]) {
  const [cmd, ...rest] = argv;
  if (!cmd || cmd === '--help' || cmd === '-h' || cmd === 'help') {
    console.log(rest[0] && Object.hasOwn(USAGES, rest[0]) ? usageOf(rest[0]) : USAGE);
    return 0;
  }
  const f = Object.hasOwn(COMMANDS, cmd) ? COMMANDS[cmd] : undefined;
  if (!f) throw new DlensError(`unknown command "${cmd}"\n${USAGE}`);
  if (rest.includes('--help') || rest.includes('-h')) {
    console.log(usageOf(cmd));
    return 0;
  }
  await ensureBundledModels();
  await f(rest);
  return 0;
}

// `dlens info T | head` closes the pipe early: that is the reader's choice, not an error.
process.stdout.on('error', (e: NodeJS.ErrnoException) => {
  if (e.code === 'EPIPE') process.exit(0);
  throw e;
});

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (e: unknown) => {
    if (e instanceof DlensError) console.error(`dlens: ${e.message}`);
    else
      console.error(
        `dlens: internal error: ${(e as Error)?.message ?? e}\nPlease report this with the command you ran.`,
      );
    process.exitCode = e instanceof DlensError ? 2 : 1;
  },
);
