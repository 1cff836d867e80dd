"""Tokens, stems and sentences for spoken English.

Speech-to-text output is often unpunctuated, lower case and run-on, so
sentence splitting cannot trust full stops alone: long stretches are cut
again at the discourse markers people use between the parts of a story
("so then", "and in the end", "my task was").  Everything here is pure and
fast (a 5,000-word answer splits in a few milliseconds).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Optional

_WORD_RE = re.compile(r"[A-Za-z]+(?:['\u2019][A-Za-z]+)*|\d+(?:[.,]\d+)*%?")

STOPWORDS = frozenset("""
a an the and or but so if then than that this these those there here of to in on at by for with from
as into onto about over under up down out off it its it's is are was were be been being am do does did
doing have has had having i me my mine myself we us our ours you your yours he him his she her they
them their what which who whom whose when where why how all any both each few more most other some such
no nor not only same too very can will just don't should now would could might may must shall i'm
i've i'd i'll we're we've we'd you're you've you'd it'd that's what's let's also really um uh like
yeah okay ok well oh er ah hmm one get got go went make made thing things lot kind sort
""".split())

#: Words that make up the frame of nearly every behavioural question; they say
#: nothing about its topic.
QUESTION_FRAME = frozenset("""
tell describe give walk talk share example time times situation situations instance occasion
experience story stories had ever did do have you your me us about through when where which
how what why something someone somebody particular specific recent once past previous handle handled
""".split())


def tokens(text: str) -> list[str]:
    """Lower-case word tokens; apostrophes normalised; numbers kept."""
    return [t.lower().replace("\u2019", "'") for t in _WORD_RE.findall(text)]


def has_words(text: str) -> bool:
    """Whether ``tokens(text)`` has any."""
    return _WORD_RE.search(text) is not None


def count_words(text: str) -> int:
    """``len(tokens(text))``."""
    return len(_WORD_RE.findall(text))


def lowered_tokens(text: str) -> list[str]:
    """``tokens`` of a text already in lower case with plain apostrophes (as the judge
    matches its cues in): the same list, without lower-casing every token again."""
    return _WORD_RE.findall(text)


_SUFFIXES = (
    ("ational", "ate"), ("ization", "ize"), ("isation", "ize"), ("fulness", "ful"),
    ("iveness", "ive"), ("ousness", "ous"), ("ments", "ment"), ("ingly", ""), ("edly", ""),
    ("ities", "ity"), ("ure", ""), ("ies", "y"), ("ied", "y"), ("ing", ""), ("ed", ""), ("es", ""), ("ly", ""),
    ("s", ""),
)


@lru_cache(maxsize=65536)
def stem(word: str) -> str:
    """A light suffix stripper: enough to match 'owned', 'owner', 'ownership'."""
    w = word.lower().replace("'", "")
    if len(w) <= 3 or w[0].isdigit():
        return w
    for suf, rep in _SUFFIXES:
        if w.endswith(suf) and len(w) - len(suf) >= 3:
            w = w[: -len(suf)] + rep
            break
    for _ in range(2):  # 'ownership' -> 'owner' -> 'own'
        for suf in ("ship", "ment", "ness", "er", "or", "al"):
            if w.endswith(suf) and len(w) - len(suf) >= 3:
                w = w[: -len(suf)]
                break
        else:
            break
    if len(w) > 4 and w[-1] == w[-2] and w[-1] not in "lsz":
        w = w[:-1]  # 'stopp' (stopped) -> 'stop'
    if w.endswith("e") and len(w) > 4:
        w = w[:-1]
    return w


def content_stems(text: str, extra_stop: frozenset[str] = frozenset()) -> list[str]:
    return [stem(t) for t in tokens(text) if t not in STOPWORDS and t not in extra_stop and len(t) > 1]


# --------------------------------------------------------------------------- sentences


@dataclass(frozen=True)
class Piece:
    """A sentence as a character range of the original text."""

    start: int
    end: int


_ABBREV_WORDS = ("e\\.g", "i\\.e", "etc", "vs", "mr", "mrs", "ms", "dr", "prof", "approx", "inc", "ltd", "st", "no")
_ABBREV = re.compile(r"(?:\b(?:" + "|".join(_ABBREV_WORDS) + r")\.$)|(?:\b[A-Z]\.$)", re.IGNORECASE)
_ABBREV_TAIL = max(len(w.replace("\\", "")) for w in _ABBREV_WORDS) + 2  # the full stop and the character before
_END_RE = re.compile(r"[.!?…]+[\"')\]]*(?=\s|$)|\n\s*\n|\n")

#: Places a long run-on stretch may be cut before, strongest first.  Each is a
#: regex matched at a word boundary; a cut never leaves a piece shorter than
#: MIN_WORDS.
_STRONG_BOUNDARIES = [
    r"so yeah", r"yeah so", r"um yeah", r"okay so", r"ok so", r"alright so", r"um so", r"uh so", r"and so", r"so then",
    r"and then", r"after that", r"afterwards", r"as a result", r"in the end", r"at the end of the day",
    r"eventually", r"ultimately", r"long story short", r"the result", r"the outcome", r"the impact",
    r"by the end", r"within (?:a|two|three|four|six|\d+) (?:weeks?|months?|days?)",
    r"my (?:task|job|goal|role|responsibility|assignment|mandate)", r"the (?:goal|task|challenge|problem) was",
    r"i was (?:asked|tasked|assigned|responsible|brought in|supposed|expected)", r"i needed to", r"i had to",
    r"that'?s (?:why|what|how|exactly|really|the kind|the sort)", r"that is (?:why|what|how)",
    r"this is (?:why|what|how)", r"which is (?:why|what|how|exactly)", r"and that'?s", r"so that'?s",
    r"i think (?:that'?s|this|that is)", r"for me", r"i'?m (?:someone|the kind|the type|a person)",
    r"just to (?:clarify|make sure|confirm|check)", r"so you'?re (?:asking|looking)", r"if i understand",
    r"in my (?:previous|last|current|first|old|former) (?:role|job|position|company|team)",
    r"at my (?:previous|last|current|first|old|former|internship|job|company|work)", r"when i was", r"back (?:in|when)",
    r"last (?:year|spring|summer|fall|autumn|winter|quarter|month)", r"a (?:few|couple of) (?:years|months) ago",
    r"first(?:ly)?,? i", r"first of all", r"then i", r"then we", r"next i", r"next,? we", r"finally",
    r"so i", r"so we", r"but", r"because of (?:that|this)", r"anyway", r"i (?:learned|learnt|realized|realised)",
    r"what i learned", r"looking back", r"in hindsight", r"going forward", r"it taught me",
]
_WEAK_BOUNDARIES = [r"i (?!mean\b|guess\b|think\b)", r"we ", r"and ", r"so ", r"which ", r"then "]
_STRONG_PATTERN = r"\b(?:" + "|".join(_STRONG_BOUNDARIES) + r")\b"
_WEAK_PATTERN = r"\b(?:" + "|".join(_WEAK_BOUNDARIES) + r")"


@lru_cache(maxsize=2)
def _boundaries(lower_case: bool) -> tuple[re.Pattern[str], re.Pattern[str]]:
    """The strong and weak boundaries, compiled when first needed, not when the module loads:
    case-insensitive, or (``lower_case``) for ASCII text already lower-cased, where they find
    exactly what the case-insensitive ones find in the original, about three times faster."""
    flags = 0 if lower_case else re.IGNORECASE
    return re.compile(_STRONG_PATTERN, flags), re.compile(_WEAK_PATTERN, flags)


_NOT_SPACE = re.compile(r"\S+")
_ALNUM = re.compile(r"[A-Za-z0-9]")
MAX_WORDS = 32
MIN_WORDS = 6


def _word_starts(text: str, start: int, end: int) -> list[int]:
    return [m.start() for m in _NOT_SPACE.finditer(text, start, end)]


def _split_long(text: str, start: int, end: int, lowered: Optional[str] = None) -> list[Piece]:
    """Cut an over-long stretch at discourse markers (greedy, left to right).  ``lowered``:
    ``text`` lower-cased, when ``text`` is ASCII."""
    if len(text[start:end].split()) <= MAX_WORDS:  # the words _word_starts finds, counted
        return [Piece(start, end)]
    starts = _word_starts(text, start, end)
    n = len(starts)
    index_of = {pos: i for i, pos in enumerate(starts)}
    if lowered is not None:
        (strong_rx, weak_rx), stretch = _boundaries(True), lowered[start:end]
    else:
        (strong_rx, weak_rx), stretch = _boundaries(False), text[start:end]
    strong = set()
    for m in strong_rx.finditer(stretch):
        i = index_of.get(start + m.start())
        if i is not None:
            strong.add(i)
    weak = set()
    for m in weak_rx.finditer(stretch):
        i = index_of.get(start + m.start())
        if i is not None:
            weak.add(i)
    cuts: list[int] = []
    last = 0
    for i in range(3, n - MIN_WORDS + 1):
        since = i - last
        # The opening of an unpunctuated answer is often a short play-back of
        # the question ("okay so conflict on the team um so at my internship…"):
        # let it be its own piece.
        if i in strong and not cuts and start == 0 and 3 <= i <= 16:
            cuts.append(i)
            last = i
        elif i < MIN_WORDS:
            continue
        elif i in strong and since >= MIN_WORDS + 2:
            cuts.append(i)
            last = i
        elif i in weak and since >= 20:
            cuts.append(i)
            last = i
        elif since >= 45:
            # Nothing to cut at for a long way: cut anyway so one giant
            # "sentence" cannot swallow several parts of the story.
            cuts.append(i)
            last = i
    pieces = []
    prev = start
    for i in cuts:
        pos = starts[i]
        pieces.append(Piece(prev, pos))
        prev = pos
    pieces.append(Piece(prev, end))
    return [_trim(text, p) for p in pieces if text[p.start:p.end].strip()]


def _trim(text: str, p: Piece) -> Piece:
    s, e = p.start, p.end
    while s < e and text[s].isspace():
        s += 1
    while e > s and text[e - 1].isspace():
        e -= 1
    return Piece(s, e)


def split_sentences(text: str) -> list[Piece]:
    """Sentences of an answer as character ranges, robust to missing punctuation."""
    pieces: list[Piece] = []
    pos = 0
    n = len(text)
    for m in _END_RE.finditer(text):
        end = m.end()
        # An abbreviation ends where the stretch before the full stop does and is at most
        # _ABBREV_TAIL - 1 characters long: its last characters are enough to look at (one
        # more for the word boundary before it).
        if m.group().startswith(".") and _ABBREV.search(text[pos:m.start() + 1].rstrip()[-_ABBREV_TAIL:]):
            continue
        if text[pos:end].strip():
            pieces.append(_trim(text, Piece(pos, end)))
        pos = end
    if pos < n and text[pos:].strip():
        pieces.append(_trim(text, Piece(pos, n)))
    out: list[Piece] = []
    lowered = text.lower() if text.isascii() else None
    for p in pieces:
        if not _ALNUM.search(text, p.start, p.end):
            # A stray "..." or "?" belongs to the sentence before it.
            if out:
                out[-1] = Piece(out[-1].start, p.end)
            continue
        out.extend(_split_long(text, p.start, p.end, lowered))
    return out


def disk_full(folder, exc: BaseException, *, spare_bytes: int = 64 * 1024) -> bool:
    """Whether a write in ``folder`` failed because its disk is full: the error says so
    (ENOSPC, EDQUOT), or, when the library only says "System error." or "disk I/O
    error", the file system has less than ``spare_bytes`` left."""
    import errno
    import os

    if getattr(exc, "errno", None) in (errno.ENOSPC, errno.EDQUOT) or "disk is full" in str(exc).lower():
        return True
    try:
        st = os.statvfs(folder)
    except OSError:
        return False
    return st.f_bavail * st.f_frsize < spare_bytes


