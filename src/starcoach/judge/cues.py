"""Cue families: the phrasings the judge looks for, kept as data.

A family (``cues/en.toml``) is one kind of phrasing: "a time or place phrase
opening the answer", "being given the task", "how others took the outcome".
Each has an id, regular expressions, and example sentences it must and must
not match, so a pattern that can never fire (a stray backslash) fails a test
instead of going quietly dead.  A family is only evidence; how much it counts
for each component is fitted from labelled answers (``weights.json``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cached_property, lru_cache
from pathlib import Path

from starcoach import tomlfiles

CUES_DIR = Path(__file__).resolve().parent / "cues"

#: Where a family is looked for: anywhere, only in the first sentences, or only near the end.
SCOPES = ("any", "opening", "closing")


@dataclass(frozen=True)
class Family:
    id: str
    about: str
    scope: str
    #: the family's patterns as one regular expression (``regex`` compiles it)
    pattern: str
    match: tuple[str, ...]
    nomatch: tuple[str, ...]
    #: every pattern starts with "^": matched per sentence, never across a whole answer
    anchored: bool = False
    #: ``pattern`` as the alternatives it tries in order (one per listed pattern, with the
    #: mode's word boundaries): at any position its match is the first of theirs (empty: one
    #: pattern, or one that refers back to a group, so not to be cut apart)
    alternatives: tuple[str, ...] = ()

    @cached_property
    def regex(self) -> re.Pattern[str]:
        """The compiled pattern, compiled the first time it is needed: an answer meets few families."""
        return re.compile(self.pattern)

    def count(self, text: str) -> int:
        """Matches in ``text``, which is already lower-cased with plain apostrophes."""
        return len(self.regex.findall(text))


def normalise(text: str) -> str:
    """The form every pattern is matched against: lower case, straight apostrophes."""
    return text.replace("\u2019", "'").replace("\u2018", "'").lower()


_BACK_REFERENCE = re.compile(r"\\[1-9]|\(\?P=")


def _alternatives(mode: str, patterns: list[str]) -> tuple[str, ...]:
    if len(patterns) < 2 or any(_BACK_REFERENCE.search(p) for p in patterns):
        return ()
    if mode == "words":
        return tuple(r"\b(?:" + p + r")\b" for p in patterns)
    return tuple(f"(?:{p})" for p in patterns)


def _joined(fid: str, mode: str, patterns: list[str]) -> str:
    if not patterns:
        raise ValueError(f"cue family {fid}: no patterns")
    if mode == "words":
        # Matched against lower-cased text: no IGNORECASE, which is slower.
        return r"\b(?:" + "|".join(patterns) + r")\b"
    if mode == "raw":
        return "|".join(f"(?:{p})" for p in patterns)
    raise ValueError(f"cue family {fid}: unknown mode {mode!r}")


@lru_cache(maxsize=4)
def families(language: str = "en") -> tuple[Family, ...]:
    """The cue families of one language, read once per process (each pattern is compiled on first use)."""
    data = tomlfiles.loads((CUES_DIR / f"{language}.toml").read_text(encoding="utf-8"))
    out = []
    seen: set[str] = set()
    for f in data["family"]:
        fid = str(f["id"])
        if fid in seen:
            raise ValueError(f"cue family {fid}: defined twice")
        seen.add(fid)
        scope = str(f.get("scope", "any"))
        if scope not in SCOPES:
            raise ValueError(f"cue family {fid}: unknown scope {scope!r}")
        out.append(Family(id=fid, about=str(f.get("about", "")), scope=scope,
                          pattern=_joined(fid, str(f.get("mode", "words")), list(f["patterns"])),
                          alternatives=_alternatives(str(f.get("mode", "words")), list(f["patterns"])),
                          match=tuple(f.get("match", ())), nomatch=tuple(f.get("nomatch", ())),
                          anchored=all(str(p).startswith("^") for p in f["patterns"])))
    return tuple(out)


def family(fid: str, language: str = "en") -> Family:
    for f in families(language):
        if f.id == fid:
            return f
    raise KeyError(fid)

