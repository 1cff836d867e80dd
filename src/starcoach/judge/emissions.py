"""Emissions: named feature values in, a score per label out, from the fitted weights table.

``weights.json`` is written by ``scripts/fit_judge.py`` (multinomial logistic
regression on labelled sentences; see docs/heuristics.md).  It holds, per
label, a bias and a weight per feature name, the label priors, the
transition table the decoder uses, and the calibration of the confidence.
Nothing here is hand-set: change the cue families or the training answers
and fit again.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from functools import cached_property, lru_cache
from pathlib import Path
from typing import Mapping, Optional

from starcoach.model import COMPONENTS

LABELS: tuple[str, ...] = COMPONENTS + ("none",)
WEIGHTS_PATH = Path(__file__).resolve().parent / "weights.json"
WEIGHTS_FORMAT = "starcoach.judge-weights/1"


@dataclass(frozen=True)
class Weights:
    version: str
    #: label -> bias, label -> {feature -> weight}
    bias: Mapping[str, float]
    coef: Mapping[str, Mapping[str, float]]
    #: label -> log prior (training share of sentences)
    log_prior: Mapping[str, float]
    #: state (last component seen, or "start") -> label -> log probability
    transitions: Mapping[str, Mapping[str, float]]
    #: how much the transition table and the prior correction weigh in decoding
    transition_weight: float
    prior_correction: float
    #: component -> (a, b): calibrated P(present) = logistic(a * logit(p) + b)
    calibration: Mapping[str, tuple[float, float]]
    trained_on: tuple[str, ...] = ()
    #: the value model (values.py): {"bias": b, "coef": {feature: weight}}; empty: the evidence rule
    value_model: Mapping = field(default_factory=dict)
    #: the off-topic model (checks.on_topic): {"bias", "coef", "threshold"} for P(off topic); empty: the rule
    topic_model: Mapping = field(default_factory=dict)

    @cached_property
    def rows(self) -> dict[str, tuple[float, ...]]:
        """feature -> its weight for each label, in LABELS order (for a sparse dot product)."""
        names = {k for coef in self.coef.values() for k in coef}
        return {k: tuple(self.coef.get(label, {}).get(k, 0.0) for label in LABELS) for k in names}

    @cached_property
    def offsets(self) -> tuple[float, ...]:
        """Per label, its bias (in LABELS order)."""
        return tuple(self.bias.get(label, 0.0) for label in LABELS)

    @cached_property
    def prior_back(self) -> tuple[float, ...]:
        return tuple(self.prior_correction * self.log_prior[label] for label in LABELS)

    def to_json(self) -> dict:
        return {"format": WEIGHTS_FORMAT, "version": self.version, "trained_on": list(self.trained_on),
                "labels": list(LABELS), "bias": dict(self.bias),
                "coef": {k: dict(sorted(v.items())) for k, v in self.coef.items()},
                "log_prior": dict(self.log_prior),
                "transitions": {k: dict(v) for k, v in self.transitions.items()},
                "transition_weight": self.transition_weight, "prior_correction": self.prior_correction,
                "calibration": {k: list(v) for k, v in self.calibration.items()},
                "value_model": dict(self.value_model), "topic_model": dict(self.topic_model)}

    @classmethod
    def from_json(cls, d: dict) -> "Weights":
        if d.get("format") != WEIGHTS_FORMAT:
            raise ValueError(f"weights file format {d.get('format')!r}, expected {WEIGHTS_FORMAT!r}")
        return cls(version=str(d["version"]), bias=d["bias"], coef=d["coef"], log_prior=d["log_prior"],
                   transitions=d["transitions"], transition_weight=float(d["transition_weight"]),
                   prior_correction=float(d["prior_correction"]),
                   calibration={k: (float(v[0]), float(v[1])) for k, v in d.get("calibration", {}).items()},
                   trained_on=tuple(d.get("trained_on", ())), value_model=d.get("value_model", {}),
                   topic_model=d.get("topic_model", {}))


@lru_cache(maxsize=4)
def load_weights(path: Optional[str] = None) -> Weights:
    p = Path(path) if path else WEIGHTS_PATH
    return Weights.from_json(json.loads(p.read_text(encoding="utf-8")))


def log_probs(x: Mapping[str, float], w: Weights) -> list[float]:
    """log P(label | sentence) under the fitted logistic model, in LABELS order (features are sparse)."""
    z = list(w.offsets)
    rows = w.rows
    for k, v in x.items():
        row = rows.get(k)
        if row is not None:
            for li, c in enumerate(row):
                z[li] += c * v
    m = max(z)
    lse = m + math.log(sum(math.exp(v - m) for v in z))
    return [v - lse for v in z]


def emission_scores(x: Mapping[str, float], w: Weights) -> list[float]:
    """Decoder scores in LABELS order: the log probability with part of the label
    prior taken out, since the transition table already carries how common each part is."""
    return [v - p for v, p in zip(log_probs(x, w), w.prior_back)]
