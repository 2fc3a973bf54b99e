import type { StepView, Strategy } from './types.js';

type RenoiseParams = {
  max_denoising_steps: number;
  entropy_bound: number;
  t_min: number;
  t_max: number;
  stability_threshold: number;
  confidence_threshold: number;
};

/** The block being denoised and its last argmax canvases (the stopping rule's history). */
interface Carried {
  block: number;
  history: Int32Array[];
}

/**
 * DiffusionGemma's entropy-bounded renoising, as transformers' EntropyBoundSampler and SGLang's dllm algorithm
 * `gemma4_renoise` run it, per block: at the step with n of N steps left the logits are tempered by
 * t = t_min + (t_max − t_min)·n/N; each position's tempered distribution is sampled (the denoiser canvas); the
 * positions sorted by tempered entropy, lowest first, are accepted while the entropies before them sum to at most
 * `entropy_bound`, and every other position gets a fresh uniform noise token. The block ends with every position at
 * its argmax once the argmax canvas has held for `stability_threshold` steps and the mean entropy is below
 * `confidence_threshold`, or after N steps. The self-conditioning input (the previous step's soft embeddings) is left
 * out: dlens's graphs take token ids only.
 */
export const renoise: Strategy<RenoiseParams, Carried | undefined> = {
  name: 'renoise',
  description:
    'Uniform-noise denoising (DiffusionGemma): accept the lowest-entropy samples within an entropy bound, re-noise the rest.',
  paper:
    'Google DeepMind 2026, DiffusionGemma; entropy-bounded sampler as transformers 5.17 generation_diffusion_gemma.py and SGLang gemma4_renoise.py',
  noise: 'uniform',
  revisits: true,
  params: {
    max_denoising_steps: { type: 'integer', default: 48, min: 1, description: 'denoising steps per block at most' },
    entropy_bound: {
      type: 'number',
      default: 0.1,
      min: 0,
      minExclusive: true,
      description: 'entropy (nats) accepted together',
    },
    t_min: { type: 'number', default: 0.4, min: 0, description: 'temperature at the last step' },
    t_max: { type: 'number', default: 0.8, min: 0, minExclusive: true, description: 'temperature at the first step' },
    stability_threshold: {
      type: 'integer',
      default: 1,
      min: 0,
      description: 'steps the argmax canvas must hold to stop',
    },
    confidence_threshold: { type: 'number', default: 0.005, min: 0, description: 'mean entropy under which to stop' },
  },
  decide(view, p, carried) {
    const history = carried?.block === view.blockStart ? carried.history : [];
    const left = p.max_denoising_steps - view.blockStep;
    const t = p.t_min + (p.t_max - p.t_min) * (left / p.max_denoising_steps);
    const rows = blockRows(view, t);
    const order = rows.map((_, i) => i).sort((a, b) => rows[a]!.entropy - rows[b]!.entropy || a - b);
    const accepted = new Uint8Array(rows.length);
    let before = 0;
    for (const i of order) {
      if (before <= p.entropy_bound) accepted[i] = 1;
      before += rows[i]!.entropy;
    }
    const argmax = Int32Array.from(rows, (r) => r.argmax);
    const stable =
      p.stability_threshold === 0 ||
      (history.length === p.stability_threshold && history.every((h) => h.every((x, i) => x === argmax[i])));
    const confident = rows.reduce((a, r) => a + r.entropy, 0) / rows.length < p.confidence_threshold;
    const done = (stable && confident) || left - 1 === 0;
    const next = [...history, argmax].slice(-Math.max(1, p.stability_threshold));
    const canvas = rows.map((r, i) =>
      done
        ? { token: r.argmax, keep: true }
        : accepted[i]
          ? { token: r.sample, keep: true }
          : { token: r.noise, keep: false },
    );
    return { ...writeCanvas(view, canvas), done, state: { block: view.blockStart, history: next } };
  },
};

interface Row {
  entropy: number;
  argmax: number;
  sample: number;
  noise: number;
}

/** Per block position: the tempered distribution's entropy, its argmax, a sample of it and a uniform noise token. */
function blockRows(view: StepView, t: number): Row[] {
  const out: Row[] = [];
  const V = view.vocabSize;
  for (let q = view.blockStart, i = 0; q < view.blockEnd; q++, i++) {
    const logits = view.logits?.(q);
    if (!logits) throw new Error(`strategy renoise: the pass computed no logits for position ${q}`);
    let max = -Infinity,
      argmax = 0;
    for (let v = 0; v < V; v++)
      if (logits[v]! > max) {
        max = logits[v]!;
        argmax = v;
      }
    let z = 0;
    for (let v = 0; v < V; v++) z += Math.exp((logits[v]! - max) / t);
    const logZ = Math.log(z);
    let entropy = 0;
    for (let v = 0; v < V; v++) {
      const lp = (logits[v]! - max) / t - logZ;
      entropy -= Math.exp(lp) * lp;
    }
    // Inverse-CDF sampling with the step's draw for this position: one uniform gives one categorical sample.
    const u = view.random[2 * i]!;
    let acc = 0,
      sample = V - 1;
    for (let v = 0; v < V; v++) {
      acc += Math.exp((logits[v]! - max) / t - logZ);
      if (acc > u) {
        sample = v;
        break;
      }
    }
    out.push({ entropy, argmax, sample, noise: Math.floor(view.random[2 * i + 1]! * V) });
  }
  return out;
}

/** The decision that turns the block into `canvas`: accept (commit or edit) the kept tokens, re-noise the others. */
function writeCanvas(view: StepView, canvas: { token: number; keep: boolean }[]) {
  const commit: { position: number; token: number }[] = [],
    edit: { position: number; token: number }[] = [],
    renoise: { position: number; token: number }[] = [];
  canvas.forEach(({ token, keep }, i) => {
    const q = view.blockStart + i;
    const undecided = view.noise ? view.noise[q] === 1 : view.tokens[q] === view.maskId;
    if (!keep) renoise.push({ position: q, token });
    else if (undecided) commit.push({ position: q, token });
    else if (view.tokens[q] !== token) edit.push({ position: q, token });
  });
  return { commit, edit, renoise };
}
