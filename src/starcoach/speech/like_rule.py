"""The filler "like": told from the verb, the preposition and the simile by the words around it.

Also the tokens every filler rule reads (``Tok``, ``tokens``).  Pure, like the
delivery stage that uses it (:mod:`starcoach.speech.delivery`):
words in, a decision out.  The commas Whisper writes carry much of the signal,
but it often leaves them out ("the build was like broken"), so the words on
either side decide when there are none.  Measured on spoken answers by
``benchmarks/like_fillers.py`` (docs/audio.md).
"""

from __future__ import annotations

import re
from typing import Sequence

from starcoach.model import Word

# --------------------------------------------------------------------------- tokens

EDGE_PUNCT = "\"'“”‘’()[]{}.,;:!?…-–—*"
#: Punctuation after a word that ends a phrase (Whisper marks hesitations with it).
_BREAK_CHARS = set(",.;:!?…-–—")


class Tok:
    """A word normalised for rule matching, with the punctuation around it."""

    __slots__ = ("norm", "capital", "pause_after", "start_s", "index")

    def __init__(self, word: Word, index: int):
        raw = word.text.strip().replace("’", "'")
        bare = raw.strip(EDGE_PUNCT)
        self.norm = bare.lower()
        #: Written with a capital (a name, "Jira"), other than "I" and its forms.
        self.capital = bare[:1].isupper() and self.norm not in {"i", "i'm", "i'd", "i've", "i'll"}
        #: True when the word is followed by a comma, full stop, dash ...
        self.pause_after = bool(raw) and raw[-1] in _BREAK_CHARS
        self.start_s = word.start_s
        self.index = index


def tokens(words: Sequence[Word]) -> list[Tok]:
    toks = []
    for k, w in enumerate(words):
        t = Tok(w, k)
        if t.norm:
            toks.append(t)
        elif toks and w.text.strip():
            # A lone punctuation "word" (Whisper sometimes emits "..."): attach it.
            toks[-1].pause_after = True
    return toks


# --------------------------------------------------------------------------- "like"

#: "like" right after these is the verb or a preposition, not a filler.
_LIKE_NOT_AFTER = frozenset(
    """
    i you we they i'd you'd we'd they'd he'd she'd would wouldn't 'd i'll we'll they'll you'll will
    to do don't does doesn't did didn't not never also really just always still truly genuinely
    might may could should must can can't cannot
    look looks looked looking seem seems seemed seeming sound sounds sounded sounding
    feel feels felt feeling taste tastes tasted smell smells smelled act acts acted acting
    something anything nothing everything someone anyone somebody anybody nobody everyone
    much more less most least exactly very quite pretty rather bit lot lots
    things thing stuff ones people companies teams tools projects places ones others
    of
    """.split()
)

#: After a subject pronoun, "like" is the verb ("we like it") unless the next
#: word shows a verb already ("we like rebuilt it").
_SUBJECTS = frozenset("i you we they".split())

#: Forms of "be": "it was like a maze" is a simile, "he was like, no" a quotative.
_BE = frozenset("is was were are am be been being it's that's he's she's they're we're i'm".split())
#: After "be like", these start what it is compared with: "it was like a maze", "like my first job".
_COMPARED = frozenset(
    """
    a an the my your his her our their its this that these those nothing something anything someone
    somebody anyone everyone everything me him us them what one
    """.split()
)
#: "it was like working in the dark" compares; "the tickets were like piling up" is a filler.
_IT_BE = frozenset("it's that's this's".split())
_IT = frozenset("it that this".split())
#: Verbs of having and getting: "we had like no tests", "we got like zero replies".
_HAVE = frozenset("have has had got get gets took take spent spend saw see lost".split())