def first_line(exc: BaseException) -> str:
    """An exception's message as one line for the user, or its type's name if it has none.

    The first argument when it is a string (PortAudioError's str() is a tuple),
    else str(exc) (an OSError's "[Errno 2] ...").
    """
    msg = exc.args[0] if exc.args and isinstance(exc.args[0], str) else str(exc)
    text = msg.strip()
    return text.splitlines()[0] if text else type(exc).__name__


# --------------------------------------------------------------------------- is it English?

#: Only English answers are judged (the cue words, the filler rule and the
#: speech model are English).  The check is deliberately simple, so that it
#: can be explained in one sentence: an answer is not English if most of its
#: letters are in a script English does not use (Chinese, Japanese, Korean,
#: Cyrillic, Arabic, ...), or if, in an answer of at least
#: :data:`LANGUAGE_MIN_WORDS` words, the common short words of another
#: language (German "und", "ich", "nicht"...) are at least
#: :data:`OTHER_LANGUAGE_SHARE` of the words and more than twice as frequent
#: as English's ("the", "and", "I"...).  English prose has 35-50 % of such
#: words, a German answer about 1-3 %.
LANGUAGE_MIN_WORDS = 12
OTHER_LANGUAGE_SHARE = 0.15

_ENGLISH_WORDS = frozenset(
    "the and to of a i in was that it we my is for on with as you this but they be at have had so me our he she "
    "what when from not were by about an there or did would could which then our us their them been are do if "
    "because into after than just very".split())

