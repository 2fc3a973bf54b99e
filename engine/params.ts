import { DlensError } from './errors.js';

/**
 * A parameter of a strategy or a cache policy, as data: the command line's --set, the app's record form and
 * validation all read it. Pure TypeScript (the renderer gets these types through engine/api).
 */
export interface ParamSpec {
  type: 'number' | 'integer' | 'boolean' | 'enum' | 'string';
  default: number | boolean | string;
  min?: number;
  max?: number;
  /** min exclusive where the rule needs it (a threshold of 0 commits everything, say). */
  minExclusive?: boolean;
  options?: string[];
  description: string;
}
export type ParamValue = number | boolean | string;
export type Params = Record<string, ParamValue>;

function coerce(owner: string, key: string, spec: ParamSpec, raw: unknown): ParamValue {
  const where = `${owner}: parameter ${key}`;
  if (spec.type === 'boolean') {
    if (typeof raw === 'boolean') return raw;
    if (raw === 'true' || raw === '1') return true;
    if (raw === 'false' || raw === '0') return false;
    throw new DlensError(`${where} must be true or false, got "${raw}"`);
  }
  if (spec.type === 'string') {
    if (typeof raw === 'string') return raw;
    throw new DlensError(`${where} must be text, got ${JSON.stringify(raw)}`);
  }
  if (spec.type === 'enum') {
    if (typeof raw === 'string' && spec.options!.includes(raw)) return raw;
    throw new DlensError(`${where} must be one of ${spec.options!.join(', ')}, got "${raw}"`);
  }
  const v = typeof raw === 'number' ? raw : Number(raw);
  if (!Number.isFinite(v) || (spec.type === 'integer' && !Number.isInteger(v)))
    throw new DlensError(`${where} must be ${spec.type === 'integer' ? 'an integer' : 'a number'}, got "${raw}"`);
  const lo = spec.min,
    hi = spec.max;
  if ((lo !== undefined && (spec.minExclusive ? v <= lo : v < lo)) || (hi !== undefined && v > hi)) {
    const range = `${spec.minExclusive ? '(' : '['}${lo ?? '-inf'}, ${hi ?? 'inf'}]`;
    throw new DlensError(`${owner}: ${key} = ${v} is out of range: ${key} must be in ${range} (${spec.description})`);
  }
  return v;
}

/**
 * The defaults of `specs` overlaid with the given values, each checked against its spec. Only the owner's own
 * parameter names count: `toString` or `__proto__` are found on every object's prototype.
 */
export function resolveParams(owner: string, specs: Record<string, ParamSpec>, given: Record<string, unknown>): Params {
  const out: Params = {};
  for (const [k, spec] of Object.entries(specs)) out[k] = spec.default;
  for (const [k, v] of Object.entries(given)) {
    const spec = Object.hasOwn(specs, k) ? specs[k] : undefined;
    const names = Object.keys(specs);
    if (!spec)
      throw new DlensError(
        `${owner} has no parameter "${k}"${names.length ? `; its parameters are ${names.join(', ')}` : ' (it takes none)'}`,
      );
    out[k] = coerce(owner, k, spec, v);
  }
  return out;
}