_NUMBER_WORDS = frozenset(
    """
    one two three four five six seven eight nine ten eleven twelve fifteen twenty thirty forty fifty
    sixty seventy eighty ninety hundred thousand million half a-third dozen several
    """.split()
)
#: Adverbs and intensifiers: "like" before them is never a verb or a preposition.
_ADVERBS_AFTER_FILLER = frozenset(
    "super so really totally very completely basically literally actually just kind sort "
    "honestly seriously crazy insanely".split()
)
#: Common irregular past tenses and participles (plus anything ending in -ed) mark "we like built it",
#: "the build was like broken".
_PAST_TENSES = frozenset(
    """
    was were had did went made took got built rebuilt wrote ran said told found thought knew saw spent
    sent led set put kept began broke chose gave brought came left lost met paid sold stood taught
    understood won stuck
    broken done gone taken given written chosen forgotten hidden shown known grown thrown driven
    frozen stolen fallen spoken begun beaten eaten
    """.split()
)
#: Adverbs that may stand between a subject and a verb: "the schema just like changed".
_ADVERBS_BEFORE_VERB = frozenset("just really also never still always".split())
_DEMONSTRATIVES = frozenset("this that these those".split())
_FILLERS_BEFORE = frozenset("um uh er ah hmm and but so because then".split())


def _is_number(norm: str) -> bool:
    return norm in _NUMBER_WORDS or bool(re.match(r"^\$?\d", norm))


def _is_past(norm: str) -> bool:
    return norm in _PAST_TENSES or (len(norm) > 4 and norm.endswith("ed") and not norm.endswith("eed"))


def is_filler_like(toks: Sequence[Tok], i: int) -> bool:
    """Is ``toks[i]`` (a "like") a filler?  Context rules, most specific first.

    Whisper's commas carry much of the signal: ", like," is almost always a
    filler, and the verb and preposition uses are almost never set off.
    """
    this = toks[i]
    prev = toks[i - 1] if i > 0 else None
    nxt = toks[i + 1] if i + 1 < len(toks) else None
    after_next = toks[i + 2].norm if i + 2 < len(toks) else None
    joined_to_prev = prev is not None and not prev.pause_after
    next_norm = nxt.norm if nxt is not None else None

    # 1. Grammar that owns the word: "would like", "looks like", "something like".
    if joined_to_prev and prev.norm in _LIKE_NOT_AFTER:
        # ... except "I like rebuilt it" / "it just like changed": a verb
        # follows, so "like" is neither the verb nor a preposition.
        if (prev.norm in _SUBJECTS or prev.norm in _ADVERBS_BEFORE_VERB) and next_norm is not None \
                and not this.pause_after and _is_past(next_norm):
            return True
        return False
    # 2. Set off by punctuation after it: "like, we rebuilt it", "and, like, ten days".
    if this.pause_after:
        return True
    if next_norm is None:
        return False  # "... something I'd like" / a trailing "like": no evidence
    # 3. Preposition before a demonstrative: "like this one", "like that".
    if next_norm in _DEMONSTRATIVES:
        return False
    # 4. Approximation: "like ten days", "like 40%", "like half" -- but "like
    #    one of those days" compares.
    if _is_number(next_norm) and not (after_next == "of" and not nxt.pause_after):
        return True
    # 5. Before an adverb or intensifier: "it was like super slow".
    if next_norm in _ADVERBS_AFTER_FILLER:
        return True
    # 5b. After "be" (Whisper often drops the commas of "was, like, broken"): a simile
    #     goes on with what is compared ("was like a maze", "was like Jira"), and
    #     "it was like working in the dark" compares; anything else ("was like
    #     broken", "were like piling up", "was like real slow", "she was like we
    #     cannot") is the filler.
    if joined_to_prev and prev.norm in _BE:
        if next_norm in _COMPARED or nxt.capital:
            return False
        if next_norm.endswith("ing"):
            before = toks[i - 2].norm if i >= 2 else None
            return not (prev.norm in _IT_BE or before in _IT)
        return True
    # 5c. An amount after having or getting: "we had like no tests".
    if joined_to_prev and prev.norm in _HAVE and next_norm in {"no", "zero", "none"}:
        return True
    # 6. Before a verb in the past tense: "and like rebuilt the whole thing".
    if _is_past(next_norm):
        return True
    # 7. After a hesitation or a conjunction, before a subject: "um like we", "and like they".
    if prev is not None and prev.norm in _FILLERS_BEFORE and next_norm in {"i", "we", "they", "he", "she"}:
        return True
    # 8. After a comma and before a subject: "..., like we had no tests".
    if prev is not None and prev.pause_after and next_norm in {"we", "they", "he", "she"}:
        return True
    # Everything else ("like a maze", "tools like Jira", "like I said") is grammar.
    return False
