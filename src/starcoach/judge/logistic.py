"""Logistic regression in numpy, the one solver the judge's fit uses (not needed at run time).

Multinomial for the sentence emissions (fit.py), binary for the value and topic
models.  Deterministic: full-batch Adam from zero, with sums taken in a fixed
order, so the same data give the same weights.json byte for byte.
"""

from __future__ import annotations

import contextlib
import math
from typing import Optional, Sequence

import numpy as np


def _one_blas_thread():
    """At most one BLAS thread while fitting, where threadpoolctl (the [test] extra) can say so.

    The matrices are small (about 6,500 sentences by 60 features, 7 labels): OpenBLAS's
    threads cost more in waking and waiting than they give, and on a busy machine they
    spin.  Measured on the full fit and its 8 folds (scripts/fit_judge.py --check) at
    load ~9 on 2 cores: 47 s of CPU with the default threads, 15 s with one.  The
    products are the same bits either way (OpenBLAS splits the output, not the sums).
    Without threadpoolctl the fit is the same, only slower on a busy machine.
    """
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        return contextlib.nullcontext()
    return threadpool_limits(limits=1, user_api="blas")


def _class_max(zt: np.ndarray) -> np.ndarray:
    """Per sample (column) the largest of the classes' scores (rows): a maximum does not depend on the order."""
    m = zt[0].copy()
    for j in range(1, zt.shape[0]):
        np.maximum(m, zt[j], out=m)
    return m


def _class_sum(pt: np.ndarray) -> np.ndarray:
    """Per sample (column) the sum over the classes (rows), with the bits of ``p.sum(axis=1)`` on the
    samples-by-classes array: numpy adds fewer than 8 numbers left to right (its pairwise
    summation starts at 8), as this does; for 8 or more classes numpy's own sum is used."""
    if pt.shape[0] >= 8:
        return np.ascontiguousarray(pt.T).sum(axis=1)
    s = pt[0].copy()
    for j in range(1, pt.shape[0]):
        s += pt[j]
    return s


class _Adam:
    """Full-batch Adam with the settings of every fit here; ``step`` updates the parameters in place."""

    LR, B1, B2, EPS = 0.1, 0.9, 0.999, 1e-8

    def __init__(self, *params: np.ndarray):
        self.m = [np.zeros_like(p) for p in params]
        self.v = [np.zeros_like(p) for p in params]
        self.t = 0

    def step(self, params: Sequence[np.ndarray], grads: Sequence[np.ndarray]) -> None:
        self.t += 1
        b1, b2 = self.B1, self.B2
        step = self.LR * math.sqrt(1 - b2 ** self.t) / (1 - b1 ** self.t)
        for i, (p, g) in enumerate(zip(params, grads)):
            self.m[i] = b1 * self.m[i] + (1 - b1) * g
            self.v[i] = b2 * self.v[i] + (1 - b2) * g * g
            p -= step * self.m[i] / (np.sqrt(self.v[i]) + self.EPS)


def logistic(x: np.ndarray, y: np.ndarray, sw: np.ndarray, *, l2: float, steps: int,
             classes: int) -> tuple[np.ndarray, np.ndarray]:
    """Multinomial logistic regression by full-batch Adam (deterministic: starts at zero).

    Computed classes-by-samples (``zt`` is ``z.T``): the per-sample max and sum run along
    contiguous rows, and both products are faster that way round with the same bits
    (each output is the same dot product, summed in the same order).  The gradient of the
    bias sums the samples left to right, as ``g.sum(axis=0)`` on the samples-by-classes
    array does (``cumsum`` is that running sum)."""
    n, d = x.shape
    k = classes
    xt = np.ascontiguousarray(x.T)
    onehot_t = np.zeros((k, n))
    onehot_t[y, np.arange(n)] = 1.0
    w = np.zeros((d, k))
    b = np.zeros(k)
    adam = _Adam(w, b)
    total = sw.sum()
    sw_row = sw[None, :]
    with _one_blas_thread():
        for _ in range(steps):
            zt = w.T @ xt + b[:, None]
            zt -= _class_max(zt)
            pt = np.exp(zt)
            pt /= _class_sum(pt)
            gt = (pt - onehot_t) * sw_row / total
            gw = (gt @ x).T + l2 * w / total
            gb = gt.cumsum(axis=1)[:, -1]
            adam.step((w, b), (gw, gb))
    return w, b


def fit_binary(rows: Sequence[tuple[dict[str, float], bool]], *, l2: float = 1.0, steps: int = 1000,
               against: Sequence[str] = ()) -> dict:
    """Logistic regression of a yes/no outcome on named features, with the probability
    threshold that gives the best F1 on the training rows.  ``against``: features that are
    evidence against "yes" by what they measure; one the fit weighs towards "yes" (an artefact
    of a few training rows) is left out and the rest refitted."""
    if not rows or not any(g for _, g in rows):
        return {}
    while True:
        model = _fit_binary(rows, l2=l2, steps=steps)
        wrong = {n for n in against if model["coef"].get(n, 0.0) > 0}
        if not wrong:
            return model
        rows = [({k: v for k, v in f.items() if k not in wrong}, g) for f, g in rows]


