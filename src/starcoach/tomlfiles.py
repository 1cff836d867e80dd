"""TOML read fast: the files shipped with starcoach are kept already parsed, in ``parsed_toml.txt``.

The question banks, company profiles, follow-up templates, cue families and
value themes are TOML, and the standard library's parser (pure Python) took
longer over them than judging an answer does.  ``parsed_toml.txt`` holds, for
each TOML file shipped with starcoach, the SHA-256 of its text and the data it
parses to, as JSON.  :func:`loads` gives that data for a text whose hash is
there, and parses any other text (a user's own bank, a shipped file edited in
place) with ``tomllib``, so what it returns is always what ``tomllib.loads``
would.  The file is written by ``scripts/build_data.py``;
``tests/test_banks.py`` checks it holds exactly the shipped files, parsed as
``tomllib`` parses them now.

``TOMLDecodeError`` is ``tomllib``'s, imported when first asked for (only a
file that fails to parse needs it).
"""

from __future__ import annotations

import hashlib
import json
from functools import lru_cache
from pathlib import Path
from typing import Any

PARSED_PATH = Path(__file__).resolve().parent / "parsed_toml.txt"


def digest(text: str) -> str:
    """The key of a text in ``parsed_toml.txt``: the SHA-256 of its UTF-8 bytes, in hex."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


@lru_cache(maxsize=1)
def _parsed() -> dict[str, str]:
    """Hash -> the JSON of its data, one line each ("HASH JSON"; lines starting with '#' are notes)."""
    try:
        lines = PARSED_PATH.read_text(encoding="utf-8").splitlines()
    except OSError:
        return {}
    return dict(line.split(" ", 1) for line in lines if line and not line.startswith("#"))


def _tomllib():
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10
        import tomli as tomllib  # type: ignore[no-redef]
    return tomllib


def loads(text: str) -> dict[str, Any]:
    """``tomllib.loads(text)``, taken from ``parsed_toml.txt`` when ``text`` is a shipped file's.
    Each call returns new objects, which the caller may change."""
    got = _parsed().get(digest(text))
    if got is not None:
        return json.loads(got)
    return _tomllib().loads(text)


def __getattr__(name: str):
    if name == "TOMLDecodeError":
        return _tomllib().TOMLDecodeError
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def shipped_files() -> list[Path]:
    """The TOML files shipped with starcoach: the built-in question banks and the package's own."""
    from starcoach.catalogue.banks import builtin_dir

    return sorted(set(builtin_dir().rglob("*.toml")) | set(Path(__file__).resolve().parent.rglob("*.toml")))


def build() -> str:
    """What ``parsed_toml.txt`` holds for the shipped files as they are now (a file's text as read
    in binary and decoded, and as read in text mode, when the two differ)."""
    entries: dict[str, str] = {}
    for path in shipped_files():
        raw = path.read_bytes().decode("utf-8")
        for text in dict.fromkeys((raw, path.read_text(encoding="utf-8"))):
            data = _tomllib().loads(text)
            try:
                encoded = json.dumps(data, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
            except (TypeError, ValueError):  # a date or a time, nan or inf: left to tomllib
                continue
            entries[digest(text)] = encoded
    head = ("# What each TOML file shipped with starcoach parses to: the SHA-256 of its text, then its data "
            "as JSON.\n# Written by scripts/build_data.py; do not edit.\n")
    return head + "".join(f"{k} {v}\n" for k, v in sorted(entries.items()))
