"""The readings of the judge's cue patterns, made ahead and shipped in ``readings.json``.

What ``heads.read`` tells of a pattern costs more to make than judging an answer does, so
``scripts/build_data.py`` writes the reading of every pattern the judge counts to
``readings.json`` (``to_json``), and ``reading(pattern)`` takes it from there (``from_json``),
reading only a pattern that is not among them.  tests/test_scan.py checks that the file holds
exactly what ``read`` tells of the patterns now.
"""

from __future__ import annotations

import json
import re
from functools import lru_cache
from pathlib import Path
from typing import Union

from starcoach.judge.heads import Heads, Reading, Word, read

READINGS_PATH = Path(__file__).resolve().parent / "readings.json"


def to_json(r: Reading) -> dict:
    """A reading as ``readings.json`` keeps it: each head as its words, kind first, joined by
    spaces ("=in =my", "^reduc"; a word never holds a space), sorted so that the file is the
    same every time."""
    h = r.heads
    return {"whole_word": r.whole_word,
            "words": None if h is None else sorted(" ".join(kind + w for kind, w in head) for head in h.words),
            "chars": None if h is None or h.chars is None else h.chars.pattern}


def from_json(d: dict) -> Reading:
    words = d["words"]
    if words is None:
        return Reading(None, bool(d["whole_word"]))
    chars = d["chars"]
    return Reading(Heads(frozenset(tuple(map(_word, head.split(" "))) for head in words),
                         re.compile(chars) if chars is not None else None), bool(d["whole_word"]))


@lru_cache(maxsize=None)
def _word(token: str) -> Word:
    """"=in" -> ("=", "in"), made once per token (the same words begin many heads)."""
    return token[0], token[1:]


@lru_cache(maxsize=1)
def shipped() -> dict[str, dict]:
    """The readings in ``readings.json``, pattern -> its reading as ``to_json`` writes it."""
    return json.loads(READINGS_PATH.read_text(encoding="utf-8"))["readings"]


def reading(pattern: Union[str, re.Pattern[str]]) -> Reading:
    """What ``read`` tells of ``pattern`` (a string: compiled without flags), from the shipped
    readings when it is one of them, without compiling it."""
    if isinstance(pattern, str):
        got = shipped().get(pattern)
        return from_json(got) if got is not None else read(re.compile(pattern))
    if pattern.flags == re.UNICODE and isinstance(pattern.pattern, str):
        got = shipped().get(pattern.pattern)
        if got is not None:
            return from_json(got)
    return read(pattern)
