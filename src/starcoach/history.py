"""Looking back: list stored sessions, replay them, follow progress, export and re-judge them.

Practice only pays off if the candidate can see what changed between
sessions and hear what they actually said.  Everything here reads the data
folder (store/) and never re-records or re-transcribes:

* ``sessions``  - one line per stored session.
* ``replay``    - each answer's report again (report.analysis_view), then its
  audio with the transcript highlighted word by word in time with playback.
* ``progress``  - trends over sessions as terminal charts, and the one
  R-STAR-L part to practise next.
* ``export``    - a session as Markdown, JSON (``starcoach.session/1``) or one
  self-contained HTML page (audio embedded as a data: URI, every piece of
  text escaped: a transcript is user data and may contain markup).
* ``reanalyse`` - the current analysis run again on stored transcripts, so
  improvements to the judge reach old sessions.

Rendering builds rich renderables (or strings, for export) and printing
happens only in the ``cmd_*`` functions.  sounddevice is imported only when
replay actually plays audio; a damaged database or a deleted audio file
becomes one line, never a traceback.
"""

from __future__ import annotations

import base64
import html
import io
import json
import sqlite3
import time
import wave
from bisect import bisect_right
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterator, Optional, Sequence

from starcoach.cli.env import Env
from starcoach.errors import ExitStatus, UsageError
from starcoach.judge import COMFORTABLE_WPM, FILLERS_OK_PER_MIN, TARGET_DURATION_S
from starcoach.model import COMPONENT_LETTERS, COMPONENT_TITLES, COMPONENTS, Analysis, ComponentResult, Word
from starcoach.targets import COLOURS, TIPS, score_band, score_colour
from starcoach.text import first_line

if TYPE_CHECKING:
    import argparse

    from rich.console import Console, RenderableType

    from starcoach.store.database import AnswerRow, SessionRow, Store

SESSION_SCHEMA = "starcoach.session/1"

#: progress: how many sessions the charts show, and how many recent ones pick the part to practise.
CHART_SESSIONS = 20
RECENT_SESSIONS = 5


SPARK_BLOCKS = "\u2581\u2582\u2583\u2584\u2585\u2586\u2587\u2588"

# --------------------------------------------------------------------------- shared helpers


@contextmanager
def _opened(args: "argparse.Namespace", env: Env) -> Iterator["Store"]:
    """The data folder's store; a database that fails part-way through becomes one usage error."""
    from starcoach.cli.common import open_store

    store = open_store(args, env)
    try:
        yield store
    except sqlite3.DatabaseError as e:
        raise UsageError(str(store.damaged(e))) from None
    finally:
        store.close()


def _session(store: "Store", ref: Optional[str]) -> "SessionRow":
    if not store.sessions():
        raise UsageError(f"no sessions stored in {store.root} yet; start one with `starcoach practice` "
                         "(or `starcoach analyse FILE`)")
    row = store.session(ref or "latest")
    if row is None:
        raise UsageError(f"no session {ref!r} in {store.root} (`starcoach sessions` lists them)")
    return row


def _company_names(env: Env) -> dict[str, str]:
    """Company id -> display name; empty if the banks cannot be read (ids are shown instead)."""
    try:
        from starcoach.cli.common import load_catalogue_or_fail

        return {cid: c.name for cid, c in load_catalogue_or_fail(env).companies.items()}
    except UsageError:
        return {}


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


def say(console: "Console", line: str, style: str = "") -> None:
    """Print one message line: never wrapped (so it can be grepped), never parsed as markup (paths, errors)."""
    from rich.text import Text

    console.print(Text(line, style=style), soft_wrap=True)


def _short(text: Optional[str], n: int = 60) -> str:
    text = " ".join((text or "").split())
    return text if len(text) <= n else text[: n - 1] + "\u2026"


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

    @property
    def audio_missing(self) -> bool:
        return self.audio is not None and not self.audio.is_file()

    @property
    def company(self) -> Optional[str]:
        return self.row.company


def load_answers(store: "Store", session: "SessionRow", names: dict[str, str]) -> list[StoredAnswer]:
    reanalysed = store.reanalysed_at(session.id)
    out = []
    for n, row in enumerate(store.answers(session.id), start=1):
        cid = row.company or session.company
        a, why = None, None
        try:
            a = row.analysis(company_name=names.get(cid or ""))
        except (ValueError, KeyError, TypeError) as e:  # damaged or future JSON: show the rest
            why = first_line(e)
        out.append(StoredAnswer(n, row, a, store.absolute(row.audio_path), reanalysed.get(row.id), why))
    return out


def _judged(answers: Sequence[StoredAnswer]) -> list[Analysis]:
    return [x.analysis for x in answers if x.analysis is not None and x.analysis.error is None]


def _company_label(cid: Optional[str], names: dict[str, str]) -> str:
    if not cid:
        return "\u2014"
    return names.get(cid, cid)


def _companies_label(s: "SessionRow", answers: Sequence[StoredAnswer], names: dict[str, str]) -> Optional[str]:
    """The session's company, or its answers' companies (a batch-analysis session has none of its own)."""
    cids = [s.company] if s.company else sorted({x.company for x in answers if x.company})
    return ", ".join(_company_label(c, names) for c in cids) if cids else None


def _not_analysed_reason(x: StoredAnswer) -> str:
    if x.unreadable:
        return f"its stored analysis cannot be read ({x.unreadable})"
    status = x.row.status
    if status == "recording":
        return "the recording was cut off before it was analysed (`starcoach practice` offers to recover it)"
    if status == "recorded":
        return "recorded but not analysed yet (`starcoach practice` offers to recover it)"
    return x.row.error or f"not analysed (status: {status})"


