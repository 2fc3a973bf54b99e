import { DlensError } from '../errors.js';
import type { Strategy, Params } from './types.js';
import { resolveParams as resolveSpecs } from '../params.js';
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
import { dreamEntropy, dreamMaskgitPlus, dreamTopkMargin } from './dream.js';
import { editThreshold } from './edit-threshold.js';
import { ebSampler } from './eb-sampler.js';
import { prophet } from './prophet.js';
import { pcSampler } from './pc-sampler.js';
import { remdm } from './remdm.js';
import { renoise } from './renoise.js';

export const STRATEGIES: readonly Strategy[] = [
  lowConfidence,
  randomRemasking,
  fastDllmThreshold,
  fastDllmFactor,
  localLeap,
  adaBlock,
  creditDecoding,
  learn2pd,
  ccd,
  freeDave,
  dreamEntropy,
  dreamMaskgitPlus,
  dreamTopkMargin,
  editThreshold,
  ebSampler,
  prophet,
  pcSampler,
  remdm,
  renoise,
];

export function getStrategy(name: string): Strategy {
  const s = STRATEGIES.find((x) => x.name === name);
  if (!s) throw new DlensError(`unknown strategy "${name}": choose one of ${STRATEGIES.map((x) => x.name).join(', ')}`);
  return s;
}

/** Defaults overlaid with the user's values, each checked against its spec. */
export function resolveParams(s: Strategy, given: Record<string, unknown>): Params {
  return resolveSpecs(`strategy ${s.name}`, s.params, given);
}
