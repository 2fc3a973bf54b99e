import type { Strategy } from './types.js';
import { fastDllmThreshold } from './fast-dllm-threshold.js';
import { probability } from './rank.js';

/**
 * AdaBlock-dLLM (lgxi24/AdaBlock-dLLM, compute_block_length): after a block's first forward pass, look at the
 * predictions in a window of 25 % of the generation length from the block start; among positions predicted to be a
 * delimiter, take the most confident; if its confidence reaches `delimiter_threshold` the block ends right after
 * it, otherwise the block keeps the default length. Inside a block, tokens are committed by Fast-dLLM's threshold
 * rule, as in the reference. The block boundaries each step used are in the trace's `block` tensor.
 */
export const adaBlock: Strategy<{
  threshold: number;
  delimiter_threshold: number;
  delimiters: string;
  window: number;
}> = {
  name: 'adablock',
  description:
    'Adaptive block size: end each block after the most confident predicted delimiter; commit by confidence threshold.',
  paper: 'AdaBlock-dLLM: semantic-aware adaptive block size for diffusion LLM inference (code: lgxi24/AdaBlock-dLLM)',
  params: {
    threshold: probability('commit confidence within a block (Fast-dLLM)'),
    delimiter_threshold: {
      type: 'number',
      default: 0.3,
      min: 0,
      max: 1,
      description: 'confidence a predicted delimiter needs to end the block',
    },
    delimiters: {
      type: 'enum',
      default: 'punct+newline',
      options: ['newline', 'punct+newline', 'space+punct+newline'],
      description: 'which predicted tokens count as delimiters',
    },
    window: {
      type: 'number',
      default: 0.25,
      min: 0,
      max: 1,
      minExclusive: true,
      description: 'search window as a share of the generation length',
    },
  },
  blockEnd(view, p) {
    const isDelim = delimiterTest(p.delimiters);
    const size = Math.max(1, Math.floor(p.window * view.genLength));
    let best = -1,
      bestConf = -1;
    for (const pos of view.masked) {
      if (pos >= view.blockStart + size) break;
      const pr = view.predictions[pos - view.promptLength];
      if (pr && pr.token !== view.eosId && isDelim(view.tokenText(pr.token)) && pr.confidence > bestConf) {
        best = pos;
        bestConf = pr.confidence;
      }
    }
    return best >= 0 && bestConf >= p.delimiter_threshold ? best + 1 : view.blockStart + view.blockLength;
  },
  decide(view, p) {
    return fastDllmThreshold.decide(view, { threshold: p.threshold }, undefined);
  },
};

function delimiterTest(kind: string): (text: string) => boolean {
  if (kind === 'newline') return (t) => t.includes('\n');
  if (kind === 'space+punct+newline') return (t) => /[\n.,;:!?]/.test(t) || /^\s/.test(t);
  return (t) => /[\n.,;:!?]/.test(t);
}
