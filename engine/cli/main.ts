import { DlensError } from '../errors.js';
import { ensureBundledModels } from '../model/bundled.js';
import { usageOf } from './args.js';
import { COMMANDS } from './commands/index.js';

/** Every command's usage, in the order `dlens --help` lists them. */
const USAGE = `usage:\n${COMMANDS.map((c) => `  ${c.usage}`).join('\n')}`;
const byName = new Map(COMMANDS.map((c) => [c.name, c]));

export async function main(argv: string[]) {
  const [cmd, ...rest] = argv;
  if (!cmd || cmd === '--help' || cmd === '-h' || cmd === 'help') {
    const asked = rest[0] ? byName.get(rest[0]) : undefined;
    console.log(asked ? usageOf(asked) : USAGE);
    return 0;
  }
  const f = byName.get(cmd);
  if (!f) throw new DlensError(`unknown command "${cmd}"\n${USAGE}`);
  if (rest.includes('--help') || rest.includes('-h')) {
    console.log(usageOf(f));
    return 0;
  }
  await ensureBundledModels();
  await f.run(rest);
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
