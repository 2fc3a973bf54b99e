/**
 * Defaults of a recording and of the task suites, in one place: the command line, the engine API, the app's record
 * form and the benchmarks read them. LLaDA's generate.py defaults are gen 128 / block 32; dlens-tiny's answers fit 64.
 */
export const DEFAULTS = {
  strategy: 'low-confidence',
  cache: 'none',
  genLength: 64,
  blockLength: 32,
  topK: 5,
  seed: 0,
  temperature: 0,
  /** The seed of the held-out task instances every benchmark and `--task SUITE:INDEX` use. */
  taskSeed: 424242,
} as const;
