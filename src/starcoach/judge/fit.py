"""Fitting the judge's weights from labelled answers (numpy; not needed at run time).

``scripts/fit_judge.py`` calls ``fit`` on the training sets and writes
weights.json; ``benchmarks/eval_heuristics.py`` uses the same functions for
grouped cross-validation and the ablation.  The model, kept small enough to
read as a table:

- emissions: multinomial logistic regression from a sentence's named
  features (features.py) to its label, with an L2 penalty;
- transitions: how often each label follows the last component seen in the
  training answers (add-one smoothed), as log probabilities;
- settings chosen by grouped cross-validation on the real answers
  (scripts/fit_judge.py's GRID): the L2 penalty, how much the transitions
  count, and how much an answer weighs by where it comes from; how much of
  the label prior the emissions give back is fixed at one half;
- calibration: per component, Platt scaling of the presence probability
  measured out of fold, so that "0.9" means right about nine times in ten.
"""

from __future__ import annotations

import contextlib
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable, Optional, Sequence

import numpy as np

from starcoach.catalogue.banks import Catalogue
from starcoach.judge.checks import TOPIC_EVIDENCE, topic_features
from starcoach.judge.decode import (
    STATES,
    TOLD_INSIDE_P,
    forbid_repeat,
    label_marginals,
    presence_probabilities,
    settle_lead,
    told_inside,
    viterbi,
)
from starcoach.judge.emissions import LABELS, Weights, emission_scores
from starcoach.judge.evaluation import Labelled, company_of, load_labelled, load_real
from starcoach.judge.measure import grouped_folds, platt, presence_f1  # noqa: F401  (fit.presence_f1, fit.platt)
from starcoach.judge.pipeline import featurise
from starcoach.judge.values import value_features
from starcoach.model import COMPONENTS


@dataclass(frozen=True)
class Example:
    """One labelled answer as the judge sees it: features and gold label per sentence."""

    id: str
    #: the answer's set (file name) or, for a real answer, the web site it was published on
    source: str
    #: what cross-validation never splits: the site for real answers (one style), the answer itself otherwise
    group: str
    features: tuple[dict[str, float], ...]
    labels: tuple[str, ...]
    present: frozenset[str]
    lead: int = 0
    repeat_ok: tuple[bool, ...] = ()
    link_ok: tuple[bool, ...] = ()
    #: for an answer with a company and a link back: per company value, its features
    #: (values.value_features on the gold closing) and whether the closing names it
    value_rows: tuple[tuple[dict[str, float], bool], ...] = ()
    #: for an answer to a question the judge knows the concept of: topic features, and whether it is off topic
    topic_row: Optional[tuple[dict[str, float], bool]] = None


def examples(items: Iterable[Labelled], catalogue: Catalogue, *, also_without_question: bool = False) -> list[Example]:
    """``also_without_question``: each answer a second time with no question given, as
    `starcoach analyse` is often run (the twin is in the same group, so cross-validation
    never sees an answer's twin while judging it)."""
    out = []
    items = list(items)
    if also_without_question:
        from dataclasses import replace
        items = items + [replace(i, question="") for i in items if i.question]
    for item in items:
        text = item.text
        chars = item.char_labels()
        fz = featurise(text, item.question or None, company_of(catalogue, item.company))
        labels = []
        for p in fz.pieces:
            span = chars[p.start:p.end]
            counts: dict[str, int] = {}
            for ch, lab in zip(text[p.start:p.end], span):
                if not ch.isspace():
                    counts[lab] = counts.get(lab, 0) + 1
            labels.append(max(counts, key=lambda k: counts[k]) if counts else "none")
        real = "." in item.source  # a web site's host name
        company = company_of(catalogue, item.company)
        value_rows: tuple[tuple[dict[str, float], bool], ...] = ()
        link_idx = [i for i, lab in enumerate(labels) if lab == "link_back"]
        if company and link_idx and "link_back" in item.present:
            texts = [text[p.start:p.end] for p in fz.pieces]
            feats = value_features(fz.cues, texts, link_idx)
            value_rows = tuple((f, v.id in item.values) for f, v in zip(feats, company.values))
        topic_row = None
        if item.question and not real and not item.hypothetical:  # a hypothetical answer's topic is not judged
            body = " ".join(t for lab, t in item.segments if lab != "repeat")
            x, _ = topic_features(item.question, body)
            if x is not None:
                topic_row = (x, not item.on_topic)
        out.append(Example(item.id, item.source, item.source if real else f"{item.source}:{item.id}",
                           fz.features, tuple(labels), frozenset(item.present), fz.lead, fz.repeat_ok, fz.link_ok,
                           value_rows, topic_row))
    return out


