"""Answer-level checks: what no single sentence shows.

A verbatim repeat, a measured result, "I" or "we" in the actions, a
hypothetical answer ("I would..."), a story that answers a different
question, how the words are shared between the parts, and which company
values the closing names.  Each is a plain rule over the sentence cues and
the decoded labels, measured in docs/heuristics.md (which values a closing
names is values.py).
"""

from __future__ import annotations

import math
import re
from functools import lru_cache
from typing import Mapping, Optional, Sequence

from starcoach import tomlfiles
from starcoach.judge.cues import CUES_DIR, normalise
from starcoach.judge.features import SentenceCues
from starcoach.judge.pipeline import topic_stems
from starcoach.model import COMPONENTS, Checks
from starcoach.text import count_words, lowered_tokens, stem, tokens


@lru_cache(maxsize=2)
def _concept_data(language: str = "en") -> dict:
    return tomlfiles.loads((CUES_DIR / f"concepts_{language}.toml").read_text(encoding="utf-8"))["concept"]


@lru_cache(maxsize=2)
def question_patterns(language: str = "en") -> dict[str, re.Pattern[str]]:
    """Question concept -> its pattern in a question."""
    return {k: re.compile(r"\b(?:" + v["question"] + r")\b") for k, v in _concept_data(language).items()}


@lru_cache(maxsize=64)
def markers(concept: str, language: str = "en") -> re.Pattern[str]:
    """A concept's markers in a story, compiled the first time a question raises it (the patterns
    are long: compiling all of them for every process would cost more than judging an answer)."""
    return re.compile(r"\b(?:" + _concept_data(language)[concept]["answer"] + r")\b")


def concepts(language: str = "en") -> dict[str, tuple[re.Pattern[str], re.Pattern[str]]]:
    """Question concept -> (pattern in the question, markers in the story), every concept."""
    return {k: (qrx, markers(k, language)) for k, qrx in question_patterns(language).items()}


@lru_cache(maxsize=2)
def _alone(language: str = "en") -> dict[str, re.Pattern[str]]:
    """Question concept -> words that raise it only when the question raises no other concept
    ("quickly" asks about a deadline, but "learn a new tool quickly" asks about learning)."""
    return {k: re.compile(r"\b(?:" + v["question_alone"] + r")\b")
            for k, v in _concept_data(language).items() if v.get("question_alone")}


def question_concepts(question: str) -> list[str]:
    q = normalise(question)
    found = [k for k, qrx in question_patterns().items() if qrx.search(q)]
    if not found:
        found = [k for k, rx in _alone().items() if rx.search(q)]
    return found


def topic_features(question: str, body_text: str) -> tuple[Optional[dict[str, float]], float]:
    """Signs that the story is about what the question asks: its concepts' markers and its
    topic words; (None, cover) when the question raises no concept the judge knows."""
    body = normalise(body_text)
    topic = topic_stems(question)
    body_tokens = lowered_tokens(body)
    body_stems = {stem(t) for t in body_tokens}
    cover = len(topic & body_stems) / len(topic) if topic else 0.0
    found = question_concepts(question)
    if not found:
        return None, cover
    matches = sum(len(markers(k).findall(body)) for k in found)
    per_100 = 100.0 * matches / max(1, len(body_tokens))
    x = {"topic:any_marker": float(matches > 0), "topic:markers": 1.0 - 0.5 ** matches,
         "topic:per_100_words": min(1.0, per_100 / 5.0), "topic:cover": cover,
         "topic:short": float(len(body_tokens) < 60)}
    return {k: v for k, v in x.items() if v}, cover


#: The topic features that are signs the story answers the question: the topic model may not
#: weigh them towards "off topic" (scripts/fit_judge.py leaves such a one out).
TOPIC_EVIDENCE = ("topic:any_marker", "topic:markers", "topic:per_100_words", "topic:cover")

#: Without a fitted topic model: off topic when no marker of the question's concepts shows
#: and the story has under half of the question's topic words.
RULE_COVER = 0.5


def on_topic(question: str, body_text: str, model: Optional[Mapping] = None) -> tuple[Optional[bool], float]:
    """Whether the story answers the question (None when the question's topic is not recognised),
    and the share of the question's topic words the story has."""
    x, cover = topic_features(question, body_text)
    if x is None:
        return None, cover
    if model:
        z = float(model.get("bias", 0.0)) + sum(model.get("coef", {}).get(k, 0.0) * v for k, v in x.items())
        p_off = 1.0 / (1.0 + math.exp(-z))
        return p_off < float(model.get("threshold", 0.5)), cover
    return bool(x.get("topic:any_marker")) or cover >= RULE_COVER, cover


def verbatim(question: str, opening: str) -> bool:
    q = tokens(question)
    s = tokens(opening)
    if len(q) < 4 or not s:
        return False
    from difflib import SequenceMatcher  # here: most answers are judged without a question

    m = SequenceMatcher(None, q, s, autojunk=False)
    blocks = m.get_matching_blocks()
    matched = sum(b.size for b in blocks)
    longest = max((b.size for b in blocks), default=0)
    return matched / len(q) >= 0.85 and longest >= 0.6 * len(q)


def answer_checks(text: str, question: Optional[str], cues: Sequence[SentenceCues], texts: Sequence[str],
                  labels: Sequence[Optional[str]], lead: int = 0, topic_model: Optional[Mapping] = None) -> Checks:
    """``lead``: opening fillers ("Sure."), which are never the words a repeat is judged by."""
    by_comp: dict[str, list[int]] = {c: [i for i, lab in enumerate(labels) if lab == c] for c in COMPONENTS}
    word_count = count_words(text)
    played = [i for i in by_comp["repeat"] if i >= lead]
    is_verbatim = bool(question and played and verbatim(question, texts[played[0]]))
    quantified = any(cues[i].n("result.measure") for i in by_comp["result"])
    acts = by_comp["action"]
    act_i = sum(cues[i].n("action.i_past") + cues[i].n("action.i_phrases") for i in acts)
    act_we = sum(cues[i].n("action.we_past") for i in acts)
    i_refs = sum(cues[i].i_count for i in acts)
    we_refs = sum(cues[i].we_count for i in acts)
    if not acts:
        voice = "none"
    elif (act_i == 0 and act_we > 0) or (i_refs == 0 and we_refs > 0):
        voice = "we"
    elif act_we > act_i and we_refs > 2 * i_refs:
        voice = "mixed"
    else:
        voice = "i"
    hyp = sum(c.n("action.hypothetical") for c in cues)
    past = sum(c.n("action.i_past") + c.n("action.we_past") for c in cues)
    hypothetical = hyp >= 2 and hyp >= past
    body = " ".join(t for t, lab in zip(texts, labels) if lab != "repeat")
    topic, overlap = on_topic(question, body, topic_model) if question else (None, 0.0)
    if hypothetical and topic is False:
        # What one would do tells no story to hold against the question, and its words are
        # general ones: the hypothetical advice covers it, the topic is not judged.
        topic = None
    counts = {c: 0 for c in COMPONENTS}
    for c, lab in zip(cues, labels):
        if lab:
            counts[lab] += c.n_words
    total = max(1, word_count)
    return Checks(word_count=word_count, repeat_verbatim=is_verbatim, result_quantified=quantified,
                  action_voice=voice, hypothetical=hypothetical, on_topic=topic, question_overlap=overlap,
                  shares=tuple((c, counts[c] / total) for c in COMPONENTS))
