import type { Strategy } from './types.js';
import { byConfidence, commitOf, probability } from './rank.js';

/** The block a run is editing and how many passes it has made since its last masked position was committed. */
interface Editing {
  block: number;
  post: number;
}

/**
 * LLaDA 2.1's joint thresholds, as SGLang's dllm algorithm `joint_threshold` decides (sgl-project/sglang,
 * python/sglang/srt/dllm/algorithm/joint_threshold.py): each pass commits the masked positions of the block whose
 * confidence exceeds `threshold` (at least the most confident one: mask to token) and replaces every committed token
 * whose prediction differs with a probability above `edit_threshold` (token to token). Once the block is filled it
 * keeps editing for at most `max_post_edit_steps` passes, and ends at the first pass that changes nothing (and, as
 * SGLang's loop, after block size + max_post_edit_steps passes).
 */
export const editThreshold: Strategy<
  { threshold: number; edit_threshold: number; max_post_edit_steps: number },
  Editing | undefined
> = {
  name: 'edit-threshold',
  description:
    "Commit masked positions above a threshold and edit committed tokens the model now predicts otherwise (LLaDA 2.1's joint mask/edit thresholds).",
  paper:
    'Bie et al. 2026, LLaDA2.1: speeding up text diffusion via token editing (inclusionAI); rule as SGLang joint_threshold',
  revisits: true,
  params: {
    threshold: probability('confidence above which a masked position is committed', 0.5),
    edit_threshold: {
      type: 'number',
      default: 0,
      min: 0,
      max: 1,
      description: 'probability above which a committed token is replaced by a different prediction',
    },
    max_post_edit_steps: {
      type: 'integer',
      default: 16,
      min: 0,
      description: 'passes of editing allowed after the block has no masked position left',
    },
  },
  decide(view, p, carried) {
    const post = carried?.block === view.blockStart ? carried.post : 0;
    const state = (n: number): Editing => ({ block: view.blockStart, post: n });
    if (!view.masked.length && post + 1 > p.max_post_edit_steps)
      return { commit: [], done: true, state: state(post + 1) };
    const ranked = byConfidence(view);
    const pass = ranked.filter((x) => x.pred.confidence > p.threshold);
    const commit = (pass.length || !ranked.length ? pass : ranked.slice(0, 1)).map(commitOf);
    const edit: { position: number; token: number }[] = [];
    for (let q = Math.max(view.blockStart, view.promptLength); q < view.blockEnd; q++) {
      const pred = view.predictions[q - view.promptLength];
      const held = view.tokens[q]!;
      if (held !== view.maskId && pred && pred.confidence > p.edit_threshold && pred.token !== held)
        edit.push({ position: q, token: pred.token });
    }
    const next = state(view.masked.length ? post : post + 1);
    if (!commit.length && !edit.length) return { commit, done: true, state: next };
    // SGLang's loop makes at most block size + max_post_edit_steps passes per block.
    const last = view.blockStep + 1 >= view.blockEnd - view.blockStart + p.max_post_edit_steps;
    return {
      commit,
      edit,
      state: next,
      ...(last ? { done: true } : {}),
      ...(ranked.length ? { forced: !pass.length } : {}),
    };
  },
};