# --------------------------------------------------------------------------- sessions


def sessions_table(rows: Sequence["SessionRow"], answered: dict[int, tuple[int, int]], names: dict[str, str],
                   companies: Optional[dict[int, list[str]]] = None):
    """``answered``: session -> (answers analysed, answers); ``companies``: the answers' companies
    (a batch-analysis session has none of its own)."""
    from rich.table import Table
    from rich.text import Text

    t = Table(box=None, pad_edge=False, header_style="bold")
    t.add_column("#", justify="right", style="bold")
    t.add_column("date")
    t.add_column("kind")
    t.add_column("company")
    t.add_column("answered", justify="right")
    t.add_column("mean score", justify="right")
    t.add_column("time", justify="right")
    for s in rows:
        ok, total = answered.get(s.id, (0, 0))
        kind = Text(s.kind)
        if s.status == "interrupted":
            kind.append(" (interrupted)", style="yellow")
        elif s.status == "active":
            kind.append(" (unfinished)", style="yellow")
        count = f"{ok}" if ok == total else f"{ok} of {total}"
        score = Text("\u2014", style="dim") if s.mean_score is None else _score_cell(s.mean_score)
        cids = [s.company] if s.company else (companies or {}).get(s.id, [])
        company = ", ".join(_company_label(c, names) for c in cids) if cids else "\u2014"
        t.add_row(str(s.id), local_time(s.started_at), kind, company, count, score,
                  clock(s.total_s) if s.total_s else Text("\u2014", style="dim"))
    return t


def _score_cell(score: float):
    from rich.text import Text

    return Text(f"{score:.0f}", style=score_colour(score))


def cmd_sessions(args: "argparse.Namespace", env: Env) -> int:
    out = env.console()
    with _opened(args, env) as store:
        rows = store.sessions()
        if not rows:
            say(out, f"No sessions yet in {store.root}. Start one with `starcoach practice --company amazon`, "
                     "or judge recordings with `starcoach analyse FILE`.")
            return ExitStatus.OK
        answered, companies = {}, {}
        for s in rows:
            answers = store.answers(s.id)
            answered[s.id] = (sum(1 for a in answers if a.score is not None), len(answers))
            companies[s.id] = sorted({a.company for a in answers if a.company})
    out.print(sessions_table(rows, answered, _company_names(env), companies))
    out.print(f"[dim]{len(rows)} session(s). `starcoach replay N` shows one, `starcoach progress` the trends, "
              "`starcoach export N` writes one for a coach.[/dim]", highlight=False, soft_wrap=True)
    return ExitStatus.OK


# --------------------------------------------------------------------------- replay


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


def playback_view(a: Analysis, position_s: float, duration_s: float) -> "RenderableType":
    """The transcript with the word at ``position_s`` lit, and where playback is."""
    from rich.console import Group
    from rich.panel import Panel
    from rich.text import Text

    from starcoach.report import legend, transcript_text

    k = word_at(a.words, position_s)
    bar = Text()
    width = 30
    frac = 0.0 if duration_s <= 0 else min(1.0, max(0.0, position_s / duration_s))
    filled = int(round(frac * width))
    bar.append("\u25b6 ", style="bold green")
    bar.append(f"{clock(position_s)} / {clock(duration_s)}  ", style="bold")
    bar.append("\u2501" * filled, style="green")
    bar.append("\u2501" * (width - filled), style="grey35")
    bar.append("   Enter or Ctrl-C skips", style="dim")
    return Panel(Group(transcript_text(a, highlight_word=k), Text(""), legend(), bar), title="Playing",
                 title_align="left", border_style="green")


_NO_AUDIO_HINT = "use --no-audio to replay without sound"


def play_with_highlight(console: "Console", a: Analysis, player, keys, *, poll_s: float = 0.04,
                        on_frame: Optional[Callable[[float, Optional[int]], None]] = None) -> str:
    """Play one answer while a Live view lights each word as it is heard.

    ``player`` is a streaming :class:`starcoach.capture.playback.Player` (or anything with
    start(), position_s(), done, stop() and duration_s);
    ``keys.enter_pressed()`` skips.  Returns "finished" or "skipped"
    (Enter or Ctrl-C).  ``on_frame(position_s, word index)`` sees each frame drawn.
    """
    from rich.live import Live

    duration_s = float(getattr(player, "duration_s", 0.0) or a.duration_s or 0.0)
    outcome = "finished"
    with Live(playback_view(a, 0.0, duration_s), console=console, transient=True, auto_refresh=False) as live:
        try:
            player.start()
            while not player.done:
                if keys.enter_pressed():
                    outcome = "skipped"
                    break
                t = player.position_s()
                if on_frame is not None:
                    on_frame(t, word_at(a.words, t))
                live.update(playback_view(a, t, duration_s), refresh=True)
                time.sleep(poll_s)
            else:
                # Played to the end: everything was heard, the last word included, even when
                # Whisper put its start at the very end of the audio (the loop may stop first).
                t = max(duration_s, a.words[-1].start_s) if a.words else duration_s
                if on_frame is not None:
                    on_frame(t, word_at(a.words, t))
                live.update(playback_view(a, t, duration_s), refresh=True)
        except KeyboardInterrupt:
            outcome = "skipped"
        finally:
            player.stop()
    return outcome


