import { DlensError } from '../../errors.js';
import { appendOverlay, completeRows, mergeSets, openSet } from '../../traceset/set.js';
import { labelRows } from '../../traceset/label.js';
import { setDiff, setInfo } from '../../traceset/report.js';
import { writeFileAtomic } from '../../util/atomic-write.js';
import { fileArg, parse, pathOpt, usageOf, type Command } from '../args.js';

export const setCommand: Command = {
  name: 'set',
  usage: `dlens set info SET [--json]
  dlens set diff A B [--json]
  dlens set merge SET... --out SET
  dlens set label SET samples_TASK_DATE.jsonl [--task NAME] [--filter NAME]
  dlens set export SET ID --out TRACE.dlens
               (trace sets: many decodes recorded where an evaluation runs; docs/trace-set.md)`,
  summary:
    "trace sets (docs/trace-set.md): `info` per strategy and cache the decodes, accuracy, steps and TPF distributions and detector shares; `diff` pairs two sets on their samples (which flipped right→wrong and wrong→right, steps saved, where flipped pairs part); `merge` joins sets; `label` joins lm-eval's `--log_samples` output (reference, filtered answer, correctness); `export` writes one decode as a `.dlens` trace",
  run,
};

/** Opens a set and fills in the metrics a writer could not compute (the Python recorder's rows). */
function load(dir: string) {
  const s = openSet(dir);
  completeRows(s);
  return s;
}

const fmt = (x: number | null, d = 1) => (x === null ? 'n/a' : x.toFixed(d));

async function run(argv: string[]) {
  const [sub, ...rest] = argv;
  const { values, positionals } = parse(
    setCommand,
    rest,
    { json: { type: 'boolean' }, out: { type: 'string' }, task: { type: 'string' }, filter: { type: 'string' } },
    'some',
  );
  const need = (n: number, what: string) => {
    if (positionals.length !== n) throw new DlensError(`dlens set ${sub} takes ${what}\n${usageOf(setCommand)}`);
  };
  const json = (x: unknown) => console.log(JSON.stringify(x));
  if (sub === 'info') {
    need(1, 'one set');
    const info = setInfo(load(positionals[0]!));
    if (values.json) return json(info);
    console.log(
      `${info.dir}: ${info.decodes} decodes${info.skipped ? ` (${info.skipped} cut short by a killed writer, left out)` : ''}`,
    );
    for (const g of info.groups) {
      const fired = Object.entries(g.detectors).filter(([, v]) => v > 0);
      console.log(
        `${g.group}: ${g.decodes} decodes, accuracy ${g.accuracy === null ? 'unknown' : `${fmt(g.accuracy * 100)} % of ${g.judged}`}; ` +
          `steps median ${fmt(g.steps.median, 0)} (p10 ${fmt(g.steps.p10, 0)}, p90 ${fmt(g.steps.p90, 0)}); ` +
          `TPF median ${fmt(g.tpf.median, 2)}, answer TPF median ${fmt(g.answer_tpf.median, 2)}; ` +
          `detectors ${fired.length ? fired.map(([k, v]) => `${k} ${fmt(v * 100)} %`).join(', ') : 'none fired'}`,
      );
    }
    return;
  }
  if (sub === 'diff') {
    need(2, 'two sets');
    const d = setDiff(load(positionals[0]!), load(positionals[1]!));
    if (values.json) return json(d);
    console.log(`${d.paired} decodes paired on their samples (${d.only_a} only in A, ${d.only_b} only in B)`);
    console.log(
      `right in A, wrong in B: ${d.right_to_wrong.length}; wrong in A, right in B: ${d.wrong_to_right.length}`,
    );
    console.log(`B saves ${fmt(d.steps_saved)} steps and ${fmt(d.nfe_saved)} forward passes per decode on average`);
    for (const [what, xs] of [
      ['right→wrong', d.right_to_wrong],
      ['wrong→right', d.wrong_to_right],
    ] as const)
      for (const f of xs.slice(0, 10))
        console.log(
          `  ${what} ${f.key}: A ${f.a}, B ${f.b}${f.part !== undefined ? `, states part at step ${f.part ?? 'n/a'}` : ''}`,
        );
    return;
  }
  if (sub === 'merge') {
    const out = pathOpt(values.out as string | undefined, '--out');
    if (!out || !positionals.length)
      throw new DlensError(`dlens set merge takes sets and --out SET\n${usageOf(setCommand)}`);
    const r = mergeSets(
      out,
      positionals.map((p) => openSet(p)),
    );
    return values.json ? json({ out, ...r }) : console.log(`${r.added} decodes added; ${out} holds ${r.decodes}`);
  }
  if (sub === 'label') {
    need(2, 'a set and an lm-eval samples file');
    fileArg(positionals[1]!, '');
    const set = openSet(positionals[0]!);
    const r = labelRows(set, positionals[1]!, {
      task: values.task as string | undefined,
      filter: values.filter as string | undefined,
    });
    appendOverlay(set.dir, 'labels.jsonl', r.labels);
    if (values.json) return json({ task: r.task, filter: r.filter, labelled: r.labels.length, documents: r.documents });
    return console.log(
      `${r.labels.length} decodes of task ${r.task} labelled from ${r.documents} documents (filter ${r.filter})`,
    );
  }
  if (sub === 'export') {
    need(2, 'a set and a decode id');
    const out = pathOpt(values.out as string | undefined, '--out');
    if (!out) throw new DlensError(`dlens set export needs --out TRACE.dlens\n${usageOf(setCommand)}`);
    writeFileAtomic(out, openSet(positionals[0]!).trace(positionals[1]!));
    return values.json ? json({ out }) : console.log(`decode ${positionals[1]} written to ${out}`);
  }
  throw new DlensError(`unknown set subcommand "${sub ?? ''}"\n${usageOf(setCommand)}`);
}
