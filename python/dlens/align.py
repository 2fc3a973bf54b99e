"""Trace format v3's alignment (docs/trace-format.md, engine/trace/align.ts): where each state's tokens sit in the
final state, for decodes whose positions move (insertions and deletions: LLaDA 2.2, SGLang's joint_threshold_indel).
The same rule as the TypeScript reader's, so both agree on every trace."""
import numpy as np

NOWHERE = -1


def align_pair(a, b):
    """How the positions of `a` map to positions of `b` (-1: deleted), by the fewest insertions, deletions and
    substitutions; among equally short edits substitutions first, walked from the front, so a step that only commits
    or edits in place maps each position to itself and a block's padding stays at its end."""
    a, b = list(a), list(b)
    out = [NOWHERE] * len(a)
    lo = 0
    while lo < len(a) and lo < len(b) and a[lo] == b[lo]:
        out[lo] = lo
        lo += 1
    ea, eb = len(a), len(b)
    while ea > lo and eb > lo and a[ea - 1] == b[eb - 1]:
        ea -= 1
        eb -= 1
        out[ea] = eb
    n, m = ea - lo, eb - lo
    rest = [[0] * (m + 1) for _ in range(n + 1)]
    for i in range(n, -1, -1):
        for j in range(m, -1, -1):
            if i == n or j == m:
                rest[i][j] = n - i + m - j
            else:
                sub = rest[i + 1][j + 1] + (a[lo + i] != b[lo + j])
                rest[i][j] = min(sub, rest[i + 1][j] + 1, rest[i][j + 1] + 1)
    i = j = 0
    while i < n:
        here = rest[i][j]
        if j < m and here == rest[i + 1][j + 1] + (a[lo + i] != b[lo + j]):
            out[lo + i] = lo + j
            i += 1
            j += 1
        elif here == rest[i + 1][j] + 1:
            i += 1
        else:
            j += 1
    return out


def align_states(states, pad, masked=None):
    """States of any lengths (each a sequence of token ids) laid out as a v3 trace: (state [S+1, T] padded with `pad`,
    masked [S+1, T] (0 on padding), align [S+1, T])."""
    S, T = len(states) - 1, max(len(s) for s in states)
    state = np.full((S + 1, T), pad, np.int32)
    mk = np.zeros((S + 1, T), np.uint8)
    align = np.full((S + 1, T), NOWHERE, np.int32)
    for k, s in enumerate(states):
        state[k, :len(s)] = np.asarray(s, np.int32)
        if masked is not None:
            mk[k, :len(s)] = np.asarray(masked[k], np.uint8)
    align[S, :len(states[S])] = np.arange(len(states[S]))
    for k in range(S - 1, -1, -1):
        step = align_pair(states[k], states[k + 1])
        for p, q in enumerate(step):
            align[k, p] = align[k + 1, q] if q >= 0 else NOWHERE
    return state, mk, align


def align_error(align, S, T):
    """What is wrong with a read `align`, or None (the TypeScript reader's alignError)."""
    if align.size and (align.min() < -1 or align.max() >= T):
        return 'align holds a position outside -1..T-1'
    final = align[S]
    if not ((final == np.arange(T)) | (final == NOWHERE)).all():
        return 'align of the final state must name each position itself (or -1 past its end)'
    for s in range(S + 1):
        v = align[s][align[s] >= 0]
        if len(v) > 1 and not (np.diff(v) > 0).all():
            return f'align of step {s} does not keep the tokens\' order'
    return None


def position_at(align, s, f):
    """Where the token at final position f is in state s (-1: not there)."""
    if align is None:
        return f
    hit = np.nonzero(align[s] == f)[0]
    return int(hit[0]) if len(hit) else NOWHERE