#: The training sets in tests/data; the held-out sets (answers_heldout*.toml) are never among them.
TRAIN_SETS = ("answers_dev.toml", "answers_styles_a.toml", "answers_styles_b.toml", "answers_styles_c.toml",
              "answers_styles_d.toml", "answers_styles_e.toml", "answers_styles_f.toml")


def training_examples(data_dir: Path, real_path: Path, catalogue: Catalogue) -> tuple[list[Example], list[Example]]:
    """(the project's training answers, each also without its question; the real answers)."""
    own = [ex for name in TRAIN_SETS if (data_dir / name).exists()
           for ex in examples(load_labelled(data_dir / name), catalogue, also_without_question=True)]
    real = examples(load_real(real_path), catalogue) if real_path.exists() else []
    return own, real


def _keep(name: str, drop: Sequence[str]) -> bool:
    return not any(name == d or name.startswith(d) for d in drop)


def fit(train: Sequence[Example], *, l2: float = 1.0, transition_weight: float = 1.0,
        prior_correction: float = 0.5, drop: Sequence[str] = (), steps: int = 300,
        group_weight: Optional[Callable[[str], float]] = None, version: str = "dev") -> Weights:
    names = sorted({k for ex in train for f in ex.features for k in f if not drop or _keep(k, drop)})
    col = {k: j for j, k in enumerate(names)}
    rows = [(f, lab, ex.group) for ex in train for f, lab in zip(ex.features, ex.labels)]
    x = np.zeros((len(rows), len(names)))
    y = np.zeros(len(rows), dtype=int)
    sw = np.ones(len(rows))
    li = {lab: k for k, lab in enumerate(LABELS)}
    for r, (f, lab, group) in enumerate(rows):
        for k, v in f.items():
            j = col.get(k)
            if j is not None:
                x[r, j] = v
        y[r] = li[lab]
        if group_weight:
            sw[r] = group_weight(group)
    w, b = _logistic(x, y, sw, l2=l2, steps=steps)
    counts = np.bincount(y, minlength=len(LABELS)) + 1.0
    log_prior = {lab: float(math.log(counts[k] / counts.sum())) for lab, k in li.items()}
    return Weights(
        version=version,
        bias={lab: round(float(b[k]), 4) for lab, k in li.items()},
        coef={lab: {n: round(float(w[j, k]), 4) for j, n in enumerate(names) if abs(w[j, k]) >= 1e-4}
              for lab, k in li.items()},
        log_prior={k: round(v, 4) for k, v in log_prior.items()},
        transitions=transitions([ex.labels for ex in train]),
        transition_weight=transition_weight, prior_correction=prior_correction,
        calibration={c: (1.0, 0.0) for c in COMPONENTS},
        value_model=fit_values(train, l2=l2),
        topic_model=fit_binary([ex.topic_row for ex in train if ex.topic_row], l2=l2, against=TOPIC_EVIDENCE),
        trained_on=tuple(sorted({ex.source if "." not in ex.source else "real" for ex in train})),
    )


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