def session_header(s: "SessionRow", names: dict[str, str], answers: int):
    from rich.text import Text

    t = Text()
    t.append(f"Session {s.id}", style="bold")
    t.append(f"  \u00b7  {s.kind}  \u00b7  {local_time(s.started_at)}", style="dim")
    if s.company:
        t.append(f"  \u00b7  {_company_label(s.company, names)}", style="cyan")
    t.append(f"  \u00b7  {answers} answer(s)", style="dim")
    if s.mean_score is not None:
        t.append(f"  \u00b7  mean score {s.mean_score:.0f}", style="dim")
    if s.status != "complete":
        t.append(f"  \u00b7  {s.status}", style="yellow")
    return t


def answer_view(x: StoredAnswer) -> "RenderableType":
    """An answer's full report (report.analysis_view), or why there is none."""
    from rich.console import Group
    from rich.text import Text

    from starcoach.report import analysis_view

    if x.analysis is None:
        t = Text()
        if x.row.question:
            t.append("Q: ", style="bold")
            t.append(x.row.question + "\n")
        t.append("Not analysed: " + _not_analysed_reason(x), style="yellow")
        return t
    parts: list = [analysis_view(x.analysis)]
    if x.reanalysed_at:
        parts.append(Text(f"Re-analysed {local_time(x.reanalysed_at)} (`starcoach reanalyse`): the analysis above "
                          "is from then, not from when the answer was given.", style="dim"))
    return Group(*parts)


def cmd_replay(args: "argparse.Namespace", env: Env) -> int:
    from starcoach.audio import SAMPLE_RATE_HZ, AudioError, load_audio
    from starcoach.capture import playback
    from starcoach.capture.portaudio import HardwareError
    from starcoach.pipeline.keys import Keys

    out = env.console()
    names = _company_names(env)
    with _opened(args, env) as store:
        s = _session(store, args.session)
        answers = load_answers(store, s, names)
    total = len(answers)
    if args.answer is not None:
        if args.answer > total:
            raise UsageError(f"session {s.id} has {total} answer(s); there is no answer {args.answer}")
        answers = [answers[args.answer - 1]]
    out.print(session_header(s, names, total))
    if not answers:
        out.print("This session has no answers.")
        return ExitStatus.OK

    make_player = None
    playable = [x for x in answers if x.analysis is not None and x.audio is not None and not x.audio_missing]
    if not args.no_audio and playable and env.stdout.isatty():
        try:
            make_player = playback.open_output(hint=_NO_AUDIO_HINT, player_hint=_NO_AUDIO_HINT)
        except HardwareError as e:
            say(out, f"Audio not played: {e}", "dim")
    keys = Keys(env.stdin)
    for x in answers:
        out.rule(f"Answer {x.n} of {total}", align="left", style="grey50")
        out.print(answer_view(x))
        if x.audio_missing:
            say(out, f"Audio file missing: {x.audio} (the rest of the answer is shown above).", "yellow")
            continue
        if make_player is None or not any(x is p for p in playable):
            continue
        try:
            samples = load_audio(x.audio)
            player = make_player(samples, SAMPLE_RATE_HZ)
            if play_with_highlight(out, x.analysis, player, keys) == "skipped":
                say(out, "Playback skipped.", "dim")
        except AudioError as e:
            say(out, f"Cannot play the audio: {e}", "yellow")
        except HardwareError as e:
            say(out, f"Audio not played: {e}", "yellow")
            make_player = None
    return ExitStatus.OK


# --------------------------------------------------------------------------- progress


@dataclass(frozen=True)
class SessionStats:
    """One session's numbers for the progress charts (None: nothing to measure, e.g. no audio)."""

    id: int
    started_at: str
    answers: int
    mean_score: float
    #: Component -> (answers where it was present, answers judged).
    present: dict[str, int]
    fillers_per_min: Optional[float]
    wpm: Optional[float]
    words: Optional[float]
    spoken_s: Optional[float]

    def presence(self, component: str) -> float:
        return 100.0 * self.present.get(component, 0) / self.answers if self.answers else 0.0


def session_stats(session_id: int, started_at: str, analyses: Sequence[Analysis]) -> Optional[SessionStats]:
    judged = [a for a in analyses if a.error is None and a.structure]
    if not judged:
        return None
    spoken = [a.delivery for a in judged if a.delivery is not None and a.delivery.speaking_s > 0]
    speak_s = sum(d.speaking_s for d in spoken)
    words = [a.checks.word_count for a in judged if a.checks is not None]
    return SessionStats(
        id=session_id, started_at=started_at, answers=len(judged),
        mean_score=sum(a.score for a in judged) / len(judged),
        present={c: sum(1 for a in judged if c in a.structure and a.structure[c].present) for c in COMPONENTS},
        fillers_per_min=(sum(len(d.fillers) for d in spoken) / (speak_s / 60.0)) if spoken else None,
        wpm=(sum(d.wpm * d.speaking_s for d in spoken) / speak_s) if spoken else None,
        words=(sum(words) / len(words)) if words else None,
        spoken_s=(speak_s / len(spoken)) if spoken else None,
    )


