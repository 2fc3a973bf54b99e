import { DlensError } from '../../errors.js';
import { divergence, positionRegions, revisions, revisionsLine } from '../../metrics/index.js';
import { parse, usageOf, readTraceFile, type Command } from '../args.js';

export const diffCommand: Command = {
  name: 'diff',
  usage:
    'dlens diff A.dlens B.dlens [--json]   (where two decodes of the same prompt part: step, positions, candidates; edits and remasks)',
  summary:
    "where two decodes of the same prompt part, aligned step by step: the first step whose states, decisions (a committed token the other decode does not end with) and top-1 predictions differ, with both sides' candidates there, and the positions whose final tokens differ, and each decode's edits and remasks of committed tokens (docs/diagnostics.md); different prompts are refused",
  run,
};

async function run(argv: string[]) {
  const { values, positionals } = parse(diffCommand, argv, { json: { type: 'boolean' } }, 'some');
  if (positionals.length !== 2) throw new DlensError(`dlens diff takes two trace files\n${usageOf(diffCommand)}`);
  const [fa, fb] = positionals as [string, string];
  const a = readTraceFile(fa),
    b = readTraceFile(fb);
  const d = divergence(a, b);
  if (d.incomparable) throw new DlensError(`${fa} and ${fb} cannot be compared: ${d.incomparable}`);
  const rev = { a: revisions(a, positionRegions(a)), b: revisions(b, positionRegions(b)) };
  if (values.json) {
    console.log(JSON.stringify({ a: fa, b: fb, ...d, revisions: rev }));
    return;
  }
  const who = (f: string, t: typeof a) =>
    `${f} (${t.manifest.strategy.name}, cache ${t.manifest.cache.mode}, seed ${t.manifest.seed}, ${t.dims.S} steps)`;
  console.log(`A  ${who(fa, a)}\nB  ${who(fb, b)}`);
  console.log(`aligned step by step over ${d.steps} steps and ${d.positions} generated positions`);
  console.log(`A ${revisionsLine(rev.a)}\nB ${revisionsLine(rev.b)}`);
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
