"""Counting the cue families in each sentence of an answer, searching only where they can match.

The answer is lower-cased once and every pattern that is not anchored to a
sentence's start is counted within each sentence's bounds, as
``len(regex.findall(text, start, end))``: that is what a family's count
means.  What ``heads.read`` tells of each pattern decides where the search
can be skipped: a sentence without a pair of words (or a character) a
match could begin with has no match, and a pattern whose matches are whole
words is counted word by word, each distinct word tried once per process.
A pattern given as a string is compiled only when a stretch needs it
searched: most sentences need few of them.
"""

from __future__ import annotations

import re
from typing import Optional, Sequence, Union

from starcoach.judge.heads import WORD_RUN
from starcoach.judge.readings import reading

_IS_WORD = re.compile(r"\w")
#: The caches are emptied when they grow past this many entries.
CACHE_LIMIT = 200_000


class _Compiled(dict):
    """Pattern k, compiled the first time it is asked for."""

    def __init__(self, patterns: Sequence[Union[str, re.Pattern[str]]]):
        super().__init__((k, p) for k, p in enumerate(patterns) if not isinstance(p, str))
        self._sources = tuple(patterns)

    def __missing__(self, k: int) -> re.Pattern[str]:
        rx = self[k] = re.compile(self._sources[k])
        return rx


class _CompiledAlternatives(dict):
    """Alternative i of pattern k, keyed (k, i), compiled the first time it is asked for."""

    def __init__(self, sources: dict[int, tuple[str, ...]]):
        super().__init__()
        self._sources = sources

    def __missing__(self, key: tuple[int, int]) -> re.Pattern[str]:
        rx = self[key] = re.compile(self._sources[key[0]][key[1]])
        return rx