def sparkline(values: Sequence[Optional[float]], lo: Optional[float] = None, hi: Optional[float] = None) -> str:
    """One block per value, scaled between ``lo`` and ``hi`` (default: the values' own range); None is '\u00b7'."""
    known = [v for v in values if v is not None]
    if not known:
        return "\u00b7" * len(values)
    given_lo = lo is not None
    lo = min(known) if lo is None else lo
    hi = max(known) if hi is None else hi
    out = []
    for v in values:
        if v is None:
            out.append("\u00b7")
        elif hi - lo <= 1e-9:  # nothing to compare: the floor if it is the given floor, else mid-height
            out.append(SPARK_BLOCKS[0] if given_lo and v <= lo else SPARK_BLOCKS[len(SPARK_BLOCKS) // 2])
        else:
            frac = min(1.0, max(0.0, (v - lo) / (hi - lo)))
            out.append(SPARK_BLOCKS[int(round(frac * (len(SPARK_BLOCKS) - 1)))])
    return "".join(out)


def weakest_component(stats: Sequence[SessionStats], recent: int = RECENT_SESSIONS) -> tuple[str, int, int, int]:
    """(component, answers with it present, answers judged, sessions looked at) over the last sessions.

    The lowest presence rate; a tie goes to the part that comes first in R-STAR-L.
    """
    window = list(stats)[-recent:]
    total = sum(s.answers for s in window)
    present = {c: sum(s.present.get(c, 0) for s in window) for c in COMPONENTS}
    worst = min(COMPONENTS, key=lambda c: (present[c] / total if total else 1.0, COMPONENTS.index(c)))
    return worst, present[worst], total, len(window)


def next_practice(stats: Sequence[SessionStats], company=None) -> "RenderableType":
    """The one thing to practise next, with a concrete tip."""
    from rich.panel import Panel
    from rich.text import Text

    c, have, total, n = weakest_component(stats)
    t = Text()
    window = f"the last {n} sessions" if n > 1 else "this session"
    if have < total:
        t.append("Practise next: ", style="bold")
        t.append(COMPONENT_TITLES[c], style=f"bold {COLOURS[c]}")
        t.append(f" \u2014 present in {have} of {total} answers ({100 * have / total:.0f}%) over {window}.\n")
        tip = TIPS[c].full
        if c == "link_back" and company is not None and getattr(company, "values", None):
            tip += f" For {company.name}, name one of: " + ", ".join(v.name for v in company.values[:4]) + "."
        t.append("Tip: ", style="bold")
        t.append(tip[0].upper() + tip[1:])
        return Panel(t, border_style="green", title="Next", title_align="left")
    # Every part is there: the next gain is in the delivery.
    window_stats = list(stats)[-RECENT_SESSIONS:]
    fpm = [s.fillers_per_min for s in window_stats if s.fillers_per_min is not None]
    wpm = [s.wpm for s in window_stats if s.wpm is not None]
    t.append("Every R-STAR-L part was present in " + window + ". ", style="bold green")
    if fpm and sum(fpm) / len(fpm) > FILLERS_OK_PER_MIN:
        t.append(f"Practise next: fewer fillers ({sum(fpm) / len(fpm):.1f}/min). Tip: when you feel an "
                 "\u201cum\u201d coming, pause silently instead \u2014 a one-second pause sounds confident.")
    elif wpm and not COMFORTABLE_WPM[0] <= sum(wpm) / len(wpm) <= COMFORTABLE_WPM[1]:
        avg = sum(wpm) / len(wpm)
        how = "slow down" if avg > COMFORTABLE_WPM[1] else "pick up the pace"
        t.append(f"Practise next: pace ({avg:.0f} words/min; comfortable is "
                 f"{COMFORTABLE_WPM[0]:.0f}-{COMFORTABLE_WPM[1]:.0f}). Tip: {how} \u2014 "
                 "time one answer at 2 minutes and aim for about 300 words.")
    else:
        t.append("Practise next: harder questions \u2014 `starcoach questions --company ID` lists the ones "
                 "that probe a company's values.")
    return Panel(t, border_style="green", title="Next", title_align="left")


def progress_view(stats: Sequence[SessionStats], *, skipped: int = 0, company=None,
                  company_label: Optional[str] = None) -> "RenderableType":
    """Charts of score, R-STAR-L presence and delivery over sessions, and the part to practise next."""
    from rich.console import Group
    from rich.table import Table
    from rich.text import Text

    shown = list(stats)[-CHART_SESSIONS:]
    answers = sum(s.answers for s in stats)
    head = Text()
    head.append(f"Progress over {len(stats)} session(s), {answers} answer(s)", style="bold")
    if company_label:
        head.append(f" \u00b7 {company_label}", style="bold cyan")
    if len(shown) < len(stats):
        head.append(f"  (charts show the last {len(shown)})", style="dim")
    if skipped:
        head.append(f"  ({skipped} session(s) with no analysed answers left out)", style="dim")

    # Score per session: one bar each.
    bars = Table(box=None, pad_edge=False, header_style="bold", title="Score per session", title_justify="left",
                 title_style="bold")
    bars.add_column("#", justify="right")
    bars.add_column("date")
    bars.add_column("answers", justify="right")
    bars.add_column("mean score")
    bars.add_column("R S T A R L")
    width = 25
    for s in shown:
        filled = int(round(s.mean_score / 100 * width))
        style = score_colour(s.mean_score)
        bar = Text("\u2588" * filled, style=style)
        bar.append("\u2591" * (width - filled), style="grey35")
        bar.append(f" {s.mean_score:3.0f}", style=f"bold {style}")
        marks = Text()
        for c in COMPONENTS:
            p = s.presence(c)
            marks.append("\u25cf " if p >= 99.5 else ("\u25d0 " if p > 0 else "\u25cb "),
                         style=COLOURS[c] if p > 0 else "dim")
        bars.add_row(str(s.id), local_time(s.started_at), str(s.answers), bar, marks)

    # Trends: one sparkline per measure, oldest session on the left.
    trends = Table(box=None, pad_edge=False, header_style="bold", title="Trends (oldest \u2192 newest)",
                   title_justify="left", title_style="bold")
    trends.add_column("measure")
    trends.add_column("trend", no_wrap=True)
    trends.add_column("first", justify="right")
    trends.add_column("latest", justify="right")
    trends.add_column("change", justify="right")

    def row(label, values, fmt, *, lo=None, hi=None, better: int = 1, style: str = "", good=None):
        known = [v for v in values if v is not None]
        # First and latest *measured* values: a written answer has no pace, a session without audio no fillers.
        first = known[0] if known else None
        last = known[-1] if known else None
        change = Text("\u2014", style="dim")
        if first is not None and last is not None and len(known) > 1:
            d = last - first
            tone = "dim" if better == 0 or abs(d) < 1e-9 else ("green" if d * better > 0 else "red")
            change = Text(("+" if d > 0 else "") + fmt(d), style=tone)
        latest = Text("\u2014", style="dim") if last is None else Text(fmt(last))
        if last is not None and good is not None:
            latest.stylize("green" if good(last) else "yellow")
        trends.add_row(Text(label, style=style), Text(sparkline(values, lo, hi), style=style or "cyan"),
                       "\u2014" if first is None else fmt(first), latest, change)

    def pct(v: float) -> str:
        return f"{v:.0f}%"

    def num(v: float) -> str:
        return f"{v:.0f}"

    row("Mean score", [s.mean_score for s in shown], num, lo=0, hi=100, style="bold")
    for c in COMPONENTS:
        row(f"{COMPONENT_TITLES[c]} present", [s.presence(c) for s in shown], pct, lo=0, hi=100,
            style=COLOURS[c])
    row("Fillers per minute", [s.fillers_per_min for s in shown], lambda v: f"{v:.1f}", lo=0, better=-1,
        good=lambda v: v <= FILLERS_OK_PER_MIN)
    row("Words per minute", [s.wpm for s in shown], num, better=0,
        good=lambda v: COMFORTABLE_WPM[0] <= v <= COMFORTABLE_WPM[1])
    row("Answer length (words)", [s.words for s in shown], num, lo=0, better=0)
    row("Answer length (spoken)", [s.spoken_s for s in shown], clock, lo=0, better=0,
        good=lambda v: TARGET_DURATION_S[0] <= v <= TARGET_DURATION_S[1])
    return Group(head, Text(""), bars, Text(""), trends, Text(""), next_practice(stats, company))


def cmd_progress(args: "argparse.Namespace", env: Env) -> int:
    out = env.console()
    want = args.company.lower() if args.company else None
    stats: list[SessionStats] = []
    skipped = 0
    seen_companies: set[str] = set()
    with _opened(args, env) as store:
        rows = store.sessions()
        for s in rows:
            analyses = []
            for row in store.answers(s.id):
                cid = row.company or s.company
                if cid:
                    seen_companies.add(cid)
                if want and (cid or "").lower() != want:
                    continue
                try:
                    a = row.analysis()
                except (ValueError, KeyError, TypeError):
                    a = None
                if a is not None:
                    analyses.append(a)
            if want and not analyses and (s.company or "").lower() != want:
                continue
            st = session_stats(s.id, s.started_at, analyses)
            if st is None:
                skipped += 1
            else:
                stats.append(st)
    company = None
    label = None
    if want:
        try:
            from starcoach.cli.common import load_catalogue_or_fail

            company = load_catalogue_or_fail(env).companies.get(want)
        except UsageError:
            company = None
        label = company.name if company else want
    if not stats:
        if want:
            others = f" (sessions exist for: {', '.join(sorted(seen_companies))})" if seen_companies else ""
            say(out, f"No analysed answers for company '{args.company}' yet{others}. Practise with "
                     f"`starcoach practice --company {args.company}`.")
        else:
            say(out, "No analysed answers yet, so no progress to show. Start with `starcoach practice "
                     "--company amazon`; each session adds a point to the charts.")
        return ExitStatus.OK
    out.print(progress_view(stats, skipped=skipped, company=company, company_label=label))
    return ExitStatus.OK


# --------------------------------------------------------------------------- export


def delivery_rows(a: Analysis) -> list[tuple[str, str]]:
    """The delivery metrics as (label, value) text, for Markdown and HTML (the terminal report's wording)."""
    from starcoach.report import delivery_lines

    rows: list[tuple[str, str]] = []
    if a.checks is not None:
        rows.append(("Words", str(a.checks.word_count)))
    d = a.delivery
    if d is None:
        rows.append(("Delivery", "written answer: no delivery metrics"))
        return rows
    rows += [(label, text) for label, text, _ in delivery_lines(d, max_pauses=None)]
    parts = [f"{COMPONENT_TITLES[c]} {s:.0f}s" for c, s in d.component_s if s > 0]
    if parts:
        rows.append(("Time per part", ", ".join(parts)))
    return rows


def checklist_rows(a: Analysis) -> Iterator[tuple[str, "ComponentResult", str]]:
    """(component, its result, evidence text with the link-back values named first), in R-STAR-L order."""
    for c in COMPONENTS:
        r = a.structure.get(c)
        if r is None:
            continue
        ev = r.evidence or ""
        if c == "link_back" and r.values:
            ev = f"[{', '.join(r.values)}] " + ev
        yield c, r, ev


def session_json(s: "SessionRow", answers: Sequence[StoredAnswer], names: dict[str, str]) -> dict[str, Any]:
    objs = []
    for x in answers:
        if x.analysis is not None and x.row.analysis_json and x.unreadable is None:
            objs.append(json.loads(x.row.analysis_json))
        else:
            objs.append(Analysis.failed(x.row.audio_path or x.row.source or f"answer {x.n}", "not_analysed",
                                        _not_analysed_reason(x), question=x.row.question,
                                        company=x.row.company).to_json())
    return {
        "schema": SESSION_SCHEMA,
        "session": {
            "id": s.id, "kind": s.kind, "started_at": s.started_at, "ended_at": s.ended_at, "status": s.status,
            "company": s.company, "company_name": names.get(s.company or "") if s.company else None,
            "settings": s.settings, "answers": len(answers),
            "mean_score": None if s.mean_score is None else round(float(s.mean_score), 1),
            "total_s": round(float(s.total_s or 0.0), 2),
        },
        "answers": objs,
    }


def _md(text: Optional[str]) -> str:
    """Text safe inside Markdown: no raw HTML, no accidental emphasis or table breaks."""
    out = html.escape(" ".join((text or "").split()), quote=False)
    for ch in "\\`*_[]|#":
        out = out.replace(ch, "\\" + ch)
    return out


def session_markdown(s: "SessionRow", answers: Sequence[StoredAnswer], names: dict[str, str]) -> str:
    lines = [f"# starcoach session {s.id}", ""]
    lines.append(f"- Date: {local_time(s.started_at)} (local time)")
    lines.append(f"- Kind: {s.kind} ({s.status})")
    company = _companies_label(s, answers, names)
    if company:
        lines.append(f"- Company: {_md(company)}")
    mean = "" if s.mean_score is None else f", mean score {s.mean_score:.0f}"
    lines.append(f"- Answers: {len(answers)}{mean}" + (f", {clock(s.total_s)} recorded" if s.total_s else ""))
    for x in answers:
        a = x.analysis
        lines += ["", f"## {x.n}. {_md(x.row.question) or '(no question)'}", ""]
        if x.audio_missing:
            lines += [f"*Audio file missing:* `{x.audio}`", ""]
        elif x.audio is not None:
            lines += [f"Audio: `{x.audio}`", ""]
        if a is None:
            lines.append(f"Not analysed: {_md(_not_analysed_reason(x))}")
            continue
        if a.error is not None:
            lines.append(f"Could not be analysed: {_md(a.error.message)}")
            continue
        lines += [f"**Score: {a.score}/100**", "", "### Transcript", ""]
        for sent in a.sentences:
            label = COMPONENT_TITLES.get(sent.component or "", "Other")
            lines.append(f"- **{label}:** {_md(sent.text)}")
        lines += ["", "### R-STAR-L", "", "| | Part | Present | Sure | Evidence |", "|---|---|---|---|---|"]
        for c, r, ev in checklist_rows(a):
            lines.append(f"| {COMPONENT_LETTERS[c]} | {COMPONENT_TITLES[c]} | {'yes' if r.present else 'no'} | "
                         f"{r.confidence:.0%} | {_md(ev) or '—'} |")
        lines += ["", "### Delivery", ""]
        lines += [f"- {label}: {_md(value)}" for label, value in delivery_rows(a)]
        lines += ["", "### What to work on", ""]
        if a.advice:
            lines += [f"{i}. {_md(line)}" for i, line in enumerate(a.advice, start=1)]
        else:
            lines.append("Nothing to fix: a complete R-STAR-L answer.")
        if x.reanalysed_at:
            lines += ["", f"*Re-analysed {local_time(x.reanalysed_at)}.*"]
    return "\n".join(lines) + "\n"


#: Background tint and accent for each component in the HTML page (the terminal's COLOURS, for paper).
HTML_COLOURS: dict[str, tuple[str, str]] = {
    "repeat": ("#f6dcf0", "#a61e85"),
    "situation": ("#dce6fb", "#1f4fbf"),
    "task": ("#d5f1f4", "#0b7a86"),
    "action": ("#dcf3df", "#2b8a3e"),
    "result": ("#fbf0c9", "#a87b00"),
    "link_back": ("#fddcdc", "#c92a2a"),
}

_CSS = """
body{font:16px/1.55 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#1d2125;background:#fafafa;
margin:0;padding:2rem 1rem}
main{max-width:60rem;margin:0 auto}
h1{font-size:1.6rem;margin:0 0 .3rem}h2{font-size:1.2rem;margin:0 0 .6rem}h3{font-size:1rem;margin:1.2rem 0 .4rem;
color:#495057;text-transform:uppercase;letter-spacing:.04em}
.meta{color:#6c757d;margin:0 0 1rem}
.answer{background:#fff;border:1px solid #dee2e6;border-radius:8px;padding:1.2rem 1.4rem;margin:1.4rem 0}
.score{font-size:1.1rem;margin:.2rem 0 .8rem}.score b{font-size:1.4rem}
.good{color:#2b8a3e}.ok{color:#a87b00}.poor{color:#c92a2a}
audio{width:100%;margin:.4rem 0}
.note{background:#fff4e6;border-left:4px solid #f08c00;padding:.4rem .8rem}
.transcript{line-height:2}
.c{padding:.15rem .2rem;border-radius:3px;border-bottom:2px solid transparent}
.c-none{color:#6c757d}
.legend .c{margin-right:.4rem;font-size:.9rem}
table{border-collapse:collapse;width:100%}
th,td{text-align:left;padding:.3rem .5rem;border-bottom:1px solid #eee;vertical-align:top}
th{font-size:.85rem;color:#495057}
.yes{color:#2b8a3e;font-weight:bold}.no{color:#c92a2a;font-weight:bold}
.evidence{font-style:italic;color:#495057}
.metrics th{width:10rem}.checklist td:nth-child(2){white-space:nowrap}
footer{color:#868e96;font-size:.85rem;margin-top:2rem}
"""


def _css() -> str:
    rules = [_CSS.strip()]
    for c, (bg, fg) in HTML_COLOURS.items():
        cls = c.replace("_", "-")
        rules.append(f".c-{cls}{{background:{bg};border-bottom-color:{fg}}}"
                     f".l-{cls}{{color:{fg};font-weight:bold}}")
    return "\n".join(rules)


def wav_data_uri(path: Path) -> str:
    """The recording as a 16 kHz 16-bit mono WAV in a data: URI (any readable audio file; AudioError if not)."""
    import numpy as np

    from starcoach.audio import SAMPLE_RATE_HZ, load_audio
    from starcoach.capture.playback import pcm16

    pcm = pcm16(np.asarray(load_audio(path), dtype=np.float32)).astype("<i2")
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(SAMPLE_RATE_HZ)
        w.writeframes(pcm.tobytes())
    return "data:audio/wav;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def session_html(s: "SessionRow", answers: Sequence[StoredAnswer], names: dict[str, str],
                 audio_uri: Callable[[Path], str] = wav_data_uri) -> str:
    """One self-contained page: inline CSS, audio as data: URIs, every piece of stored text escaped."""
    from starcoach import __version__
    from starcoach.audio import AudioError

    e = html.escape
    title = f"starcoach session {s.id}"
    company = _companies_label(s, answers, names)
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        # Nothing may load or run: the page is a record, and transcripts are untrusted text.
        "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'; "
        "media-src data:; img-src data:\">",
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{e(title)}</title><style>{_css()}</style></head><body><main>",
        f"<h1>{e(title)}</h1>",
    ]
    meta = [s.kind, local_time(s.started_at)]
    if company:
        meta.append(company)
    meta.append(f"{len(answers)} answer(s)")
    if s.mean_score is not None:
        meta.append(f"mean score {s.mean_score:.0f}")
    if s.total_s:
        meta.append(f"{clock(s.total_s)} recorded")
    parts.append(f'<p class="meta">{e(" · ".join(meta))}</p>')
    legend = "".join(f'<span class="c c-{c.replace("_", "-")}">{e(COMPONENT_TITLES[c])}</span>' for c in COMPONENTS)
    parts.append(f'<p class="legend">{legend}<span class="c c-none">other</span></p>')
    for x in answers:
        a = x.analysis
        parts.append(f'<section class="answer" id="answer-{x.n}">')
        parts.append(f"<h2>{x.n}. {e(x.row.question or '(no question)')}</h2>")
        if a is not None and a.error is None:
            parts.append(f'<p class="score">Score <b class="{score_band(a.score)}">{a.score}</b>/100</p>')
        if x.audio_missing:
            parts.append(f'<p class="note">Audio file missing: {e(str(x.audio))}</p>')
        elif x.audio is not None:
            try:
                parts.append(f'<audio controls preload="metadata" src="{e(audio_uri(x.audio))}"></audio>')
            except AudioError as err:
                parts.append(f'<p class="note">Audio could not be read: {e(str(err))}</p>')
        if a is None:
            parts.append(f'<p class="note">Not analysed: {e(_not_analysed_reason(x))}</p></section>')
            continue
        if a.error is not None:
            parts.append(f'<p class="note">Could not be analysed: {e(a.error.message)}</p></section>')
            continue
        parts.append("<h3>Transcript</h3>")
        spans = []
        for sent in a.sentences:
            c = sent.component or ""
            cls = c.replace("_", "-") if c in COMPONENTS else "none"
            spans.append(f'<span class="c c-{cls}" data-component="{e(c or "none")}" '
                         f'title="{e(COMPONENT_TITLES.get(c, "other"))}">{e(sent.text)}</span>')
        parts.append('<p class="transcript">' + " ".join(spans) + "</p>")
        parts.append('<h3>R-STAR-L</h3><table class="checklist"><thead><tr><th></th><th>Part</th><th>Present</th>'
                     "<th>Sure</th><th>Evidence</th></tr></thead><tbody>")
        for c, r, ev in checklist_rows(a):
            cls = c.replace("_", "-")
            mark = '<span class="yes">\u2713 yes</span>' if r.present else '<span class="no">\u2717 no</span>'
            parts.append(f'<tr data-component="{c}"><td class="l-{cls}">{COMPONENT_LETTERS[c]}</td>'
                         f'<td class="l-{cls}">{e(COMPONENT_TITLES[c])}</td><td>{mark}</td>'
                         f'<td>{r.confidence:.0%}</td><td class="evidence">{e(ev) or "—"}</td></tr>')
        parts.append("</tbody></table>")
        parts.append('<h3>Delivery</h3><table class="metrics"><tbody>')
        for label, value in delivery_rows(a):
            parts.append(f"<tr><th>{e(label)}</th><td>{e(value)}</td></tr>")
        parts.append("</tbody></table>")
        parts.append("<h3>What to work on</h3>")
        if a.advice:
            parts.append('<ol class="advice">' + "".join(f"<li>{e(line)}</li>" for line in a.advice) + "</ol>")
        else:
            parts.append('<p class="advice">Nothing to fix: a complete R-STAR-L answer.</p>')
        if x.reanalysed_at:
            parts.append(f'<p class="meta">Re-analysed {e(local_time(x.reanalysed_at))}.</p>')
        parts.append("</section>")
    parts.append(f"<footer>Exported by starcoach {e(__version__)}.</footer></main></body></html>")
    return "\n".join(parts) + "\n"


