"""Which company values a link back names: a small fitted model over the lexicon's evidence.

For each value of the company, the evidence of the closing sentences (value
name, name words, cue phrases and words, words of its meaning), of the
sentence a closing points back to ("...and that's what ownership means"),
and of the whole story, becomes a few named features; a model fitted on
labelled closings (weights.json, "value_model") chooses among the company's
values, or none, as the one the closing names.  At most two values are
named, those whose share of the probability reaches the fitted threshold.  Without a fitted model, the summary evidence rule of the first
version is used (also for a value model of another kind than this one's choice model).
"""

from __future__ import annotations

import math
import re
from typing import Mapping, Optional, Sequence

from starcoach.judge.features import SentenceCues, sat
from starcoach.judge.lexicon import KINDS

#: A closing that points back at what was just said ("and that's the habit
#: I'd bring", "which is how ...", "I think this is what ... means").
ANAPHORIC_TIE = re.compile(
    r"^\W*(?:(?:and|so|but|honestly|yeah)\W+)*(?:(?:i|i'd|i'm)\s+(?:think|guess|believe|feel|know|would say)\W+)?"
    r"(?:that|this|which|it|those|these)\b", re.IGNORECASE)

#: The rule used without a fitted model: evidence needed to name a value, how close
#: to the best a second must come, and how much the sentence pointed back to counts.
VALUE_NAMED_AT, VALUE_SECOND_SHARE, ANAPHORIC_SHARE = 0.6, 0.7, 0.8
NAMED_AT_PROBABILITY = 0.5
MAX_NAMED = 2
#: Once one value is named, a second is named when the closing says its name (its name phrase,
#: or a pair of its name's words), or words of its name and it holds this share of the
#: probability the values get.
SECOND_NAMED_SHARE = 1 / 3
SAYS_NAME_OUTRIGHT = ("closing:name_phrase", "closing:name_pair")


def value_features(cues: Sequence[SentenceCues], texts: Sequence[str], link_idx: Sequence[int]
                   ) -> list[dict[str, float]]:
    """Named features of each company value for the closing sentences ``link_idx``."""
    if not any(c.value_scores for c in cues):
        return []
    nv = len(next(c for c in cues if c.value_scores).value_scores)
    closing = [0.0] * nv
    kinds = [[0] * len(KINDS) for _ in range(nv)]
    for i in link_idx:
        for vi in range(nv):
            closing[vi] += cues[i].value_scores[vi]
            for k, cnt in enumerate(cues[i].value_evidence[vi]):
                kinds[vi][k] += cnt
    first = link_idx[0] if link_idx else 0
    prev = cues[first - 1].value_scores if first > 0 else (0.0,) * nv
    anaphoric = bool(first > 0 and ANAPHORIC_TIE.match(texts[first]))
    story = [sum(c.value_scores[vi] for c in cues) for vi in range(nv)]
    best = max(closing, default=0.0)
    out = []
    for vi in range(nv):
        x = {f"closing:{k}": sat(kinds[vi][j]) for j, k in enumerate(KINDS) if kinds[vi][j]}
        x["closing:score"] = sat(closing[vi], 0.8)
        x["closing:top"] = float(best > 0 and closing[vi] == best)
        x["closing:share"] = closing[vi] / best if best > 0 else 0.0
        x["before:score"] = sat(prev[vi], 0.8)
        x["before:anaphoric"] = sat(prev[vi], 0.8) * anaphoric
        x["story:score"] = sat(story[vi] / 2.0)
        out.append({k: v for k, v in x.items() if v})
    return out


def choice_probabilities(model: Mapping, feats: Sequence[dict[str, float]]) -> list[float]:
    """Each candidate's probability under a fitted ``fit_choice`` model (the rest is "none")."""
    coef = model.get("coef", {})
    none = float(model.get("none", 0.0))
    scores = [sum(coef.get(k, 0.0) * v for k, v in x.items()) for x in feats]
    top = max(scores + [none])
    total = math.exp(none - top) + sum(math.exp(z - top) for z in scores)
    return [math.exp(z - top) / total for z in scores]


def named_values(names: Sequence[str], feats: Sequence[Mapping[str, float]], model: Mapping) -> tuple[str, ...]:
    """The values the fitted model says the closing names (at most two, most likely first).

    The model chooses among the company's values, or none (``logistic.fit_choice``): each value's
    score is its features' weighted sum, "none" has a fitted score of its own, and the values
    whose share of the probability reaches the fitted threshold are named.  Nearly every
    training closing names one value, so the model makes two values share what one would
    get, and the story's evidence decides which gets more.  So once one value is named, a
    second is named too when the closing says its name outright ("Resilient and Humble are
    why..."), or words of its name and it holds at least ``SECOND_NAMED_SHARE`` of the
    probability the values get ("Diving deep and putting the customer first is why...")."""
    ps = choice_probabilities(model, feats)
    probs = sorted(((p, vi) for vi, p in enumerate(ps)), key=lambda t: (-t[0], t[1]))
    at = float(model.get("threshold", NAMED_AT_PROBABILITY))
    if not probs or probs[0][0] < at:
        return ()
    total = sum(ps)

    def second(p: float, vi: int) -> bool:
        x = feats[vi]
        return (p >= at or any(x.get(k) for k in SAYS_NAME_OUTRIGHT)
                or (bool(x.get("closing:name_word")) and p >= SECOND_NAMED_SHARE * total))

    named = [probs[0][1]] + [vi for p, vi in probs[1:] if second(p, vi)]
    return tuple(names[vi] for vi in named[:MAX_NAMED])


def rule_values(names: Sequence[str], cues: Sequence[SentenceCues], texts: Sequence[str],
                link_idx: Sequence[int]) -> tuple[str, ...]:
    """The first version's rule: the best-evidenced values of the closing."""
    totals = [0.0] * len(names)
    for i in link_idx:
        for vi, sc in enumerate(cues[i].value_scores):
            totals[vi] += sc
    first = link_idx[0]
    if first > 0 and ANAPHORIC_TIE.match(texts[first]):
        for vi, sc in enumerate(cues[first - 1].value_scores):
            totals[vi] += ANAPHORIC_SHARE * sc
    ranked = sorted(range(len(totals)), key=lambda vi: -totals[vi])
    top = totals[ranked[0]] if ranked else 0.0
    return tuple(names[vi] for vi in ranked[:MAX_NAMED]
                 if totals[vi] >= VALUE_NAMED_AT and totals[vi] >= VALUE_SECOND_SHARE * top)


def linked_values(names: Sequence[str], cues: Sequence[SentenceCues], texts: Sequence[str],
                  link_idx: Sequence[int], model: Optional[Mapping]) -> tuple[str, ...]:
    if not names or not link_idx:
        return ()
    if model and model.get("kind") == "choice":
        return named_values(names, value_features(cues, texts, link_idx), model)
    return rule_values(names, cues, texts, link_idx)
