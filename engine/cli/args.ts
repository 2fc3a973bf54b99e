import { existsSync, readFileSync, statSync } from 'node:fs';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { DlensError } from '../errors.js';
import { readTrace, TraceError } from '../trace/trace.js';
import { kindOf } from '../util/safe-read.js';

/**
 * A command of the command line, all of it in one module (engine/cli/commands/NAME.ts): its name, its usage (printed
 * by `dlens COMMAND --help` and after a mistake in it), its summary (docs/cli.md's table), and what it does.
 */
export interface Command {
  name: string;
  usage: string;
  summary: string;
  run(argv: string[]): Promise<void>;
}

export const usageOf = (cmd: Command) => `usage:\n  ${cmd.usage}`;

/** An integer option: a whole number that a double holds exactly (nothing beyond 2^53 is silently rounded). */
export function intOpt(v: string | undefined, flag: string, min = -Number.MAX_SAFE_INTEGER): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (v.trim() === '' || !Number.isInteger(n)) throw new DlensError(`${flag} expects an integer, got "${v}"`);
  if (!Number.isSafeInteger(n)) throw new DlensError(`${flag} ${v} is too large: dlens takes integers up to 2^53 - 1`);
  if (n < min) throw new DlensError(`${flag} must be at least ${min}, got ${n}`);
  return n;
}

/** A path option that must not be empty (an empty --out would write a file named "" or nothing at all). */
export function pathOpt(v: string | undefined, flag: string): string | undefined {
  if (v !== undefined && v.trim() === '') throw new DlensError(`${flag} needs a file name, got an empty string`);
  return v;
}

/** A file the person named that must be a readable regular file (not a folder). */
export function fileArg(f: string, flag: string) {
  if (!existsSync(f)) throw new DlensError(`${flag}${flag ? ' ' : ''}${f} does not exist`);
  if (!statSync(f).isFile())
    throw new DlensError(`${flag}${flag ? ' ' : ''}${f} is ${kindOf(statSync(f))}; give a file`);
}

/**
 * node:util parseArgs with two fixes for a command line: an option's value may be a negative number (`--seed -1`,
 * which parseArgs calls ambiguous), and stray positional arguments are an error unless the command takes some.
 */
export function parse(
  cmd: Command,
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
      `dlens ${cmd.name} takes no argument "${r.positionals[0]}" (options start with --)\n${usageOf(cmd)}`,
    );
  return r;
}

/** A trace file the person named, read whole; a malformed one is refused with what is wrong. */
export function readTraceFile(f: string) {
  fileArg(f, '');
  try {
    return readTrace(new Uint8Array(readFileSync(f)));
  } catch (e) {
    if (e instanceof TraceError)
      throw new DlensError(`${f}: ${e.message}. The file is left untouched; re-record it or open another trace.`);
    throw e;
  }
}
