"""How an answer was spoken: pace, filler words, hedges and pauses.

This stage is pure: it reads a :class:`~starcoach.model.Transcript` (words
with times, speech spans from the VAD) and the sentences the structure
stage labelled, and returns a :class:`~starcoach.model.Delivery`.  No audio,
no model, so every rule here is unit-tested on plain sentences
(tests/test_delivery.py).

The filler rule is part of the public contract (shared/contract.md):

* ``um``, ``uh``, ``er``, ``ah``, ``hmm`` always count.  Whisper spells them
  in several ways ("Umm", "Uhh", "Hm", "mm"); each is reported in the
  contract's lower-case form.
* ``like`` counts only when it is a filler, never as a verb ("I like",
  "would like"), a preposition ("like this one", "just like") or after a
  verb of seeming ("looks like", "felt like").  The decision uses the words
  around it and the commas Whisper writes, see :func:`starcoach.speech.like_rule.is_filler_like`.
* ``you know``, ``I mean``, ``kind of``, ``sort of``, ``basically``,
  ``actually``, ``literally`` count as fillers, but not where they are plain
  grammar: "do you know", "the kind of ownership", "I mean it".

Hedges ("I think", "maybe", "probably", ...) are reported separately.
``kind of`` and ``sort of`` are *not* hedges here even though they often hedge:
the contract counts them as fillers, and counting one phrase in both lists
would penalise it twice in the advice.
"""

from __future__ import annotations

import re
from typing import Optional, Sequence

from starcoach.model import COMPONENTS, Delivery, Filler, Pause, Sentence, Transcript, Word
from starcoach.speech.like_rule import EDGE_PUNCT, Tok, is_filler_like, tokens
from starcoach.speech.pauses import find_pauses

# --------------------------------------------------------------------------- hesitation sounds

#: Spelling patterns -> the contract's form.  Whisper writes the same sound
#: many ways; "erm" is the British spelling of "um".
_HESITATIONS: tuple[tuple[re.Pattern, str], ...] = tuple(
    (re.compile(p), form)
    for p, form in (
        (r"^u+h*m+$", "um"),       # um, umm, uhm
        (r"^e+r+m+$", "um"),       # erm
        (r"^u+h+$", "uh"),         # uh, uhh
        (r"^e+r+$", "er"),         # er, err
        (r"^a+h+$", "ah"),         # ah, ahh, aah
        (r"^h+m+$", "hmm"),        # hm, hmm, hmmm
        (r"^m{2,}$", "hmm"),       # mm, mmm
        (r"^m+-?h+m+$", "hmm"),    # mm-hmm, mhm
    )
)


def hesitation_form(word: str) -> Optional[str]:
    """The contract's form ("um", "uh", "er", "ah", "hmm") of a hesitation sound, else None.

    ``word`` may carry case and punctuation as Whisper writes it ("Umm,").
    """
    norm = word.strip().strip(EDGE_PUNCT).lower()
    for pattern, form in _HESITATIONS:
        if pattern.match(norm):
            return form
    return None


# --------------------------------------------------------------------------- phrases

_DETERMINERS = frozenset(
    """
    a an the this that these those what which whatever any some every each one no same other another
    different right wrong new first only my your his her our their its particular certain specific
    similar exact best worst main all what's that's
    """.split()
)
_YOU_KNOW_NOT_AFTER = frozenset(
    """
    do did does don't didn't doesn't if whether as than would will could should might may can let i'd
    how what that sure when where who why now already
    """.split()
)
_YOU_KNOW_NOT_BEFORE = frozenset(
    "how what who whom where when why whether if about him her them me us yourself exactly everything "
    "everyone".split()
)


def _phrase_ok(phrase: str, toks: list[Tok], i: int) -> bool:
    """Context exceptions for the multi-word fillers (tokens i, i+1 form the phrase)."""
    prev = toks[i - 1] if i > 0 else None
    last = toks[i + 1]
    after = toks[i + 2] if i + 2 < len(toks) else None
    joined_to_prev = prev is not None and not prev.pause_after
    if toks[i].pause_after:
        return False  # "you, know" is two words, not the phrase
    if phrase in ("kind of", "sort of"):
        # "the kind of ownership", "what sort of team": a noun, not a filler.
        return not (joined_to_prev and prev.norm in _DETERMINERS)
    if phrase == "you know":
        if joined_to_prev and prev.norm in _YOU_KNOW_NOT_AFTER:
            return False  # "do you know", "as you know", "let you know"
        if not last.pause_after and after is not None and after.norm in _YOU_KNOW_NOT_BEFORE:
            return False  # "you know how it is", "you know what I did", "you know him"
        return True
    if phrase == "i mean":
        if joined_to_prev and prev.norm in {"what", "do", "did", "don't", "didn't"}:
            return False  # "what I mean is", "did I mean"
        if not last.pause_after and after is not None and after.norm in {"it", "to", "what"}:
            return False  # "I mean it", "I mean to say"
        return True
    return True


#: Two-word fillers, in their contract form (lower case).
_PHRASE_FILLERS = {("you", "know"): "you know", ("i", "mean"): "i mean",
                   ("kind", "of"): "kind of", ("sort", "of"): "sort of",
                   ("kinda",): "kind of", ("sorta",): "sort of"}
_WORD_FILLERS = frozenset({"basically", "actually", "literally"})


