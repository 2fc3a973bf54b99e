import { DlensError } from '../../errors.js';
import { traceMetrics, lensSummary, revisionsLine, REGIONS, REGION_LABEL, type Region } from '../../metrics/index.js';
import { parse, usageOf, readTraceFile, type Command } from '../args.js';

export const infoCommand: Command = {
  name: 'info',
  usage: 'dlens info FILE [--region answer|padding|all] [--json]',
  summary:
    "a trace's summary: model, strategy, cache, prompt, output, task score; delayed decoding, volatility band, tokens per step and per forward over the answer's tokens (`--region padding` or `all` for the others; docs/metrics.md); the decoding order (Kendall τ, Spearman ρ), the logit lens at commit (the first layer whose top-1 was the committed answer token, mean and median) and each failure detector's count and first finding (docs/diagnostics.md)",
  run,
};

async function run(argv: string[]) {
  const { values, positionals } = parse(
    infoCommand,
    argv,
    { json: { type: 'boolean' }, region: { type: 'string' } },
    'some',
  );
  const region = ((values.region as string | undefined) ?? 'answer') as Region;
  if (!(REGIONS as readonly string[]).includes(region))
    throw new DlensError(`--region must be one of ${REGIONS.join(', ')} (docs/metrics.md), got "${region}"`);
  if (positionals.length !== 1) throw new DlensError(`dlens info takes one trace file\n${usageOf(infoCommand)}`);
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
  if (m.noise_mismatch) console.log(`noise     MISMATCH: ${String(m.noise_mismatch)}`);
  else if (m.noise === 'uniform') console.log('noise     uniform (undecided positions hold random tokens)');
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
  console.log(revisionsLine(sum.revisions));
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