def _write(path: Path, text: str) -> None:
    """Write privately (recordings are personal) and atomically (no half-written page on Ctrl-C)."""
    from starcoach.files import write_atomic

    try:
        write_atomic(path, text)
    except OSError as err:
        raise UsageError(f"cannot write {path}: {err.strerror or err}") from None


def cmd_export(args: "argparse.Namespace", env: Env) -> int:
    names = _company_names(env)
    with _opened(args, env) as store:
        s = _session(store, args.session)
        answers = load_answers(store, s, names)
    fmt = args.format
    if fmt == "json":
        text = json.dumps(session_json(s, answers, names), ensure_ascii=False, indent=2) + "\n"
    elif fmt == "md":
        text = session_markdown(s, answers, names)
    else:
        text = session_html(s, answers, names)
    target = args.output
    if target is None and fmt == "html":
        target = f"session-{s.id}.html"
    err = env.console(err=True)
    for x in answers:
        if x.audio_missing:
            say(err, f"Answer {x.n}: audio file missing: {x.audio} (exported without it).", "yellow")
    if target is None or target == "-":
        env.stdout.write(text)
        env.stdout.flush()
        return ExitStatus.OK
    path = Path(target).expanduser()
    _write(path, text)
    size = len(text.encode("utf-8"))
    what = f"{size / 1e6:.1f} MB" if size >= 1e5 else f"{size / 1e3:.1f} kB"
    say(env.console(), f"Wrote {path} ({what}, {len(answers)} answer(s)).")
    return ExitStatus.OK