def _fit_binary(rows: Sequence[tuple[dict[str, float], bool]], *, l2: float, steps: int) -> dict:
    names = sorted({k for f, _ in rows for k in f})
    col = {k: j for j, k in enumerate(names)}
    x = np.zeros((len(rows), len(names)))
    y = np.zeros(len(rows), dtype=int)
    for r, (f, gold) in enumerate(rows):
        for k, v in f.items():
            x[r, col[k]] = v
        y[r] = int(gold)
    # Two-class softmax = logistic regression; class 1 is "yes".
    w, b = logistic(x, y, np.ones(len(rows)), l2=l2, steps=steps, classes=2)
    coef = w[:, 1] - w[:, 0]
    bias = float(b[1] - b[0])
    p = 1.0 / (1.0 + np.exp(-(x @ coef + bias)))
    best_t, best_f1 = 0.5, -1.0
    for t in np.arange(0.2, 0.65, 0.05):
        tp = float(((p >= t) & (y == 1)).sum())
        fp = float(((p >= t) & (y == 0)).sum())
        fn = float(((p < t) & (y == 1)).sum())
        f1 = 2 * tp / (2 * tp + fp + fn) if tp else 0.0
        if f1 > best_f1 + 1e-9:
            best_t, best_f1 = round(float(t), 2), f1
    return {"bias": round(bias, 4), "threshold": best_t,
            "coef": {n: round(float(c), 4) for n, c in zip(names, coef) if abs(c) >= 1e-4}}


def fit_choice(groups: Sequence[Sequence[tuple[dict[str, float], bool]]], *, l2: float = 1.0,
               steps: int = 1000, folds: Sequence[Sequence[int]] = ()) -> dict:
    """A choice among candidates, or none of them: per group (a closing and the company's
    values), which candidate is the one (a conditional logit, one score per candidate from its
    named features, and a fitted score for "none"), with the probability threshold at which
    ``values.named_values`` names them with the best F1 on the training groups.  A group with
    two right candidates shares the probability between them.  Deterministic: full-batch Adam
    from zero.

    ``folds`` (lists of indices into ``groups``): the threshold is chosen on what a model
    fitted without each group's fold names in it, not on the training groups themselves, of
    which the fit is surer than of any new closing."""
    if not groups or not any(ok for g in groups for _, ok in g):
        return {}
    model = _fit_choice_weights(groups, l2=l2, steps=steps)
    if folds:
        cases: list = [None] * len(groups)
        for fold in folds:
            held = set(fold)
            rest = [g for i, g in enumerate(groups) if i not in held]
            m = _fit_choice_weights(rest, l2=l2, steps=steps) if any(ok for g in rest for _, ok in g) else None
            for i in fold:
                cases[i] = (m, groups[i])
    else:
        cases = [(model, g) for g in groups]
    model["threshold"] = _best_threshold(cases)
    return model


def _fit_choice_weights(groups: Sequence[Sequence[tuple[dict[str, float], bool]]], *, l2: float,
                        steps: int) -> dict:
    names = sorted({k for g in groups for f, _ in g for k in f})
    col = {k: j for j, k in enumerate(names)}
    n, width, d = len(groups), max(len(g) for g in groups), len(names)
    x = np.zeros((n, width, d))
    mask = np.zeros((n, width), dtype=bool)
    target = np.zeros((n, width + 1))
    for i, g in enumerate(groups):
        for r, (f, ok) in enumerate(g):
            mask[i, r] = True
            target[i, r] = float(ok)
            for k, v in f.items():
                x[i, r, col[k]] = v
        right = target[i, :width].sum()
        if right:
            target[i, :width] /= right
        else:
            target[i, width] = 1.0
    w = np.zeros(d)
    b = np.zeros(1)  # the score of "none"
    adam = _Adam(w, b)
    with _one_blas_thread():
        for _ in range(steps):
            p = _choice_probabilities(x, mask, w, float(b[0]))
            g = (p - target) / n
            gw = np.einsum("nv,nvd->d", g[:, :width], x) + l2 * w / n
            adam.step((w, b), (gw, np.array([g[:, width].sum()])))
    return {"kind": "choice", "none": round(float(b[0]), 4),
            "coef": {k: round(float(c), 4) for k, c in zip(names, w) if abs(c) >= 1e-4}}


def _best_threshold(cases: Sequence[tuple[Optional[dict], Sequence[tuple[dict[str, float], bool]]]]) -> float:
    """The threshold (0.20-0.60) at which ``values.named_values`` names the right candidates
    with the best F1; each case is (the model that judges it, or None: nothing named; its group)."""
    from starcoach.judge.values import named_values

    best_t, best_f1 = 0.5, -1.0
    for t in np.arange(0.2, 0.65, 0.05):
        t = round(float(t), 2)
        tp = fp = fn = 0
        for m, g in cases:
            idx = [str(i) for i in range(len(g))]
            named = {int(v) for v in named_values(idx, [f for f, _ in g], {**m, "threshold": t})} if m else set()
            tp += sum(1 for i, (_, ok) in enumerate(g) if ok and i in named)
            fp += sum(1 for i, (_, ok) in enumerate(g) if not ok and i in named)
            fn += sum(1 for i, (_, ok) in enumerate(g) if ok and i not in named)
        f1 = 2 * tp / (2 * tp + fp + fn) if tp else 0.0
        if f1 > best_f1 + 1e-9:
            best_t, best_f1 = t, f1
    return best_t


def _choice_probabilities(x: np.ndarray, mask: np.ndarray, w: np.ndarray, b: float) -> np.ndarray:
    """Per group, the probability of each candidate and (last column) of none."""
    z = np.where(mask, x @ w, -1e9)
    z = np.concatenate([z, np.full((len(z), 1), b)], axis=1)
    z -= z.max(axis=1, keepdims=True)
    p = np.exp(z)
    return p / p.sum(axis=1, keepdims=True)
