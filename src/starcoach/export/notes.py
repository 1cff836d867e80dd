"""A coach's notes, saved from the HTML page as Markdown, read back for ``export --notes FILE``.

The page saves (``html_page.SCRIPT``)::

    # Notes on starcoach session 3

    ## 1. Tell me about a time you took ownership of a problem.

    The opening is strong; say what you measured.

    ## 2. ...

    (no notes)

A heading counts only when it is exactly ``## N. QUESTION`` for answer N of the
session, so a coach's own Markdown headings inside a note stay part of it.
Pure: text in, notes per answer out.
"""

from __future__ import annotations

import re
from typing import Sequence

from starcoach.errors import UsageError
from starcoach.stored import StoredAnswer

#: What the page writes for an answer with nothing typed.
NO_NOTES = "(no notes)"
#: A notes file larger than this is not one the page saved.
MAX_BYTES = 2_000_000

_TITLE = re.compile(r"^# Notes on starcoach session (\d+)\s*$")


def heading(x: StoredAnswer) -> str:
    """The heading the page gives answer ``x`` (its ``<h2>``)."""
    return f"{x.n}. {x.row.question or '(no question)'}"


def parse_notes(text: str, session_id: int, answers: Sequence[StoredAnswer], name: str = "notes") -> dict[int, str]:
    """Answer number -> the note on it (answers with no note left out).

    ``UsageError`` (one line, naming ``name``) for a file that is not notes on this session.
    """
    lines = text.replace("\r\n", "\n").split("\n")
    first = next((ln for ln in lines if ln.strip()), "")
    m = _TITLE.match(first.strip())
    if m is None:
        raise UsageError(f"{name}: not a notes file saved from a starcoach page (it should start with "
                         f"'# Notes on starcoach session N')")
    if int(m.group(1)) != session_id:
        raise UsageError(f"{name}: these are notes on session {m.group(1)}, not session {session_id}")
    by_heading = {" ".join(("## " + heading(x)).split()): x.n for x in answers}
    notes: dict[int, list[str]] = {}
    current = None
    for ln in lines[lines.index(first) + 1:]:
        n = by_heading.get(" ".join(ln.split()))
        if n is not None:
            current = n
            notes[n] = []
        elif current is not None:
            notes[current].append(ln)
    if not notes and any(ln.startswith("## ") for ln in lines):
        raise UsageError(f"{name}: no heading matches an answer of session {session_id} "
                         f"(expected e.g. '## {heading(answers[0])}')" if answers else
                         f"{name}: session {session_id} has no answers")
    out = {}
    for n, body in notes.items():
        note = "\n".join(body).strip()
        if note and note != NO_NOTES:
            out[n] = note
    return out


def read_notes(path, session_id: int, answers: Sequence[StoredAnswer]) -> dict[int, str]:
    """``parse_notes`` on a file; a file that cannot be read is one line (``UsageError``)."""
    from pathlib import Path

    p = Path(path).expanduser()
    try:
        if p.stat().st_size > MAX_BYTES:
            raise UsageError(f"{p}: too large for a notes file ({p.stat().st_size / 1e6:.1f} MB)")
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise UsageError(f"{p}: no such file") from None
    except UnicodeDecodeError:
        raise UsageError(f"{p}: not UTF-8 text") from None
    except OSError as e:
        raise UsageError(f"{p}: cannot read it ({e.strerror or e})") from None
    return parse_notes(text, session_id, answers, name=str(p))