# --------------------------------------------------------------------------- reanalyse


@dataclass(frozen=True)
class Reanalysed:
    session_id: int
    n: int
    question: Optional[str]
    old_score: Optional[int]
    new: Analysis


def reanalyse_session(store: "Store", session: "SessionRow", catalogue,
                      notes: Callable[[str], None], vault=None) -> tuple[list[Reanalysed], int]:
    """Judge every stored answer of ``session`` again; (results, answers skipped for want of a transcript).

    With the story vault, as `analyse` and `practice` judge: the advice says which story was told
    and what of it was left out.
    """
    from starcoach.pipeline.process import analyse_transcript

    done: list[Reanalysed] = []
    skipped = 0
    warned: set[str] = set()
    for n, row in enumerate(store.answers(session.id), start=1):
        transcript = row.transcript()
        old = None
        if row.analysis_json:
            try:
                old = json.loads(row.analysis_json)
            except ValueError:
                old = None
        answer = transcript if transcript is not None and (transcript.words or transcript.text.strip()) else None
        if answer is None and old and (old.get("transcript") or "").strip():
            answer = old["transcript"]  # a written answer: the text is the transcript
        if answer is None:
            skipped += 1
            continue
        cid = row.company or session.company
        company = None
        if cid:
            company = catalogue.companies.get(cid.lower())
            if company is None and cid not in warned:
                warned.add(cid)
                notes(f"company '{cid}' is no longer in the question banks: answers for it are analysed "
                      "without its values")
        question = row.question if row.question is not None else (old or {}).get("question")
        input_name = (old or {}).get("input") or row.source or row.audio_path or f"answer {row.id}"
        a = analyse_transcript(answer, input=input_name, question=question, company=company, vault=vault)
        store.save_analysis(row.id, a)
        store.mark_reanalysed(row.id)
        done.append(Reanalysed(session.id, n, question, row.score, a))
    return done, skipped


