"""Stored sessions ready to show: each answer with its analysis, its audio and why it has none.

``sessions``, ``replay``, ``progress``, ``export`` and ``reanalyse`` all look
back at the data folder (store/) and never re-record or re-transcribe.  What
they share lives here: an answer as it was stored (``StoredAnswer``, whose
analysis may be damaged or missing and whose audio may have been deleted),
the words for a company and a stored time, and which word is heard at a
moment of the recording.  No terminal and no database here: views/ draws
these, export/ writes them, cli/ runs the commands.
"""

from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Optional, Sequence

from starcoach.model import Analysis, Word
from starcoach.text import first_line

if TYPE_CHECKING:
    from starcoach.store.database import AnswerRow, SessionRow, Store


#: What a session was, as the look-back commands name it: a practice session at the
#: microphone, the bundled demo, one analysed answer, or a batch of them.
SESSION_KINDS = ("practice", "demo", "analysis", "batch")


def session_kind(s: "SessionRow") -> str:
    """The session's kind from what was stored: a practice session whose answer came from
    the bundled example recording is the demo; an ``analyse`` session of more than one
    input (or, when the inputs were not recorded, answer) is a batch."""
    settings = s.settings or {}
    if s.kind == "practice":
        from starcoach.catalogue.banks import examples_dir

        mic = settings.get("mic_file")
        if settings.get("demo") or (mic and Path(mic).resolve().parent == examples_dir().resolve()):
            return "demo"
        return "practice"
    if s.kind == "analyse":
        inputs = settings.get("inputs")
        many = inputs > 1 if isinstance(inputs, int) else (s.answers or 0) > 1
        return "batch" if many else "analysis"
    return s.kind


def local_time(iso: Optional[str]) -> str:
    """A stored UTC time as local 'YYYY-MM-DD HH:MM'."""
    if not iso:
        return "\u2014"
    try:
        dt = datetime.fromisoformat(iso)
    except ValueError:
        return iso
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=timezone.utc)
    return dt.astimezone().strftime("%Y-%m-%d %H:%M")


def clock(seconds: Optional[float]) -> str:
    """Seconds as m:ss (h:mm:ss from an hour); a negative change as -m:ss."""
    if seconds is None:
        return "\u2014"
    s = int(round(seconds))
    sign, s = ("-", -s) if s < 0 else ("", s)  # divmod of a negative count would give "-1:59:24" for -36 s
    h, rem = divmod(s, 3600)
    m, sec = divmod(rem, 60)
    return sign + (f"{h}:{m:02d}:{sec:02d}" if h else f"{m}:{sec:02d}")


def short(text: Optional[str], n: int = 60) -> str:
    text = " ".join((text or "").split())
    return text if len(text) <= n else text[: n - 1] + "\u2026"


@dataclass
class StoredFollowUp:
    """The answer to one follow-up question, as stored: the question asked (``row.question``), why
    (``reason``, the part asked about), its analysis and audio, the story judged together and what
    it supplied (``judge.story.Supplied``)."""

    n: int
    row: "AnswerRow"
    analysis: Optional[Analysis]
    audio: Optional[Path]
    reason: Optional[str]
    component: Optional[str]
    together: Optional[Analysis]
    supplied: tuple = ()
    unreadable: Optional[str] = None

    @property
    def audio_missing(self) -> bool:
        return self.audio is not None and not self.audio.is_file()


def _follow_ups(store: "Store", row: "AnswerRow", company_name: Optional[str]) -> list[StoredFollowUp]:
    from starcoach.judge.story import story_from_json

    out = []
    for k, r in enumerate(store.follow_ups(row.id), start=1):
        a = together = None
        supplied: tuple = ()
        why = None
        meta: dict = {}
        try:
            meta = r.follow_up()
            a = r.analysis(company_name=company_name)
            together, supplied = story_from_json(meta)
        except (ValueError, KeyError, TypeError) as e:  # damaged or future JSON: show the rest
            why = first_line(e)
        out.append(StoredFollowUp(k, r, a, store.absolute(r.audio_path), meta.get("reason"), meta.get("component"),
                                  together, supplied, why))
    return out


@dataclass
class StoredAnswer:
    """One answer of a session, ready to show: its row, its analysis and where its audio is."""

    n: int
    row: "AnswerRow"
    analysis: Optional[Analysis]
    audio: Optional[Path]
    reanalysed_at: Optional[str] = None
    #: Why the stored analysis could not be read back (damaged JSON, unknown schema), if so.
    unreadable: Optional[str] = None
    #: The answers to its follow-up questions, in the order asked.
    follow_ups: list[StoredFollowUp] = field(default_factory=list)

    @property
    def audio_missing(self) -> bool:
        return self.audio is not None and not self.audio.is_file()

    @property
    def company(self) -> Optional[str]:
        return self.row.company


def load_answers(store: "Store", session: "SessionRow", names: dict[str, str]) -> list[StoredAnswer]:
    """Every answer of ``session`` in order; ``names``: company id -> display name."""
    reanalysed = store.reanalysed_at(session.id)
    out = []
    for n, row in enumerate(store.answers(session.id), start=1):
        cid = row.company or session.company
        a, why = None, None
        try:
            a = row.analysis(company_name=names.get(cid or ""))
        except (ValueError, KeyError, TypeError) as e:  # damaged or future JSON: show the rest
            why = first_line(e)
        out.append(StoredAnswer(n, row, a, store.absolute(row.audio_path), reanalysed.get(row.id), why,
                                _follow_ups(store, row, names.get(cid or ""))))
    return out


def company_label(cid: Optional[str], names: dict[str, str]) -> str:
    if not cid:
        return "\u2014"
    return names.get(cid, cid)


def companies_label(s: "SessionRow", answers: Sequence[StoredAnswer], names: dict[str, str]) -> Optional[str]:
    """The session's company, or its answers' companies (a batch-analysis session has none of its own)."""
    cids = [s.company] if s.company else sorted({x.company for x in answers if x.company})
    return ", ".join(company_label(c, names) for c in cids) if cids else None


def not_analysed_reason(x: "StoredAnswer | StoredFollowUp") -> str:
    if x.unreadable:
        return f"its stored analysis cannot be read ({x.unreadable})"
    status = x.row.status
    if status == "recording":
        return "the recording was cut off before it was analysed (`starcoach practice` offers to recover it)"
    if status == "recorded":
        return "recorded but not analysed yet (`starcoach practice` offers to recover it)"
    return x.row.error or f"not analysed (status: {status})"


def word_at(words: Sequence[Word], t_s: float) -> Optional[int]:
    """Index of the word being heard at ``t_s`` seconds into the audio.

    The last word that has started; it stays lit through the pause after it.
    None before the first word (and when there are no word timings).
    """
    if not words or t_s < words[0].start_s:
        return None
    starts, top = [], float("-inf")
    for w in words:  # Whisper's times can step back by a hair: keep them sorted for bisect
        top = max(top, w.start_s)
        starts.append(top)
    return bisect_right(starts, t_s) - 1
