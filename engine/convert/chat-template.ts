import { Environment, Interpreter, Template } from '@huggingface/jinja';
import { DlensError } from '../errors.js';

/**
 * A checkpoint's chat template rendered under bounds. A template is a program from the checkpoint's author, and
 * @huggingface/jinja runs it synchronously with no limits: `{% for i in range(1000000000) %}` builds a billion-element
 * list, nested loops never end. Three bounds make rendering finish, each refused with a message naming the template:
 * `range` makes at most RANGE_BUDGET numbers in one render, the interpreter stops after DEADLINE_MS, and the output is
 * at most MAX_OUTPUT characters (a prompt template is a few hundred).
 */
export const RANGE_BUDGET = 100_000;
export const DEADLINE_MS = 2_000;
export const MAX_OUTPUT = 64 * 1024;

const WHERE = 'tokenizer_config.json: the chat template';

type Evaluate = (statement: unknown, environment: unknown) => unknown;

/** Renders `source` with `items`, or throws a DlensError that says which bound or which template error stopped it. */
export function renderChatTemplate(source: string, items: Record<string, unknown>): string {
  let template: Template;
  try {
    template = new Template(source);
  } catch (e) {
    throw new DlensError(`${WHERE} is not a valid Jinja template (${kindOf(e)}); fix or remove it`);
  }
  let made = 0;
  const range = (start: number, stop?: number, step = 1) => {
    if (stop === undefined) [start, stop] = [0, start];
    if (![start, stop, step].every(Number.isFinite) || step === 0)
      throw new Error('range() takes finite numbers and a step other than 0');
    const n = Math.max(0, Math.ceil((stop - start) / step));
    made += n;
    if (made > RANGE_BUDGET) throw new BoundError(`makes more than ${RANGE_BUDGET} numbers with range()`);
    return Array.from({ length: n }, (_, i) => start + i * step);
  };
  let text: unknown;
  try {
    // The library's render() declares its own `range` and `raise_exception`, which cannot be replaced: the
    // environment is built here, with the library's other globals.
    const env = new Environment();
    const globals: Record<string, unknown> = {
      false: false,
      true: true,
      none: null,
      False: false,
      True: true,
      None: null,
      range,
      raise_exception: () => {
        throw new Raised();
      },
      strftime_now: strftimeNow,
      ...items,
    };
    for (const [k, v] of Object.entries(globals)) env.set(k, v);
    const interpreter = new Interpreter(env);
    // Every statement and expression passes through `evaluate` (a private method, hence Reflect): this
    // interpreter's own copy reads the clock on every 256th call.
    const evaluate = Reflect.get(interpreter, 'evaluate') as Evaluate;
    const deadline = Date.now() + DEADLINE_MS;
    let ticks = 0;
    Reflect.set(interpreter, 'evaluate', function (this: unknown, s: unknown, e: unknown) {
      if ((++ticks & 255) === 0 && Date.now() > deadline)
        throw new BoundError(`runs longer than ${DEADLINE_MS / 1000} s`);
      return evaluate.call(this, s, e);
    });
    text = interpreter.run(template.parsed).value;
  } catch (e) {
    if (e instanceof BoundError) throw new DlensError(`${WHERE} ${e.message}; dlens stopped rendering it`);
    if (e instanceof Raised)
      throw new DlensError(`${WHERE} raises an error (raise_exception) when rendered for one user message`);
    if (e instanceof RangeError)
      throw new DlensError(`${WHERE} grows too large or recurses too deep; dlens stopped rendering it`);
    throw new DlensError(`${WHERE} fails when rendered for one user message (${kindOf(e)})`);
  }
  if (typeof text !== 'string') throw new DlensError(`${WHERE} renders to no text`);
  if (text.length > MAX_OUTPUT)
    throw new DlensError(
      `${WHERE} renders ${text.length} characters for one message; dlens takes at most ${MAX_OUTPUT}`,
    );
  return text;
}

class BoundError extends Error {}

/** Jinja's strftime_now (the formats @huggingface/jinja knows: %Y %m %d %b %B %H %M %%), for templates that date. */
function strftimeNow(format: unknown): string {
  const d = new Date();
  const two = (n: number) => String(n).padStart(2, '0');
  const month = (style: 'short' | 'long') => d.toLocaleString('en-US', { month: style });
  const parts: Record<string, () => string> = {
    Y: () => String(d.getFullYear()),
    m: () => two(d.getMonth() + 1),
    d: () => two(d.getDate()),
    b: () => month('short'),
    B: () => month('long'),
    H: () => two(d.getHours()),
    M: () => two(d.getMinutes()),
    '%': () => '%',
  };
  return String(format).replace(/%([YmdbBHM%])/g, (_, k: string) => parts[k]!());
}
class Raised extends Error {}

/**
 * What kind of error the library reported, without its message: jinja's messages quote the template's text, and
 * error messages never quote a file's content (docs/security.md).
 */
const kindOf = (e: unknown) =>
  e instanceof SyntaxError ? 'a syntax error' : e instanceof TypeError ? 'a type error' : 'a template error';
