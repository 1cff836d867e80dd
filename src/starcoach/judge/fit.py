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
from starcoach.judge.logistic import fit_binary, fit_choice, logistic
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
    w, b = logistic(x, y, sw, l2=l2, steps=steps, classes=len(LABELS))
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


#: Folds (grouped) whose out-of-fold probabilities choose the value model's threshold.
VALUE_FOLDS = 8


def fit_values(train: Sequence[Example], *, l2: float = 1.0) -> dict:
    """The value model: per closing, which of the company's values it names, or none."""
    with_values = [ex for ex in train if ex.value_rows]
    return fit_choice([ex.value_rows for ex in with_values], l2=l2, folds=grouped_folds(with_values, VALUE_FOLDS))


#: The least a step back from one of the story's four parts to an earlier one may cost: log P of 1 in 20.  The
#: project's own answers tell situation, task, action and result in that order nearly
#: always, so their counts make going back almost impossible (an action then the task:
#: about 1 in 400); real answers do go back ("I asked what fast enough meant. Once we had
#: agreed on a target of 200 ms, I gave myself two days").  Steps forward (a task, then the
#: result, with no action between), how a story starts, and steps into a play-back or a link
#: back keep their counts: a floor there would read an untold result into the last action.
STORY_STEP_FLOOR = math.log(0.05)
STORY_PARTS = ("situation", "task", "action", "result")


def _goes_back(state: str, label: str) -> bool:
    """A step from one of the story's parts to an earlier one (an action, then the task)."""
    return state in STORY_PARTS and label in STORY_PARTS and STORY_PARTS.index(label) < STORY_PARTS.index(state)


def transitions(sequences: Iterable[Sequence[str]]) -> dict[str, dict[str, float]]:
    """log P(label | last component seen), add-one smoothed; steps back inside the story
    no less likely than STORY_STEP_FLOOR."""
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
        out[s] = {lab: round(max(STORY_STEP_FLOOR, math.log(v / total)) if _goes_back(s, lab)
                             else math.log(v / total), 4) for lab, v in row.items()}
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
