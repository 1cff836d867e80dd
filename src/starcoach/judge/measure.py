"""How the fitted judge is measured and calibrated: presence F1, folds that never split a source, Platt scaling.

Kept apart from fitting (fit.py) so that what a figure means can be read in
one place: presence is per answer (is the part there at all?), a fold holds
whole groups (a web site's answers share one style), and the calibration
maps a raw presence probability to how often such a decision was right.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Sequence

import numpy as np

from starcoach.model import COMPONENTS

if TYPE_CHECKING:
    from starcoach.judge.fit import Example, Prediction


def presence_f1(exs: Sequence[Example], preds: Sequence[Prediction]) -> dict[str, tuple[float, float, float]]:
    """Per component (precision, recall, F1) of the answer-level presence decision."""
    out = {}
    for c in COMPONENTS:
        tp = fp = fn = 0
        for ex, pr in zip(exs, preds):
            gold, pred = c in ex.present, c in pr.present
            tp += gold and pred
            fp += pred and not gold
            fn += gold and not pred
        p = tp / (tp + fp) if tp + fp else 1.0
        r = tp / (tp + fn) if tp + fn else 1.0
        out[c] = (p, r, 2 * p * r / (p + r) if p + r else 0.0)
    return out


def grouped_folds(exs: Sequence[Example], k: int) -> list[list[int]]:
    """Indices of ``exs`` in ``k`` folds, never splitting a group (source); largest groups first."""
    groups: dict[str, list[int]] = {}
    for i, ex in enumerate(exs):
        groups.setdefault(ex.group, []).append(i)
    folds: list[list[int]] = [[] for _ in range(min(k, len(groups)))]
    for _, idx in sorted(groups.items(), key=lambda g: (-len(g[1]), g[0])):
        min(folds, key=len).extend(idx)
    return folds


PLATT_CLIP_LO, PLATT_CLIP_HI = 0.001, 0.999


def platt(probs: Sequence[float], gold: Sequence[bool]) -> tuple[float, float]:
    """(a, b) of logistic(a * logit(p) + b) fitted to the outcomes, lightly regularised towards (1, 0).

    Probabilities are clipped to [0.001, 0.999] first: a part the decoder rules out
    (a closing with no tie cannot be a link back) has P ~ 1e-6, and a few such
    answers labelled otherwise would otherwise flatten the whole curve."""
    z = np.array([_logit(min(PLATT_CLIP_HI, max(PLATT_CLIP_LO, p))) for p in probs])
    t = np.array(gold, dtype=float)
    a, b = 1.0, 0.0
    for _ in range(500):
        q = 1.0 / (1.0 + np.exp(-(a * z + b)))
        ga = float(((q - t) * z).mean()) + 0.01 * (a - 1.0)
        gb = float((q - t).mean()) + 0.01 * b
        a -= 0.5 * ga
        b -= 0.5 * gb
    return round(a, 4), round(b, 4)


def _logit(p: float) -> float:
    p = min(1 - 1e-6, max(1e-6, p))
    return math.log(p / (1 - p))
