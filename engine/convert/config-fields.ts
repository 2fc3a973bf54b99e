import { DlensError } from '../errors.js';

/**
 * Numbers read from a checkpoint's config.json, each checked where it is read so that the message names the field:
 * a layer count of 1.5, a head count of 0 or an expert count of 1e9 would otherwise reach the graph builder (which
 * loops over them) or the model card (which the loader refuses).
 */
const LIMIT = 1 << 24;

const got = (v: unknown) =>
  v === undefined || v === null ? 'missing' : typeof v === 'number' ? String(v) : `a ${typeof v}`;

export function configFields(config: Record<string, unknown>, hint = '') {
  const value = (k: string, fallback?: number) => config[k] ?? fallback;
  return {
    /** A whole number in [min, max]; `fallback` when the field is absent or null. */
    int(k: string, o: { fallback?: number; min?: number; max?: number } = {}): number {
      const { min = 1, max = LIMIT } = o;
      const v = value(k, o.fallback);
      if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < min || v > max)
        throw new DlensError(`config.json: ${k} is ${got(v)}; it must be a whole number from ${min} to ${max}${hint}`);
      return v;
    },
    /** A finite number greater than 0 (rope theta, norm epsilon). */
    positive(k: string, fallback?: number): number {
      const v = value(k, fallback);
      if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0)
        throw new DlensError(`config.json: ${k} is ${got(v)}; it must be a number greater than 0${hint}`);
      return v;
    },
  };
}

/** A token id where the config gives one: a whole number >= 0 (a list, as some configs give eos_token_id, is none). */
export function configTokenId(config: Record<string, unknown>, k: string): number | undefined {
  const v = config[k];
  if (v === undefined || v === null || Array.isArray(v)) return undefined;
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0)
    throw new DlensError(`config.json: ${k} is ${got(v)}; it must be a token id (a whole number >= 0)`);
  return v;
}

/**
 * dModel / heads as a whole head size (unless the config gives head_dim: `d` undefined), and heads as a multiple of
 * the key/value heads, or a message naming both fields.
 */
export function checkHeads(
  names: { model: string; heads: string; kv: string },
  d: number | undefined,
  h: number,
  kv: number,
) {
  if (d !== undefined && d % h !== 0)
    throw new DlensError(`config.json: ${names.model} (${d}) is not a multiple of ${names.heads} (${h})`);
  if (h % kv !== 0) throw new DlensError(`config.json: ${names.heads} (${h}) is not a multiple of ${names.kv} (${kv})`);
}
