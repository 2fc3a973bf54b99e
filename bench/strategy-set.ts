/**
 * The strategies the benchmarks compare (bench:strategies, bench:diagnostics), in table order: LLaDA's baseline, an
 * aggressive fixed schedule, Fast-dLLM's two rules and the strategies built on them, CCD and FreeDave, then the
 * entropy-bounded, early-commit, calibrated, editing and remasking decoders (issue 34; ReMDM over the whole generation
 * as its code runs). Learn2PD runs with the filter at `filter`; `eot` adds its End-of-Text Prediction variant.
 */
export function strategySet(filter: string, o: { eot: boolean }): string[] {
  return [
    'low-confidence',
    'low-confidence@tps=4',
    'fast-dllm-threshold',
    'fast-dllm-threshold@threshold=0.5',
    'fast-dllm-factor',
    'localleap',
    'adablock',
    'credit',
    `learn2pd@filter=${filter}`,
    ...(o.eot ? [`learn2pd@filter=${filter},eot=true`] : []),
    'ccd',
    'freedave',
    'eb-sampler',
    'prophet',
    'pc-sampler',
    'edit-threshold@edit_threshold=0.5',
    'remdm@block=gen',
  ];
}