def _match_fillers(words: Sequence[Word]) -> list[tuple[str, list[int], Optional[float]]]:
    """(form, word indices, start_s) for every filler, in order."""
    toks = tokens(words)
    found: list[tuple[str, list[int], Optional[float]]] = []
    i = 0
    while i < len(toks):
        t = toks[i]
        # Two-word phrases first, so "I mean" is not read as "I" + something.
        if i + 1 < len(toks):
            form = _PHRASE_FILLERS.get((t.norm, toks[i + 1].norm))
            if form and _phrase_ok(form, toks, i):
                found.append((form, [t.index, toks[i + 1].index], t.start_s))
                i += 2
                continue
        form = _PHRASE_FILLERS.get((t.norm,))
        if form:
            found.append((form, [t.index], t.start_s))
        elif (h := hesitation_form(t.norm)) is not None:
            found.append((h, [t.index], t.start_s))
        elif t.norm in _WORD_FILLERS:
            found.append((t.norm, [t.index], t.start_s))
        elif t.norm == "like" and is_filler_like(toks, i):
            found.append(("like", [t.index], t.start_s))
        i += 1
    return found


def find_fillers(words: Sequence[Word]) -> tuple[Filler, ...]:
    """Every filler word or phrase (contract rule), with the start of its first word."""
    return tuple(Filler(word=form, start_s=start) for form, _, start in _match_fillers(words))


def filler_word_indices(words: Sequence[Word]) -> frozenset[int]:
    """Indices into ``words`` of the words that make up fillers (for "content" text)."""
    return frozenset(k for _, idx, _ in _match_fillers(words) for k in idx)


# --------------------------------------------------------------------------- hedges

#: Hedge phrases, longest first so "i would say" wins over shorter matches.
_HEDGES: tuple[tuple[str, ...], ...] = tuple(
    sorted(
        (tuple(h.split()) for h in (
            "i guess", "i think", "i suppose", "i believe", "i feel like", "i'd say", "i would say",
            "maybe", "perhaps", "probably", "possibly", "somewhat", "more or less", "to some extent",
            "i'm not sure", "not sure",
        )),
        key=len, reverse=True,
    )
)
#: "I think about", "I believe in": the verb, not a hedge.
_HEDGE_NOT_BEFORE = {("i", "think"): {"about", "of"}, ("i", "believe"): {"in"}}


def find_hedges(words: Sequence[Word]) -> tuple[Filler, ...]:
    """Softening phrases ("I think", "maybe", ...), reported apart from fillers.

    ``kind of`` / ``sort of`` are fillers by contract and deliberately not
    repeated here (see the module docstring).
    """
    toks = tokens(words)
    found: list[Filler] = []
    i = 0
    while i < len(toks):
        for hedge in _HEDGES:
            n = len(hedge)
            if i + n > len(toks) or tuple(t.norm for t in toks[i:i + n]) != hedge:
                continue
            if any(t.pause_after for t in toks[i:i + n - 1]):
                continue  # punctuation inside: not one phrase
            after = toks[i + n] if i + n < len(toks) else None
            blocked = _HEDGE_NOT_BEFORE.get(hedge, ())
            if after is not None and not toks[i + n - 1].pause_after and after.norm in blocked:
                continue
            found.append(Filler(word=" ".join(hedge), start_s=toks[i].start_s))
            i += n - 1
            break
        i += 1
    return tuple(found)


# --------------------------------------------------------------------------- delivery


def _spoken(words: Sequence[Word]) -> list[Word]:
    """Words that are words (Whisper can emit bare punctuation)."""
    return [w for w in words if any(ch.isalnum() for ch in w.text)]


def _pauses_from_word_gaps(words: Sequence[Word], min_pause_s: float = 1.0) -> tuple[Pause, ...]:
    # Only when there are no VAD spans.  Whisper stretches words over
    # silences, so this under-reports; better than claiming there were none.
    return tuple(
        Pause(a.end_s, b.start_s - a.end_s)
        for a, b in zip(words, words[1:])
        if b.start_s - a.end_s >= min_pause_s
    )


def component_seconds(sentences: Sequence[Sentence]) -> tuple[tuple[str, float], ...]:
    """Seconds spoken in each component (all six, in order; 0.0 when absent)."""
    totals = {name: 0.0 for name in COMPONENTS}
    for s in sentences:
        if s.component in totals and s.start_s is not None and s.end_s is not None:
            totals[s.component] += max(0.0, s.end_s - s.start_s)
    return tuple(totals.items())


def compute_delivery(transcript: Transcript, sentences: Sequence[Sentence]) -> Delivery:
    """Pace, fillers, hedges, pauses and time per component for one spoken answer."""
    words = _spoken(transcript.words)
    fillers = find_fillers(transcript.words)
    hedges = find_hedges(transcript.words)
    if not words:
        return Delivery(wpm=0.0, speaking_s=0.0, fillers=fillers, pauses=(), hedges=hedges,
                        component_s=component_seconds(sentences))
    first_s, last_s = words[0].start_s, words[-1].end_s
    speaking_s = max(0.0, last_s - first_s)
    wpm = len(words) / (speaking_s / 60.0) if speaking_s > 0 else 0.0
    if transcript.speech:
        pauses = find_pauses(transcript.speech, first_s, last_s)
    else:
        pauses = _pauses_from_word_gaps(words)
    return Delivery(
        wpm=wpm,
        speaking_s=speaking_s,
        fillers=fillers,
        pauses=pauses,
        hedges=hedges,
        component_s=component_seconds(sentences),
    )
