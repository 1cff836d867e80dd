"""The shared first half of judging: an answer's text cut into sentences, each with its features.

The analyser and the fitting script both go through ``featurise``, so the
weights are fitted on exactly what the analyser will see, sentence cuts of
unpunctuated speech included.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Optional

from starcoach.catalogue.banks import Company
from starcoach.judge.cues import Family, families, family, normalise
from starcoach.judge.features import (
    BASICS,
    OPENING_SENTENCES,
    AnswerCues,
    SentenceCues,
    closing_start,
    feature_values,
    sentence_cues,
)
from starcoach.judge.lexicon import lexicon
from starcoach.judge.scan import Scanner
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
    #: per sentence: may it be a play-back of the question at all (``could_repeat``)
    repeat_ok: tuple[bool, ...] = ()
    #: per sentence: may it be a link back at all (``could_link``)
    link_ok: tuple[bool, ...] = ()


def scanned(fams: tuple[Family, ...]) -> list[tuple[str, "str | re.Pattern[str]"]]:
    """What ``scanner`` counts: the pronoun and tense counts, and the families not anchored to a
    sentence's start (as their pattern strings: each is compiled when a sentence needs it)."""
    return list(BASICS.items()) + [(f.id, f.pattern) for f in fams if not f.anchored]


def scanned_alternatives(fams: tuple[Family, ...]) -> list[Optional[tuple[str, ...]]]:
    """Per pattern of ``scanned``, its alternatives (``Family.alternatives``; None: none)."""
    return [None] * len(BASICS) + [f.alternatives or None for f in fams if not f.anchored]


def read_patterns(fams: tuple[Family, ...]) -> list[str]:
    """Every pattern string whose reading the scanner of ``fams`` asks for (``readings.json`` holds them)."""
    out = [rx if isinstance(rx, str) else rx.pattern for _, rx in scanned(fams)]
    for alts in scanned_alternatives(fams):
        out.extend(alts or ())
    return out


@lru_cache(maxsize=4)
def scanner(fams: tuple[Family, ...]) -> Scanner:
    """The pronoun and tense counts and the unanchored families, for ``_found``."""
    return Scanner(scanned(fams), scanned_alternatives(fams))


def _found(text: str, pieces: list[Piece], fams, opening_end: int, closing_from: int) -> list[dict[str, int]]:
    """Matches of every unanchored family (and the pronoun and tense counts) in each
    sentence.  The answer is lower-cased once and each pattern searched within each
    sentence's bounds (``pos``/``endpos``: a word boundary or a look-ahead at the end
    sees the sentence alone), which saves a copy of every sentence per family; the
    scanner skips the sentences a pattern cannot match in."""
    sc = scanner(tuple(fams))
    scope = {f.id: f.scope for f in fams}
    everywhere = 0
    opening = closing = 0
    for k, key in enumerate(sc.keys):
        bit = 1 << k
        s = scope.get(key, "any")
        everywhere |= bit if s == "any" else 0
        opening |= bit if s == "opening" else 0
        closing |= bit if s == "closing" else 0
    norm = normalise(text)
    same = len(norm) == len(text)  # lower-casing can change the length: then offsets would not line up
    out: list[dict[str, int]] = []
    for i, p in enumerate(pieces):
        allowed = everywhere | (opening if i < opening_end else 0) | (closing if i >= closing_from else 0)
        if same:
            out.append(sc.counts(norm, p.start, p.end, allowed))
        else:
            t = normalise(text[p.start:p.end])
            out.append(sc.counts(t, 0, len(t), allowed))
    return out


_WORD_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9'-]*")
#: Words after which the story proper starts once the question has been played back:
#: a copula ("One project I led was ...": the copula stays with the play-back) or a
#: preposition or conjunction that brings in the setting ("... patience with customers as
#: the only one on the till ...", "... under pressure when our vendor ...").
_ECHO_COPULA = frozenset({"was", "is", "were"})
_ECHO_SETTING = frozenset({"as", "when", "while", "during", "at"})
#: The play-back must end within ECHO_REACH words of the last question word it uses,
#: take at most ECHO_MAX_WORDS words, and leave at least ECHO_MIN_REST for the story.
ECHO_REACH, ECHO_MAX_WORDS, ECHO_MIN_REST = 4, 14, 4

#: "My way of dealing with X is ..." states the speaker's method; it does not play the question back.
_OWN_METHOD = re.compile(r"^\W*(?:my|our) (?:own |usual |general |main )?(?:way|approach|method|process|strategy|"
                         r"philosophy|rule|system|framework|routine|style)\b")
