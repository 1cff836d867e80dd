"""Decoding: the best labelling of an answer's sentences under the R-STAR-L order.

The state is the last component seen ("start" before any); a "none"
sentence (filler, an aside, a lesson) keeps the state.  The transition
table (fitted, in weights.json) makes the framework's order likely and
back-and-forth (action, result, action) possible; a play-back of the
question can only open the answer.  Viterbi picks the best path;
forward-backward gives each sentence's label marginals, and a noisy-or
over them the probability that the answer has each component (an
approximation: the sentences are taken as independent given their
marginals; the calibration in weights.json is fitted on top of it, and
docs/heuristics.md shows how well the result is calibrated).
"""

from __future__ import annotations

import math
from typing import Mapping, Sequence

from starcoach.judge.emissions import LABELS
from starcoach.model import COMPONENTS

STATES: tuple[str, ...] = ("start",) + COMPONENTS
_NEG = -1e18


def _next_state(state: str, label: str) -> str:
    return state if label == "none" else label


def _allowed(state: str, label: str) -> bool:
    # The play-back of the question opens an answer or not at all.
    return label != "repeat" or state in ("start", "repeat")


def _arcs(trans: Mapping[str, Mapping[str, float]], trans_weight: float) -> list[tuple[int, int, int, float]]:
    """Every allowed (state, label, next state, weighted transition score), as indices."""
    si = {s: k for k, s in enumerate(STATES)}
    return [(si[s], li, si[_next_state(s, label)], trans_weight * trans[s][label])
            for s in STATES for li, label in enumerate(LABELS) if _allowed(s, label)]


def viterbi(emis: Sequence[Sequence[float]], trans: Mapping[str, Mapping[str, float]],
            trans_weight: float) -> list[str]:
    """The best labelling; ``emis`` holds each sentence's scores in LABELS order."""
    arcs = _arcs(trans, trans_weight)
    ns = len(STATES)
    score = [_NEG] * ns
    score[0] = 0.0
    back: list[list[tuple[int, int]]] = []
    for r in emis:
        nxt = [_NEG] * ns
        ptr = [(0, 0)] * ns
        for s, li, t, tw in arcs:
            sc0 = score[s]
            if sc0 <= _NEG:
                continue
            v = sc0 + r[li] + tw
            if v > nxt[t]:
                nxt[t] = v
                ptr[t] = (s, li)
        score = nxt
        back.append(ptr)
    if not back:
        return []
    state = max(range(ns), key=lambda k: score[k])
    labels: list[str] = []
    for ptr in reversed(back):
        state, li = ptr[state]
        labels.append(LABELS[li])
    return labels[::-1]


def label_marginals(emis: Sequence[Sequence[float]], trans: Mapping[str, Mapping[str, float]],
                    trans_weight: float) -> list[dict[str, float]]:
    """P(sentence i carries label l), summed over every labelling (forward-backward,
    in probability space with each step rescaled, so it never under- or overflows)."""
    arcs = [(s, li, t, math.exp(tw)) for s, li, t, tw in _arcs(trans, trans_weight)]
    ns = len(STATES)
    pots = []
    for e in emis:
        m = max(e)
        pots.append([math.exp(v - m) for v in e])
    fwd = []
    a = [0.0] * ns
    a[0] = 1.0
    for pot in pots:
        fwd.append(a)
        nxt = [0.0] * ns
        for s, li, t, tw in arcs:
            if a[s]:
                nxt[t] += a[s] * pot[li] * tw
        z = sum(nxt) or 1.0
        a = [v / z for v in nxt]
    b = [1.0] * ns
    out: list[dict[str, float]] = [{}] * len(pots)
    for i in range(len(pots) - 1, -1, -1):
        a, pot = fwd[i], pots[i]
        m = [0.0] * len(LABELS)
        prev = [0.0] * ns
        for s, li, t, tw in arcs:
            v = pot[li] * tw * b[t]
            prev[s] += v
            m[li] += a[s] * v
        z = sum(m) or 1.0
        out[i] = {label: m[li] / z for li, label in enumerate(LABELS)}
        zb = sum(prev) or 1.0
        b = [v / zb for v in prev]
    return out


def presence_probabilities(marginals: Sequence[Mapping[str, float]]) -> dict[str, float]:
    """P(some sentence carries component c), taking the sentences as independent
    given their marginals (noisy-or); the calibration in weights.json corrects
    what that assumption gets wrong."""
    out = {}
    for c in COMPONENTS:
        log_none = sum(math.log(max(1e-12, 1.0 - min(1.0, m[c]))) for m in marginals)
        out[c] = 1.0 - math.exp(log_none)
    return out


#: Raw P(present) given to a part found only inside another part's sentence; the calibration
#: in weights.json (fitted on out-of-fold predictions that include these) says what it is worth.
TOLD_INSIDE_P = 0.5


def told_inside(labels: Sequence[str], features: Sequence[Mapping[str, float]]) -> frozenset[str]:
    """Parts the answer has though no sentence is labelled with them: a scene sentence that
    also gives the charge ("In my second week as a shift lead, the site manager asked me to
    bring the late vans down") counts for the task too, since a sentence carries one label."""
    if "task" not in labels and any(lab == "situation" and f.get("task:in_scene")
                                    for lab, f in zip(labels, features)):
        return frozenset({"task"})
    return frozenset()


def settle_lead(labels: Sequence[str], lead: int) -> list[str]:
    """Opening fillers ("Sure.", "Okay, so.") belong to what follows them: part of
    the play-back when the next sentence plays the question back, else nothing."""
    out = list(labels)
    if 0 < lead < len(out):
        for i in range(lead):
            out[i] = "repeat" if out[lead] == "repeat" else "none"
    elif lead >= len(out):
        out = ["none"] * len(out)
    return out


def forbid_repeat(emis: Sequence[Sequence[float]], ok: Sequence[bool], label: str = "repeat") -> list[list[float]]:
    """Emission scores with ``label`` ("repeat", or "link_back") ruled out for the
    sentences that cannot be one (``ok`` False)."""
    ri = LABELS.index(label)
    out = []
    for e, allowed in zip(emis, ok):
        e = list(e)
        if not allowed:
            e[ri] = _NEG
        out.append(e)
    return out