def reanalyse_table(results: Sequence[Reanalysed]):
    from rich.table import Table
    from rich.text import Text

    t = Table(box=None, pad_edge=False, header_style="bold")
    t.add_column("session", justify="right")
    t.add_column("#", justify="right")
    t.add_column("question")
    t.add_column("old", justify="right")
    t.add_column("")
    t.add_column("new", justify="right")
    t.add_column("change", justify="right")
    for r in results:
        old = Text("\u2014", style="dim") if r.old_score is None else Text(str(r.old_score))
        if r.new.error is not None:
            new = Text(r.new.error.kind, style="red")
            change = Text("")
        else:
            new = Text(str(r.new.score), style="bold")
            if r.old_score is None:
                change = Text("new", style="dim")
            else:
                d = r.new.score - r.old_score
                change = Text(f"{d:+d}" if d else "0", style="green" if d > 0 else ("red" if d < 0 else "dim"))
        t.add_row(str(r.session_id), str(r.n), _short(r.question, 50) or "\u2014", old, "\u2192", new, change)
    return t


def cmd_reanalyse(args: "argparse.Namespace", env: Env) -> int:
    from starcoach.cli.common import load_catalogue_or_fail

    if args.all and args.session:
        raise UsageError("give a session or --all, not both")
    if not args.all and not args.session:
        raise UsageError("say which session to re-analyse (a number, or 'latest'), or --all for every one")
    out = env.console()
    err = env.console(err=True)
    catalogue = load_catalogue_or_fail(env)
    results: list[Reanalysed] = []
    skipped = 0
    with _opened(args, env) as store:
        from starcoach.cli.common import load_vault_quiet

        vault = load_vault_quiet(store.root / "vault.toml", catalogue, err)
        if args.all:
            sessions = store.sessions()
            if not sessions:
                say(out, f"Nothing to re-analyse: no sessions stored in {store.root} yet.")
                return ExitStatus.OK
        else:
            sessions = [_session(store, args.session)]
        def note(message: str) -> None:
            say(err, f"note: {message}", "yellow")

        for s in sessions:
            done, skip = reanalyse_session(store, s, catalogue, note, vault)
            results += done
            skipped += skip
    if results:
        out.print(reanalyse_table(results))
    changed = sum(1 for r in results if r.new.error is None and r.old_score != r.new.score)
    failed = sum(1 for r in results if r.new.error is not None)
    summary = (f"Re-analysed {len(results)} answer(s) in {len(sessions)} session(s) with the current rules; "
               f"{changed} score(s) changed.")
    if skipped:
        summary += f" {skipped} answer(s) had no stored transcript and were left as they were."
    say(out, summary)
    return ExitStatus.INPUT_FAILED if failed else ExitStatus.OK