#: After a noun-phrase play-back and a comma or dash, the turn to the story:
#: "Pushing back on a senior colleague, the example I'd pick is ...", "..., sure, ...".
_ECHO_TURN = re.compile(r"\s*(?:,|[-\u2013\u2014]+)\s*(?=(?:the|one|an?) (?:example|story|time|case|one)s? "
                        r"(?:i'?d|i would|i'?ll|i can|that)\b|(?:sure|yes|yeah|okay|ok|absolutely|definitely|"
                        r"of course)\b|i (?:have|can|remember|think|'?ve|'?d)\b)")


def echo_split(text: str, p: Piece, q_topic: frozenset[str]) -> list[Piece]:
    """The opening sentence cut where a play-back of the question ends and the story
    begins: "The hardest project I did recently was | an app for ...".  Published
    answers often fold both into one sentence, and a sentence carries one label.
    Before a copula the lead needs one of the question's topic words as its subject
    ("The project I am proudest of was"); before "as", "when", "at" ... it needs two
    ("I kept my patience with customers | as the only one on the till ..."); a noun-phrase
    opening is cut at the comma or dash that turns to the story ("Pushing back on
    a senior colleague, | the example I'd pick is ..."); a statement of the
    speaker's own method ("My way of dealing with X is") is not cut; otherwise the
    sentence stays whole."""
    words = list(_WORD_RE.finditer(text, p.start, p.end))
    if len(words) < ECHO_MIN_REST + 3 or not q_topic:
        return [p]
    sentence = normalise(text[p.start:p.end])
    if _OWN_METHOD.match(sentence):
        return [p]
    if family("repeat.fragment").regex.match(sentence) or family("repeat.interjection").regex.match(sentence):
        turn = _ECHO_TURN.search(sentence)
        if turn and turn.start() > 0:
            cut = p.start + turn.start()
            rest = [m for m in words if m.start() >= p.start + turn.end()]
            lead = [m for m in words if m.end() <= cut]
            if lead and len(lead) <= ECHO_MAX_WORDS and len(rest) >= ECHO_MIN_REST:
                return [Piece(p.start, cut), Piece(rest[0].start(), p.end)]
    hits = [i for i, m in enumerate(words[:ECHO_MAX_WORDS]) if stem(m.group().lower()) in q_topic]
    if not hits:
        return [p]
    distinct = len({stem(words[i].group().lower()) for i in hits})
    last = hits[-1]
    for j in range(last + 1, min(len(words), last + 1 + ECHO_REACH)):
        w = words[j].group().lower()
        if w in _ECHO_COPULA:
            cut_word, needed = j + 1, 1
        elif w in _ECHO_SETTING:
            cut_word, needed = j, 2
        else:
            continue
        if distinct < needed or cut_word > ECHO_MAX_WORDS or len(words) - cut_word < ECHO_MIN_REST:
            return [p]
        return [Piece(p.start, words[cut_word - 1].end()), Piece(words[cut_word].start(), p.end)]
    return [p]


def featurise(text: str, question: Optional[str], company: Optional[Company]) -> Featurised:
    pieces = split_sentences(text)
    q_stems = frozenset(content_stems(question)) if question else frozenset()
    q_topic = frozenset(topic_stems(question)) if question else frozenset()
    q_seq = content_stems(question) if question else []
    q_pairs = frozenset(zip(q_seq, q_seq[1:]))
    lex = lexicon(company) if company else None
    fams = families()
    n = len(pieces)
    lead = 0
    while lead < n and _is_filler(text[pieces[lead].start:pieces[lead].end]):
        lead += 1
    if lead < n and q_topic:
        # Published answers often fold the play-back into the first sentence of the story.
        pieces[lead:lead + 1] = echo_split(text, pieces[lead], q_topic)
        n = len(pieces)
    closing_from = closing_start(n)
    opening_end = min(n, lead + OPENING_SENTENCES)
    found = _found(text, pieces, fams, opening_end, closing_from)
    cues = [sentence_cues(text[p.start:p.end], q_stems, q_topic, lex, fams=fams, found=found[i], q_pairs=q_pairs,
                          opening=i < opening_end, closing=i >= closing_from)
            for i, p in enumerate(pieces)]
    whole = AnswerCues.of(cues)
    feats = tuple(feature_values(c, i, n, lead, lex is not None, whole, has_question=bool(question))
                  for i, c in enumerate(cues))
    # A play-back opens the answer: it may follow the opening fillers or another sentence that
    # could be part of it, never a sentence of the story ("My approach has a few steps." after
    # a first sentence that sets the scene is not the question played back).
    ok: list[bool] = []
    other = other_question(question) if question else None
    for i, c in enumerate(cues):
        ok.append(could_repeat(c, bool(question)) and (i <= lead or ok[i - 1])
                  and not (other and other(text[pieces[i].start:pieces[i].end], c)))
    link_ok = tuple(could_link(c) and not (company and other_company(text[p.start:p.end], company))
                    for p, c in zip(pieces, cues))
    return Featurised(tuple(pieces), tuple(cues), feats, lead, tuple(ok), link_ok)