_OTHER_WORDS = {
    "German": "der die das und ich ist nicht ein eine einen zu mit auf den dem es wir sie für von haben hat "
              "sich auch als wie dass aber mein meine meinem bei nach wurde wenn oder uns unser im zum zur "
              "habe wir war waren noch nur sehr",
    "French": "le la les et je est un une des du que qui pas pour dans avec sur nous ce il elle mais ou au aux "
              "mon ma mes était ai été ne se j c qu d l",
    "Spanish": "el la los las y que de en un una es por con para no mi lo se del al como pero yo fue su más era "
               "muy esto esta este",
    "Italian": "il lo la gli le e che di un una è per con non mi si del della al come ma io ho ero sono nel "
               "alla questo questa",
    "Dutch": "de het een en ik is niet van op te met voor dat die we wij zijn was maar ook als bij naar mijn "
             "hebben heb werd",
    "Portuguese": "o a os as e que de em um uma é por com para não eu meu minha do da no na se como mas foi "
                  "era muito isso",
}
_OTHER_SETS = {lang: frozenset(words.split()) for lang, words in _OTHER_WORDS.items()}

#: Unicode name prefixes of scripts that mean "not English", and what to call them.
_SCRIPTS = (
    (("CJK", "HIRAGANA", "KATAKANA", "HANGUL", "IDEOGRAPHIC"), "Chinese, Japanese or Korean"),
    (("CYRILLIC",), "Cyrillic script (Russian, Ukrainian, ...)"),
    (("ARABIC",), "Arabic script"),
    (("HEBREW",), "Hebrew"),
    (("GREEK",), "Greek"),
    (("DEVANAGARI", "BENGALI", "TAMIL", "TELUGU", "GURMUKHI", "GUJARATI", "KANNADA", "MALAYALAM"),
     "an Indic script"),
    (("THAI",), "Thai"),
)


def not_english(text: str) -> Optional[str]:
    """What the text is written in, if it is clearly not English (else None); see :data:`LANGUAGE_MIN_WORDS`."""
    import unicodedata

    letters = 0
    foreign: dict[str, int] = {}
    for ch in text:
        if not ch.isalpha():
            continue
        letters += 1
        if ch < "\u0250":  # Latin, with its accents
            continue
        name = unicodedata.name(ch, "")
        for prefixes, label in _SCRIPTS:
            if name.startswith(prefixes):
                foreign[label] = foreign.get(label, 0) + 1
                break
    if letters and foreign:
        label, n = max(foreign.items(), key=lambda kv: kv[1])
        if n >= 0.3 * letters:
            return label
    words = re.findall(r"[^\W\d_]+", text.lower())
    if len(words) < LANGUAGE_MIN_WORDS:
        return None
    english = sum(w in _ENGLISH_WORDS for w in words) / len(words)
    lang, share = max(((lang, sum(w in s for w in words) / len(words)) for lang, s in _OTHER_SETS.items()),
                      key=lambda kv: kv[1])
    if share >= OTHER_LANGUAGE_SHARE and share > 2 * english:
        return lang
    return None
