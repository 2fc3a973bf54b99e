import { DlensError } from '../errors.js';
import type { Strategy, ParamSpec } from './types.js';
import { lowConfidence } from './low-confidence.js';
import { randomRemasking } from './random.js';
import { fastDllmThreshold } from './fast-dllm-threshold.js';
import { fastDllmFactor } from './fast-dllm-factor.js';
import { localLeap } from './localleap.js';
import { adaBlock } from './adablock.js';
import { creditDecoding } from './credit.js';
import { learn2pd } from './learn2pd.js';
import { ccd } from './ccd.js';
import { freeDave } from './freedave.js';

export const STRATEGIES: readonly Strategy[] = [lowConfidence, randomRemasking, fastDllmThreshold, fastDllmFactor, localLeap, adaBlock, creditDecoding, learn2pd, ccd, freeDave] as unknown as Strategy[];

export function getStrategy(name: string): Strategy {
  const s = STRATEGIES.find((x) => x.name === name);
  if (!s) throw new DlensError(`unknown strategy "${name}": choose one of ${STRATEGIES.map((x) => x.name).join(', ')}`);
  return s;
}

function coerce(name: string, key: string, spec: ParamSpec, raw: unknown): number | boolean | string {
  const where = `strategy ${name}: parameter ${key}`;
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
  if (!Number.isFinite(v) || (spec.type === 'integer' && !Number.isInteger(v))) throw new DlensError(`${where} must be ${spec.type === 'integer' ? 'an integer' : 'a number'}, got "${raw}"`);
  const lo = spec.min, hi = spec.max;
  if (lo !== undefined && (spec.minExclusive ? v <= lo : v < lo) || hi !== undefined && v > hi) {
    throw new DlensError(`${where} = ${v} is out of range: it must be in ${spec.minExclusive ? '(' : '['}${lo ?? '-inf'}, ${hi ?? 'inf'}] (${spec.description})`);
  }
  return v;
}

/** Defaults overlaid with the user's values, each checked against its spec. */
export function resolveParams(s: Strategy, given: Record<string, unknown>): Record<string, number | boolean | string> {
  const out: Record<string, number | boolean | string> = {};
  for (const [k, spec] of Object.entries(s.params)) out[k] = spec.default;
  for (const [k, v] of Object.entries(given)) {
    // Only the strategy's own parameter names: `toString` or `__proto__` are found on every object's prototype.
    const spec = Object.hasOwn(s.params, k) ? s.params[k] : undefined;
    if (!spec) throw new DlensError(`strategy ${s.name} has no parameter "${k}"${Object.keys(s.params).length ? `; its parameters are ${Object.keys(s.params).join(', ')}` : ' (it takes none)'}`);
    out[k] = coerce(s.name, k, spec, v);
  }
  return out;
}