def other_question(question: str):
    """A test for a sentence that plays back a different question: it raises one of the
    question concepts the judge knows ("a time I disagreed with my manager"), none of those
    this question raises ("Tell me about a time you failed."), and none of its topic words.
    A paraphrase of this question ("something I got wrong") raises its concept or none."""
    from starcoach.judge.checks import question_concepts  # checks builds on this module

    asked = set(question_concepts(question))
    if not asked:
        return None

    def other(sentence: str, c: SentenceCues) -> bool:
        if c.q_cover > 0:
            return False
        raised = set(question_concepts(sentence))
        return bool(raised) and not raised & asked

    return other


#: How much of the question a sentence must share to pass for a play-back without framing words.
REPEAT_OVERLAP, REPEAT_COVER = 0.2, 0.3


def could_repeat(c: SentenceCues, has_question: bool) -> bool:
    """A play-back looks like one: framing words ("you'd like to hear about", "a time
    when I"), a noun-phrase opening, a dash or question mark, or the question's own
    words.  "I rebuilt the pipeline." opening an answer is the story, not a repeat,
    and a general claim with none of the framing is not one either."""
    if any(c.n(k) for k in REPEAT_FAMILIES):
        return True
    if c.n("general.claim"):
        # "I've handled plenty of angry callers over the years." shares the question's
        # words, but says something general about the speaker, not the question back.
        return False
    # Sharing only the frame every question has ("a time") is not playing it back.
    return has_question and c.q_cover > 0 and (c.q_overlap >= REPEAT_OVERLAP or c.q_cover >= REPEAT_COVER)


def could_link(c: SentenceCues) -> bool:
    """A link back ties the story to the hiring company: its name or values, "your
    team", "this role", or a phrase that ties it to how the speaker works ("that's
    exactly why", "what I'd bring").  A closing with none of them is a lesson or a
    remark ("He thanked me, and it brought the team closer."), never a link back; nor is
    a lesson ("What I learned is that ambiguity is normal") that names no company and ties
    nothing to the speaker's work, whatever value words it shares."""
    anchored = bool(c.n("link.company") or c.company_named or c.n("link.tie_phrase"))
    if c.n("lesson") and not anchored:
        return False
    return bool(anchored or c.n("link.values_words") or c.value_best >= 0.6)


@lru_cache(maxsize=1)
def _company_names() -> tuple[tuple[str, str], ...]:
    """(id, name) of every company profile shipped, read by the catalogue's own loader (whose cache
    the command has usually filled already)."""
    from starcoach.catalogue.banks import shipped_companies

    return tuple((c.id, c.name) for c in shipped_companies())


@lru_cache(maxsize=32)
def _others(company_id: str, company_name: str) -> tuple[re.Pattern[str], re.Pattern[str], dict[str, str]]:
    """(the hiring company's name, any other shipped company's name, name as said -> name)."""
    names = {n: n for cid, n in _company_names() if cid != company_id}
    alternatives = "|".join(re.escape(n) for n in sorted(names, key=len, reverse=True)) or "(?!x)x"
    return (re.compile(r"\b" + re.escape(company_name) + r"\b", re.IGNORECASE),
            re.compile(r"\b(" + alternatives + r")(?:'s)?\b"), names)


def other_company(sentence: str, company: Company) -> Optional[str]:
    """The name of another company the sentence names ("That's really Amazon's Bias for Action")
    when it does not name ``company``, the one hiring: a closing tied to another company's values
    is no link back to this one's.  Names as written (capitalised), so "a stripe" is none."""
    own, others, names = _others(company.id, company.name)
    m = others.search(sentence)
    if m is None or own.search(sentence):
        return None
    return names[m.group(1)]


REPEAT_FAMILIES = ("repeat.frame", "repeat.fragment", "repeat.dash_or_question", "repeat.interjection",
                   "repeat.acknowledge")