class Scanner:
    """Counts of a fixed list of named patterns in stretches of a text (``counts``).

    Each pattern is counted in one of four ways, by what ``heads.read`` tells of it:
    a pattern whose matches are whole words, word by word; one whose matches begin
    at known words, by trying it (``match``) only where such words are; one that
    may also begin at a character (a digit), by searching the stretches that have
    such words or characters; any other, by searching every stretch.  A pattern may be
    given compiled, or as a string (compiled without flags when it is first needed).

    ``alternatives`` (one entry per pattern, None for none) may give a pattern as the
    alternatives it tries in order: strings whose first match at a position is the
    pattern's (``\\b(?:a|b)\\b`` is ``\\b(?:a)\\b`` then ``\\b(?:b)\\b``).  A pattern tried
    at words is then tried as the alternatives that can begin at the word, each compiled
    when first needed, which for most answers is a small part of the whole pattern."""

    def __init__(self, patterns: Sequence[tuple[str, Union[str, re.Pattern[str]]]],
                 alternatives: Optional[Sequence[Optional[Sequence[str]]]] = None):
        self.keys = tuple(k for k, _ in patterns)
        self.regexes = _Compiled([rx for _, rx in patterns])
        readings = [reading(rx) for _, rx in patterns]
        self.whole = sum(1 << k for k, r in enumerate(readings) if r.whole_word)
        headed = [k for k, r in enumerate(readings) if not r.whole_word and r.heads is not None]
        self.always = sum(1 << k for k, r in enumerate(readings) if not r.whole_word and r.heads is None)
        self._chars = tuple((1 << k, readings[k].heads.chars) for k in headed if readings[k].heads.chars is not None)
        #: patterns searched per stretch when a word pair admits them (those that may also begin at a character)
        self._searched = sum(1 << k for k in headed if readings[k].heads.chars is not None)
        # What is looked up by the words: a pattern (k, -1), or one of its alternatives (k, i) when
        # every alternative's matches begin at known words (and never at a character).
        units: list[tuple[tuple[int, int], frozenset]] = []
        split: dict[int, tuple[str, ...]] = {}
        for k in headed:
            alts = alternatives[k] if alternatives is not None and readings[k].heads.chars is None else None
            alt_heads = [reading(a).heads for a in alts] if alts else []
            if alts and all(h is not None and h.chars is None for h in alt_heads):
                split[k] = tuple(alts)
                units.extend(((k, i), h.words) for i, h in enumerate(alt_heads))
            else:
                units.append(((k, -1), readings[k].heads.words))
        self._alternatives = _CompiledAlternatives(split)
        # First word -> per unit: (any next word will do, next words that will, their beginnings).
        table: dict[tuple[str, str], dict[tuple[int, int], list]] = {}
        for unit, words in units:
            for h in words:
                e = table.setdefault(h[0], {}).setdefault(unit, [False, set(), set()])
                if len(h) == 1:
                    e[0] = True
                else:
                    e[1 if h[1][0] == "=" else 2].add(h[1][1])
        rows = {first: tuple((u, sure, frozenset(ex), tuple(sorted(px))) for u, (sure, ex, px) in sorted(per.items()))
                for first, per in table.items()}
        self._exact = {w: row for (kind, w), row in rows.items() if kind == "="}
        self._prefixed = tuple((w, row) for (kind, w), row in sorted(rows.items()) if kind == "^")
        self._first: dict[str, tuple[tuple[tuple[int, int], ...], tuple]] = {}
        self._pairs: dict[tuple[str, Optional[str]], tuple[int, tuple, tuple[int, ...]]] = {}
        self._whole_list = tuple(k for k in range(len(self.keys)) if self.whole >> k & 1)
        self._words: dict[str, tuple[int, ...]] = {}
        #: words no pattern's match can start at, and which no whole-word pattern matches
        self._boring: set[str] = set()

    @property
    def searched_everywhere(self) -> tuple[str, ...]:
        """The patterns nothing is known about: searched in every stretch."""
        return tuple(k for i, k in enumerate(self.keys) if self.always >> i & 1)

    def _word(self, run: str) -> tuple[tuple[tuple[int, int], ...], tuple]:
        """Units (patterns, or their alternatives) ``run`` starts a match of whatever follows, and
        those that need a certain next word."""
        got = self._first.get(run)
        if got is None:
            rows = list(self._exact.get(run, ()))
            for w, row in self._prefixed:
                if run.startswith(w):
                    rows.extend(row)
            sure = tuple(sorted({k for k, s, _, _ in rows if s}))
            need = tuple((k, ex, px) for k, s, ex, px in rows if not s and k not in sure)
            got = self._first[run] = (sure, need)
        return got

    def _pair(self, key: tuple[str, Optional[str]]) -> tuple[int, tuple, tuple[int, ...]]:
        """For a word ``key[0]`` followed by the word ``key[1]`` (None: the last word): the patterns
        searched per stretch that a match could start there of (a bit mask), those tried at the
        word itself (pairs: the index, and None or the alternatives to try, in order), and the
        whole-word patterns the word is a match of."""
        sure, need = self._word(key[0])
        ks = set(sure)
        following = key[1]
        if following is not None:
            for k, ex, px in need:
                if following in ex or (px and following.startswith(px)):
                    ks.add(k)
        mask = sum(1 << k for k, _ in ks if self._searched >> k & 1)
        tried: dict[int, list[int]] = {}
        for k, i in sorted(ks):
            if not self._searched >> k & 1:
                tried.setdefault(k, []).append(i)
        at = tuple((k, None if alts == [-1] else tuple(alts)) for k, alts in tried.items())
        whole = self._whole(key[0])
        if len(self._pairs) > CACHE_LIMIT:
            self._pairs.clear()
            self._first.clear()
            self._boring.clear()
            self._words.clear()
        got = self._pairs[key] = (mask, at, whole)
        if not sure and not need and not whole:
            self._boring.add(key[0])  # nothing starts at this word, whatever follows it
        return got

    def _whole(self, run: str) -> tuple[int, ...]:
        """The whole-word patterns ``run`` is a match of."""
        got = self._words.get(run)
        if got is None:
            got = self._words[run] = tuple(k for k in self._whole_list if self.regexes[k].fullmatch(run))
        return got

    def counts(self, text: str, start: int, end: int, allowed: int = -1) -> dict[str, int]:
        """Matches of each pattern (bit k of ``allowed``: pattern k) in ``text[start:end]``, as
        ``len(regex.findall(text, start, end))`` counts them; patterns with none are left out."""
        spans = [(m.start(), m.group()) for m in WORD_RUN.finditer(text, start, end)]
        n = len(spans)
        # A word cut at the start of the stretch (the text goes on before it) has no boundary there.
        cut = (n > 0 and spans[0][0] == start > 0 and _IS_WORD.match(text, start - 1) is not None)
        pairs = self._pairs
        regexes = self.regexes
        alternatives = self._alternatives
        found = [0] * len(self.keys)
        last: dict[int, int] = {}  # pattern -> where its last match ended
        m = self.always
        boring = self._boring
        for i, (p, w) in enumerate(spans):
            if w in boring:
                continue
            key = (w, spans[i + 1][1] if i + 1 < n else None)
            got = pairs.get(key)
            if got is None:
                got = self._pair(key)
            m |= got[0]
            for k, alts in got[1]:
                if allowed >> k & 1 and p >= last.get(k, 0):
                    if alts is None:
                        hit = regexes[k].match(text, p, end)
                    else:  # the first alternative that matches here is the pattern's match
                        for a in alts:
                            hit = alternatives[k, a].match(text, p, end)
                            if hit:
                                break
                    if hit:
                        found[k] += 1
                        last[k] = hit.end()
            if got[2] and not (i == 0 and cut):
                for k in got[2]:
                    found[k] += 1
        for bit, chars in self._chars:
            if allowed & bit and not m & bit and chars.search(text, start, end):
                m |= bit
        m &= allowed
        while m:
            low = m & -m
            k = low.bit_length() - 1
            m ^= low
            found[k] = len(regexes[k].findall(text, start, end))
        keys = self.keys
        return {keys[k]: c for k, c in enumerate(found) if c and allowed >> k & 1}
