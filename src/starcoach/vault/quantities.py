"""Numbers said in digits or in words: '4%', 'four percent', 'one and a half percent', '40k'.

A story's result bullet says "from 4% to 1.5%"; the candidate says "from
four percent to one and a half".  Matching an answer to a story
(``matching.py``) counts a number as said only when its value was said, in
either form.  Pure.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Optional

#: Number words and their values (also what ``matching`` leaves out of a bullet's words).
UNITS = {w: i for i, w in enumerate(
    "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen "
    "sixteen seventeen eighteen nineteen".split())}
TENS = {w: 10 * (i + 2) for i, w in enumerate("twenty thirty forty fifty sixty seventy eighty ninety".split())}
BIG = {"thousand": 1e3, "grand": 1e3, "million": 1e6, "billion": 1e9}
_SUFFIX = {"k": 1e3, "thousand": 1e3, "grand": 1e3, "m": 1e6, "mn": 1e6, "million": 1e6, "bn": 1e9,
           "billion": 1e9}
NUMBER_WORDS = frozenset(list(UNITS) + list(TENS) + list(BIG) + ["hundred", "dozen", "half", "point",
                                                                      "percent", "pct", "cent"])
_QTOK = re.compile(r"\d+(?:,\d{3})+(?:\.\d+)?|\d*\.\d+|\d+|[a-z]+|%|[$£€]")


@dataclass(frozen=True)
class Quantity:
    value: float
    percent: bool
    text: str

    @property
    def key(self) -> str:
        return f"#{self.value:g}"


def quantities(text: str) -> list[Quantity]:
    """Numbers said in digits or in words: '4%', 'four percent', 'one and a half
    percent', '40k', 'forty thousand', '$1.2m', 'a dozen'."""
    low = text.lower().replace("\u2019", "'")
    toks = [(m.group(), m.start(), m.end()) for m in _QTOK.finditer(low)]
    n = len(toks)
    out: list[Quantity] = []
    i = 0

    def tok(j: int) -> str:
        return toks[j][0] if j < n else ""

    while i < n:
        t = tok(i)
        start = toks[i][1]
        value: Optional[float] = None
        j = i
        if t[0].isdigit() or (t[0] == "." and len(t) > 1):
            value = float(t.replace(",", ""))
            j = i + 1
            if tok(j) == "and" and tok(j + 1) == "a" and tok(j + 2) == "half":
                value += 0.5
                j += 3
            gap = low[toks[j - 1][2]:toks[j][1]] if j < n else " "
            if tok(j) in ("thousand", "grand", "million", "billion") or (tok(j) in _SUFFIX and gap == ""):
                value *= _SUFFIX[tok(j)]
                j += 1
        elif t in UNITS or t in TENS or (t == "a" and tok(i + 1) in ("hundred", "thousand", "million",
                                                                         "billion", "dozen")):
            total, current, j = 0.0, 0.0, i
            if t == "a":
                current, j = 1.0, i + 1
            while j < n:
                w = tok(j)
                if w in UNITS:
                    current += UNITS[w]
                elif w in TENS:
                    current += TENS[w]
                elif w == "hundred":
                    current = max(current, 1.0) * 100
                elif w == "dozen":
                    current = max(current, 1.0) * 12
                elif w in BIG:
                    total += max(current, 1.0) * BIG[w]
                    current = 0.0
                elif w == "point" and tok(j + 1) in UNITS:
                    digits = ""
                    k = j + 1
                    while tok(k) in UNITS and UNITS[tok(k)] < 10:
                        digits += str(UNITS[tok(k)])
                        k += 1
                    if not digits:
                        break
                    current += float("0." + digits)
                    j = k
                    continue
                elif w == "and" and tok(j + 1) == "a" and tok(j + 2) == "half":
                    current += 0.5
                    j += 3
                    continue
                elif w == "and" and (tok(j + 1) in UNITS or tok(j + 1) in TENS) and (total or current >= 100):
                    pass  # "two hundred and fifty"
                else:
                    break
                j += 1
            value = total + current
        if value is None:
            i += 1
            continue
        percent = False
        if tok(j) in ("%", "percent", "pct"):
            percent, j = True, j + 1
        elif tok(j) == "per" and tok(j + 1) == "cent":
            percent, j = True, j + 2
        end = toks[j - 1][2]
        if i > 0 and tok(i - 1) in ("$", "£", "€"):
            start = toks[i - 1][1]
        out.append(Quantity(value=value, percent=percent, text=text[start:end]))
        i = max(j, i + 1)
    return out


def meaningful(q: Quantity) -> bool:
    """Numbers worth insisting on: not a bare 'one' and not a year."""
    if q.percent:
        return True
    if q.value in (0.0, 1.0) and q.text.strip().lower() in ("one", "a", "zero", "1", "0"):
        return False
    if 1900 <= q.value <= 2100 and float(q.value).is_integer():
        return False
    return True


def same(a: float, b: float) -> bool:
    return abs(a - b) <= 1e-6 * max(1.0, abs(a), abs(b))
