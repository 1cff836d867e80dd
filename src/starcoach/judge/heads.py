"""Where a cue pattern's matches can begin, read from the pattern itself.

Most cue families match in few sentences, and searching a sentence with a
regular expression costs about as much whether it matches or not.  So each
pattern is read once (by the standard library's own regular-expression
parser) for what its matches can start with: the first two words ("in my
(?:previous|last) role" only at the words "in my"; "(?:reduc|increas)\\w*"
at a word beginning "reduc" or "increas"), or a character ("\\d+" at a
digit).  A sentence with none of them cannot match, so the pattern need not
be searched there.  A pattern each of whose matches is one whole word
("\\b(?:\\w{3,}ed|built)\\b") can be tried on each distinct word instead
(``Reading.whole_word``).  ``judge/scan.py`` uses both.

The reading is conservative: wherever a match could begin in a way it does
not follow (any character, a negated class, a case-insensitive pattern), it
says nothing (``heads`` is None) and the pattern is searched everywhere.

Reading every cue pattern takes longer than judging an answer, so the
readings of the patterns the judge counts are shipped, already made, in
``readings.json`` (written by ``scripts/build_data.py``; a test checks
that it holds exactly what ``read`` tells of the patterns now);
``judge/readings.py`` keeps them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Optional

try:  # Python 3.11 and later
    from re import _constants as sre_c
    from re import _parser as sre_parse
except ImportError:  # Python 3.10
    import sre_constants as sre_c  # type: ignore[no-redef]
    import sre_parse  # type: ignore[no-redef]

#: A word as the regular-expression engine sees it (``\\w``, ``\\b``): runs of these are a sentence's words.
WORD_RUN = re.compile(r"\w+")
#: How many leading words are read, and after how many steps reading a pattern gives up.
DEPTH, MAX_STEPS = 2, 50000
_REPEATS = tuple(getattr(sre_c, n) for n in ("MAX_REPEAT", "MIN_REPEAT", "POSSESSIVE_REPEAT") if hasattr(sre_c, n))
_ATOMIC = getattr(sre_c, "ATOMIC_GROUP", None)
_STARTS = (sre_c.AT_BOUNDARY, sre_c.AT_BEGINNING, sre_c.AT_BEGINNING_STRING)
_ENDS = (sre_c.AT_BOUNDARY, sre_c.AT_END, sre_c.AT_END_STRING)
_BAD_FLAGS = re.IGNORECASE | re.ASCII | re.LOCALE
_CATEGORIES = {sre_c.CATEGORY_DIGIT: r"\d", sre_c.CATEGORY_NOT_DIGIT: r"\D", sre_c.CATEGORY_SPACE: r"\s",
               sre_c.CATEGORY_NOT_SPACE: r"\S", sre_c.CATEGORY_WORD: r"\w", sre_c.CATEGORY_NOT_WORD: r"\W"}
_NOT_WORD_CATEGORIES = (sre_c.CATEGORY_SPACE, sre_c.CATEGORY_NOT_WORD)
_WORD_CATEGORIES = (sre_c.CATEGORY_WORD, sre_c.CATEGORY_DIGIT)

#: One word of a head: ("=", w) the word is w, ("^", w) it begins with w.
Word = tuple[str, str]
Head = tuple[Word, ...]

# The parsed pattern, as nodes (kind, value):
#   "w" a word character, "n" any other single character, "c" a class (value: _Class),
#   "at" a position check (value: its code), "look" a look-around, "br" alternatives
#   (value: a tuple of node sequences), "rep" a repeat (value: lo, hi, nodes),
#   "x" anything else (any character, a back reference, ...).


@dataclass(frozen=True)
class _Class:
    not_word: bool  # none of its characters is a word character
    word_only: bool  # all of them are
    small: Optional[tuple[str, ...]]  # its characters, when it is a few word characters listed one by one
    source: Optional[str]  # the inside of "[...]" that matches the same characters (None: negated, ...)


@dataclass(frozen=True)
class Heads:
    """A match begins with one of ``words`` (consecutive words of the text), or
    with a character of the class ``chars`` (None: no match begins that way)."""

    words: frozenset[Head]
    chars: Optional[re.Pattern[str]] = None


@dataclass(frozen=True)
class Reading:
    """What one pattern's matches look like: where they begin (None: unknown) and
    whether each is one whole word."""

    heads: Optional[Heads]
    whole_word: bool


def _is_word(ch: str) -> bool:
    """A word character as ``\\w`` has it in a str pattern (alphanumeric, or "_")."""
    return ch.isalnum() or ch == "_"


def _class(av) -> _Class:
    not_word = word_only = True
    small: Optional[list[str]] = []
    src: Optional[list[str]] = []
    for op, v in av:
        if op is sre_c.LITERAL:
            w = _is_word(chr(v))
            not_word, word_only = not_word and not w, word_only and w
            if small is not None:
                small = small + [chr(v)] if w else None
            if src is not None:
                src.append(re.escape(chr(v)))
            continue
        small = None
        if op is sre_c.CATEGORY and v in _CATEGORIES:
            not_word = not_word and v in _NOT_WORD_CATEGORIES
            word_only = word_only and v in _WORD_CATEGORIES
            if src is not None:
                src.append(_CATEGORIES[v])
            continue
        not_word = word_only = False
        if op is sre_c.RANGE and src is not None:
            src.append(f"{re.escape(chr(v[0]))}-{re.escape(chr(v[1]))}")
        else:
            src = None
    return _Class(not_word, word_only, tuple(small) if small else None, "".join(src) if src is not None else None)


class _Unreadable(Exception):
    pass


def _nodes(items) -> tuple:
    """The parsed items as nodes (kind, value, does it end a word: a non-word character or a boundary)."""
    out: list = []
    for op, av in items:
        if op is sre_c.LITERAL:
            w = _is_word(chr(av))
            out.append(("w" if w else "n", chr(av), not w))
        elif op is sre_c.IN:
            c = _class(av)
            out.append(("c", c, c.not_word))
        elif op is sre_c.AT:
            out.append(("at", av, av in _ENDS))
        elif op in (sre_c.ASSERT, sre_c.ASSERT_NOT):
            out.append(("look", None, False))
        elif op is sre_c.BRANCH:
            out.append(("br", tuple(_nodes(alt.data) for alt in av[1]), False))
        elif op in _REPEATS:
            sub = _nodes(av[2].data)
            out.append(("rep", (av[0], av[1], sub, _not_word_only(sub)), False))
        elif op is sre_c.SUBPATTERN:
            if av[1] & _BAD_FLAGS:
                raise _Unreadable
            out.extend(_nodes(av[3].data))
        elif _ATOMIC is not None and op is _ATOMIC:
            out.extend(_nodes(av.data))
        else:
            out.append(("x", None, False))
    return tuple(out)


def _not_word_only(nodes) -> bool:
    """Whether everything ``nodes`` can consume is non-word characters (zero-width checks included)."""
    for kind, v, _ in nodes:
        if kind in ("n", "at", "look") or (kind == "c" and v.not_word):
            continue
        if kind == "rep" and v[3]:
            continue
        if kind == "br" and all(_not_word_only(alt) for alt in v):
            continue
        return False
    return True


def _word_only(nodes) -> bool:
    """Whether ``nodes`` consume only word characters and assert nothing."""
    for kind, v, _ in nodes:
        if kind == "w" or (kind == "c" and v.word_only):
            continue
        if kind == "rep" and _word_only(v[2]):
            continue
        if kind == "br" and all(_word_only(alt) for alt in v):
            continue
        return False
    return True


def _heads(nodes, depth: int) -> Optional[Heads]:
    words: set[Head] = set()
    chars: list[str] = []
    # A path: the rest to match, the words read, the word being read, and (before the
    # first word) whether a word boundary has been passed.  With words read and none
    # being read, the path is between words, where non-word characters are passed over.
    todo: list = [((nodes, 0, None), (), "", False)]
    steps = 0
    while todo:
        frame, done, acc, bounded = todo.pop()
        while True:
            steps += 1
            if steps > MAX_STEPS:
                return None
            # The next node, and the rest after it; frames are (nodes, index, outer frame).
            while frame is not None and frame[1] >= len(frame[0]):
                frame = frame[2]
            if frame is None:
                node = rest = None
            else:
                node = frame[0][frame[1]]
                rest = (frame[0], frame[1] + 1, frame[2])
            start = not done and not acc
            gap = bool(done) and not acc
            if acc and node is not None and node[2]:
                # A non-word character or a boundary: the word is exactly ``acc``.
                done, acc = done + (("=", acc),), ""
                if len(done) >= depth:
                    words.add(done)
                    break
                frame = rest  # the character (if one) is between the words
                continue
            if node is None:
                if start:
                    return None  # the empty match
                words.add(done + ((("^", acc),) if acc else ()))  # the match may end inside the word
                break
            kind, v, _ = node
            frame = rest
            if kind == "w":
                if bounded or not start:
                    acc += v
                    continue
                chars.append(re.escape(v))  # it may begin inside a word, with this character
                break
            if kind == "n":
                if gap:
                    continue
                if start:
                    chars.append(re.escape(v))
                    break
                return None
            if kind == "at":
                if gap:
                    continue
                if start and v in _STARTS:
                    bounded = True
                    continue
                if acc:
                    words.add(done + (("^", acc),))
                    break
                return None
            if kind == "look":
                continue  # a look-around only narrows what matches
            if kind == "br":
                todo.extend(((alt, 0, frame), done, acc, bounded) for alt in v)
                break
            if kind == "rep":
                lo, hi, sub, not_word = v
                if hi == 0 or (gap and not_word):
                    continue
                if lo == 0:
                    todo.append((frame, done, acc, bounded))  # not at all
                left = hi if hi == sre_c.MAXREPEAT else hi - 1
                frame = (sub, 0, (((("rep", (max(0, lo - 1), left, sub, not_word), False),), 0, frame)))
                continue
            if kind == "c":
                if gap and v.not_word:
                    continue
                if not acc and (bounded or gap) and v.small and len(v.small) <= 32:
                    todo.extend((frame, done, c, bounded) for c in v.small)
                    break
                if start:
                    if v.source is None:
                        return None
                    chars.append(v.source)
                    break
            # Any other character, a class, a back reference: the word (or the next) is unknown.
            if start:
                return None
            words.add(done + ((("^", acc),) if acc else ()))
            break
    return Heads(frozenset(words), re.compile("[" + "".join(sorted(set(chars))) + "]") if chars else None)


def _whole_word(nodes) -> bool:
    alts = nodes[0][1] if len(nodes) == 1 and nodes[0][0] == "br" else (nodes,)
    bound = ("at", sre_c.AT_BOUNDARY, True)
    return all(len(a) >= 3 and a[0] == bound and a[-1] == bound and _word_only(a[1:-1]) and _min_width(a[1:-1]) > 0
               for a in alts)


def _min_width(nodes) -> int:
    n = 0
    for kind, v, _ in nodes:
        if kind in ("w", "n", "c", "x"):
            n += 1
        elif kind == "br":
            n += min(_min_width(alt) for alt in v)
        elif kind == "rep":
            n += v[0] * _min_width(v[2])
    return n


def read(rx: re.Pattern[str], depth: int = DEPTH) -> Reading:
    """What every match of ``rx`` starts with, and whether each is one whole word."""
    if not isinstance(rx.pattern, str) or rx.flags & _BAD_FLAGS:
        return Reading(None, False)
    try:
        nodes = _nodes(sre_parse.parse(rx.pattern, rx.flags).data)
    except Exception:  # noqa: BLE001 - an unreadable pattern is simply searched everywhere
        return Reading(None, False)
    return Reading(_heads(nodes, depth), _whole_word(nodes))
