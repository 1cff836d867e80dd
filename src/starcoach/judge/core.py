"""The judge's entry point: an answer's text (and optional word timings) in, an Analysis out.

Pure: no audio, terminal, storage or clock.  The steps, each in its own module:

1. ``pipeline.featurise``: sentences (``text.split_sentences``, robust to
   unpunctuated speech-to-text output), cue families found in each
   (``cues``), turned into named feature values (``features``);
2. ``emissions``: a score per label from the fitted weights table;
3. ``decode``: Viterbi over the R-STAR-L order, and per component the
   probability that the answer has it (forward-backward, calibrated);
4. ``checks``: answer-level checks and the values the closing names; a part
   heard only in sentences of words the speech model was unsure of
   (``starcoach.shaky``) is marked unsure, never plainly there;
5. ``score`` and ``advice``.
"""

from __future__ import annotations

import math
import re
from typing import Callable, Optional, Sequence, Union

from starcoach.catalogue.banks import Company
from starcoach.judge.advice import advice as make_advice
from starcoach.judge.checks import answer_checks
from starcoach.judge.decode import (
    TOLD_INSIDE_P,
    forbid_repeat,
    label_marginals,
    presence_probabilities,
    settle_lead,
    told_inside,
    viterbi,
)
from starcoach.judge.emissions import Weights, emission_scores, load_weights
from starcoach.judge.pipeline import featurise
from starcoach.judge.score import score as make_score
from starcoach.judge.values import linked_values
from starcoach.model import COMPONENTS, UNSURE_BELOW, Analysis, ComponentResult, Delivery, Sentence, Transcript, Word
from starcoach.shaky import SHAKY_SENTENCE_SHARE, shaky_share
from starcoach.text import has_words


class EmptyAnswer(ValueError):
    """The answer has no words to analyse."""


def text_from_words(words: Sequence[Word]) -> str:
    return re.sub(r"\s+", " ", "".join(w.text if w.text[:1].isspace() else " " + w.text for w in words)).strip()


def _align_words(text: str, words: Sequence[Word]) -> list[tuple[int, int, Word]]:
    """Character span of each timed word inside ``text`` (which was built from them)."""
    out = []
    pos = 0
    for w in words:
        token = w.text.strip()
        if not token:
            continue
        i = text.find(token, pos)
        if i < 0:
            continue
        out.append((i, i + len(token), w))
        pos = i + len(token)
    return out


def calibrated(p: float, ab: tuple[float, float]) -> float:
    a, b = ab
    p = min(1 - 1e-6, max(1e-6, p))
    return 1.0 / (1.0 + math.exp(-(a * math.log(p / (1 - p)) + b)))


def analyse(
    answer: Union[str, Transcript],
    *,
    question: Optional[str] = None,
    company: Optional[Company] = None,
    input: str = "-",
    delivery_fn: Optional[Callable[[Transcript, Sequence[Sentence]], Delivery]] = None,
    weights: Optional[Weights] = None,
    cut: Optional[str] = None,
) -> Analysis:
    """Judge one answer against R-STAR-L.

    ``answer`` is plain text, or a ``Transcript`` with word timings (then the
    sentences carry times and ``delivery_fn(transcript, sentences)`` supplies
    the delivery metrics).  ``weights`` defaults to the shipped weights.json.
    ``cut`` (``model.Analysis.cut``) says the recording stopped before the
    candidate finished: its length is then neither scored nor advised on.
    Raises ``EmptyAnswer`` when there are no words.
    """
    transcript = answer if isinstance(answer, Transcript) else None
    words: Sequence[Word] = transcript.words if transcript else ()
    if transcript is not None:
        text = text_from_words(words) if words else transcript.text.strip()
    else:
        text = str(answer)
    text = text.replace("\r\n", "\n").strip()
    if not has_words(text):
        raise EmptyAnswer("the answer has no words")
    question = question.strip() if question and question.strip() else None
    w = weights or load_weights()

    fz = featurise(text, question, company)
    emis = forbid_repeat(forbid_repeat([emission_scores(x, w) for x in fz.features], fz.repeat_ok),
                         fz.link_ok, "link_back")
    labels = settle_lead(viterbi(emis, w.transitions, w.transition_weight), fz.lead)
    probs = presence_probabilities(label_marginals(emis, w.transitions, w.transition_weight))
    inside = told_inside(labels, fz.features)
    for c in inside:
        probs[c] = max(probs[c], TOLD_INSIDE_P)
    texts = [text[p.start:p.end] for p in fz.pieces]
    comp_labels: list[Optional[str]] = [None if lab == "none" else lab for lab in labels]

    spans = _align_words(text, words) if words else []
    sents = []
    shaky_piece = []  # mostly words the speech model was unsure of (starcoach.shaky)
    k = 0
    for p, label in zip(fz.pieces, comp_labels):
        start_s = end_s = None
        while k < len(spans) and spans[k][1] <= p.start:
            k += 1
        j = k
        while j < len(spans) and spans[j][0] < p.end:
            if start_s is None:
                start_s = spans[j][2].start_s
            end_s = spans[j][2].end_s
            j += 1
        shaky_piece.append(shaky_share([sp[2] for sp in spans[k:j]]) >= SHAKY_SENTENCE_SHARE)
        sents.append(Sentence(text=text[p.start:p.end], component=label, start_s=start_s, end_s=end_s,
                              start_char=p.start, end_char=p.end))

    link_idx = [i for i, lab in enumerate(comp_labels) if lab == "link_back"]
    values = linked_values(tuple(v.name for v in company.values) if company else (), fz.cues, texts, link_idx,
                           w.value_model)
    structure: dict[str, ComponentResult] = {}
    for c in COMPONENTS:
        idx = [i for i, lab in enumerate(comp_labels) if lab == c]
        if not idx and c in inside:  # the task told inside a scene sentence: that sentence is its evidence
            idx = [i for i, lab in enumerate(comp_labels) if lab == "situation" and fz.features[i].get("task:in_scene")]
        p_present = calibrated(probs[c], w.calibration.get(c, (1.0, 0.0)))
        present = bool(idx)
        confidence = p_present if present else 1.0 - p_present
        if present and all(shaky_piece[i] for i in idx):
            # Heard only in words the speech model was unsure of: not plainly there.
            confidence = min(confidence, UNSURE_BELOW - 0.01)
        structure[c] = ComponentResult(
            present=present, confidence=round(confidence, 3),
            evidence=" ".join(texts[i] for i in idx) if idx else None,
            values=values if c == "link_back" else ())

    checks = answer_checks(text, question, fz.cues, texts, comp_labels, fz.lead, w.topic_model)
    delivery: Optional[Delivery] = None
    duration_s = transcript.duration_s if transcript else None
    if transcript is not None and words and delivery_fn is not None:
        delivery = delivery_fn(transcript, sents)
    return Analysis(
        input=input, question=question, company=company.id if company else None,
        company_name=company.name if company else None, transcript=text, duration_s=duration_s,
        structure=structure, sentences=tuple(sents), delivery=delivery,
        score=make_score(structure, checks, delivery, judge_length=cut is None),
        advice=tuple(make_advice(sents, fz.cues, structure, checks, delivery, duration_s, question, company,
                                 lead=fz.lead, judge_length=cut is None)),
        checks=checks, words=tuple(words), cut=cut,
    )
