"""Value themes: the words people use for a kind of value when they do not name it.

A closing that says "we kept going through setback after setback and never gave up"
names perseverance without a word of "We persevere".  ``themes_en.toml`` holds
31 kinds of value, each with such words; a company profile tags each value
with its themes (``themes = ["perseverance"]``), checked against this list when
the profile loads, and the judge's value lexicon (``judge/lexicon.py``) counts
the words as evidence for the value.  Kept here, not in the judge, so that
loading the catalogue does not load the judge.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from starcoach import tomlfiles

HERE = Path(__file__).resolve().parent


@lru_cache(maxsize=4)
def _data(language: str) -> dict:
    return tomlfiles.loads((HERE / f"themes_{language}.toml").read_text(encoding="utf-8"))["themes"]


@lru_cache(maxsize=4)
def themes(language: str = "en") -> dict[str, tuple[str, ...]]:
    """Per theme, the words and short phrases of ``themes_<language>.toml``."""
    out = {}
    for name, t in _data(language).items():
        words = tuple(str(w).strip().lower() for w in t.get("words", ()) if str(w).strip())
        if not words:
            raise ValueError(f"value theme {name}: no words")
        out[name] = words
    return out


@lru_cache(maxsize=4)
def theme_examples(language: str = "en") -> dict[str, tuple[tuple[str, ...], tuple[str, ...]]]:
    """Per theme, the sentences it must find evidence in and those it must not (``match``, ``nomatch``)."""
    return {name: (tuple(t.get("match", ())), tuple(t.get("nomatch", ()))) for name, t in _data(language).items()}


@lru_cache(maxsize=4)
def theme_names(language: str = "en") -> frozenset[str]:
    return frozenset(themes(language))