def _logistic(x: np.ndarray, y: np.ndarray, sw: np.ndarray, *, l2: float, steps: int,
              classes: int = len(LABELS)) -> tuple[np.ndarray, np.ndarray]:
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
    mw, vw, mb, vb = np.zeros_like(w), np.zeros_like(w), np.zeros_like(b), np.zeros_like(b)
    total = sw.sum()
    sw_row = sw[None, :]
    lr, b1, b2, eps = 0.1, 0.9, 0.999, 1e-8
    with _one_blas_thread():
        for t in range(1, steps + 1):
            zt = w.T @ xt + b[:, None]
            zt -= _class_max(zt)
            pt = np.exp(zt)
            pt /= _class_sum(pt)
            gt = (pt - onehot_t) * sw_row / total
            gw = (gt @ x).T + l2 * w / total
            gb = gt.cumsum(axis=1)[:, -1]
            mw = b1 * mw + (1 - b1) * gw
            vw = b2 * vw + (1 - b2) * gw * gw
            mb = b1 * mb + (1 - b1) * gb
            vb = b2 * vb + (1 - b2) * gb * gb
            step = lr * math.sqrt(1 - b2 ** t) / (1 - b1 ** t)
            w -= step * mw / (np.sqrt(vw) + eps)
            b -= step * mb / (np.sqrt(vb) + eps)
    return w, b


def fit_values(train: Sequence[Example], *, l2: float = 1.0) -> dict:
    """The value model: binary logistic regression over (closing, value) pairs."""
    return fit_binary([r for ex in train for r in ex.value_rows], l2=l2)


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
    w, b = _logistic(x, y, np.ones(len(rows)), l2=l2, steps=steps, classes=2)
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


def transitions(sequences: Iterable[Sequence[str]]) -> dict[str, dict[str, float]]:
    """log P(label | last component seen), add-one smoothed."""
    counts = {s: {lab: 1.0 for lab in LABELS} for s in STATES}
    for seq in sequences:
        state = "start"
        for lab in seq:
            counts[state][lab] += 1
            if lab != "none":
                state = lab
    out = {}
    for s, row in counts.items():
        total = sum(row.values())
        out[s] = {lab: round(math.log(v / total), 4) for lab, v in row.items()}
    return out


@dataclass(frozen=True)
class Prediction:
    id: str
    labels: tuple[str, ...]
    probabilities: dict[str, float]  # uncalibrated P(present) per component
    #: the parts found: those labelled, and those told inside another part's sentence (decode.told_inside)
    present: frozenset[str] = frozenset()


def predict(exs: Sequence[Example], w: Weights) -> list[Prediction]:
    out = []
    for ex in exs:
        every = [True] * len(ex.features)
        emis = forbid_repeat(forbid_repeat([emission_scores(f, w) for f in ex.features], ex.repeat_ok or every),
                             ex.link_ok or every, "link_back")
        labels = settle_lead(viterbi(emis, w.transitions, w.transition_weight), ex.lead)
        probs = presence_probabilities(label_marginals(emis, w.transitions, w.transition_weight))
        inside = told_inside(labels, ex.features)
        for c in inside:
            probs[c] = max(probs[c], TOLD_INSIDE_P)
        out.append(Prediction(ex.id, tuple(labels), probs, frozenset(labels) | inside))
    return out


def cross_validate(pool: Sequence[Example], test: Sequence[Example], k: int,
                   **fit_args) -> list[Prediction]:
    """Out-of-fold predictions for ``test``: each fold is predicted by weights fitted
    on ``pool`` plus the other folds of ``test`` (grouped by source)."""
    preds: list[Optional[Prediction]] = [None] * len(test)
    for fold in grouped_folds(test, k):
        held = set(fold)
        train = list(pool) + [ex for i, ex in enumerate(test) if i not in held]
        w = fit(train, **fit_args)
        for i, pr in zip(fold, predict([test[i] for i in fold], w)):
            preds[i] = pr
    return [p for p in preds if p is not None]


def fit_args(args: dict) -> dict:
    """A grid point (as stored in weights.json's ``fitted_with``) -> keyword arguments of ``fit``.

    ``real_weight`` and ``dev_weight`` say how much an answer counts by where it
    comes from: a real published answer (its source is a web site) more than one
    written for the project; the first development set, which nearly always opens
    with a play-back and closes with a link back, less.
    """
    a = dict(args)
    real_w, dev_w = float(a.pop("real_weight", 1.0)), float(a.pop("dev_weight", 1.0))
    a["group_weight"] = lambda g: real_w if "." in g else (dev_w if g.startswith("answers_dev:") else 1.0)
    return a
