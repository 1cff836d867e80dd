"""The shared first half of judging: an answer's text cut into sentences, each with its features.

The analyser and the fitting script both go through ``featurise``, so the
weights are fitted on exactly what the analyser will see, sentence cuts of
unpunctuated speech included.
"""

from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass
from typing import Optional

from starcoach.banks import Company
from starcoach.judge.cues import families, family, normalise
from starcoach.judge.features import (
    BASICS,
    CLOSING_SENTENCES,
    CLOSING_SHARE,
    OPENING_SENTENCES,
    AnswerCues,
    SentenceCues,
    feature_values,
    sentence_cues,
)
from starcoach.judge.lexicon import lexicon
from starcoach.text import QUESTION_FRAME, Piece, content_stems, split_sentences, stem, tokens

_FRAME_STEMS = frozenset(stem(w) for w in QUESTION_FRAME)


def _is_filler(sentence: str) -> bool:
    """An opening "Sure." or "Okay, so.": the answer proper starts after it."""
    t = normalise(sentence)
    return bool(family("none.filler_sentence").count(t)) or len(tokens(t)) <= 1


def topic_stems(question: str) -> set[str]:
    """A question's content words less the frame every behavioural question shares."""
    return {s for s in content_stems(question) if s not in _FRAME_STEMS}


@dataclass(frozen=True)
class Featurised:
    pieces: tuple[Piece, ...]
    cues: tuple[SentenceCues, ...]
    features: tuple[dict[str, float], ...]
    lead: int  # opening filler sentences ("Sure.", "Okay.")


def _found(text: str, pieces: list[Piece], fams, opening_end: int, closing_from: int) -> list[dict[str, int]]:
    """Matches of every unanchored family (and the pronoun and tense counts) in each
    sentence, found in one pass over the whole answer: one regular-expression call
    per family instead of one per family and sentence, which halves the time on
    long transcripts.  A match must lie inside one sentence."""
    norm = normalise(text)
    out: list[dict[str, int]] = [{} for _ in pieces]
    if len(norm) != len(text) or not pieces:  # lower-casing changed the length: offsets would not line up
        return [{k: len(rx.findall(normalise(text[p.start:p.end]))) for k, rx in BASICS.items()}
                | {f.id: f.count(normalise(text[p.start:p.end])) for f in fams if not f.anchored} for p in pieces]
    starts = [p.start for p in pieces]
    lo_char = {"opening": 0, "closing": pieces[closing_from].start if closing_from < len(pieces) else len(text),
               "any": 0}
    hi_char = {"opening": pieces[opening_end - 1].end if opening_end > 0 else 0, "closing": len(text),
               "any": len(text)}
    jobs = [(k, rx, "any") for k, rx in BASICS.items()] + [(f.id, f.regex, f.scope) for f in fams if not f.anchored]
    for key, rx, scope in jobs:
        for m in rx.finditer(norm, lo_char[scope], hi_char[scope]):
            i = bisect_right(starts, m.start()) - 1
            if i >= 0 and m.end() <= pieces[i].end:
                d = out[i]
                d[key] = d.get(key, 0) + 1
    return out


def featurise(text: str, question: Optional[str], company: Optional[Company]) -> Featurised:
    pieces = split_sentences(text)
    q_stems = frozenset(content_stems(question)) if question else frozenset()
    q_topic = frozenset(topic_stems(question)) if question else frozenset()
    lex = lexicon(company) if company else None
    fams = families()
    n = len(pieces)
    lead = 0
    while lead < n and _is_filler(text[pieces[lead].start:pieces[lead].end]):
        lead += 1
    closing_from = min(i for i in range(n + 1) if i >= n - CLOSING_SENTENCES or i >= CLOSING_SHARE * (n - 1))
    opening_end = min(n, lead + OPENING_SENTENCES)
    found = _found(text, pieces, fams, opening_end, closing_from)
    cues = [sentence_cues(text[p.start:p.end], q_stems, q_topic, lex, fams=fams, found=found[i],
                          opening=i < opening_end, closing=i >= closing_from)
            for i, p in enumerate(pieces)]
    whole = AnswerCues.of(cues)
    feats = tuple(feature_values(c, i, n, lead, lex is not None, whole) for i, c in enumerate(cues))
    return Featurised(tuple(pieces), tuple(cues), feats, lead)
