"""What the practice loop shows: the values brief, each question, the recording meter and live cues, the summary.

Renderables only (rich), built from plain values; ``pipeline.practice``
decides when each is printed.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Optional, Sequence

from rich.console import Group
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from starcoach.model import COMPONENT_LETTERS, COMPONENT_TITLES, COMPONENTS, Analysis
from starcoach.progress import next_focus
from starcoach.targets import COLOURS

if TYPE_CHECKING:
    from pathlib import Path

    from starcoach.catalogue.banks import Company, Question
    from starcoach.pipeline.live import LiveCues


def intro_view(company: Optional["Company"], mic_file: Optional["Path"]) -> Panel:
    """The opening panel: the company's values in brief (or how to choose one), and how to answer."""
    title = Text("starcoach practice", style="bold")
    if company:
        title.append(f" · {company.name}", style="bold cyan")
    lines: list = [title]
    if company:
        # In brief: each value's name and the first clause of what it means.
        t = Table.grid(padding=(0, 2))
        t.add_column(style="bold cyan", no_wrap=True)
        t.add_column(style="dim", no_wrap=True, overflow="ellipsis", max_width=70)
        shown = company.values[:8]
        for v in shown:
            t.add_row(Text(v.name), Text(gist(v.meaning)))
        lines += [Text("\nValues to link back to:", style="bold"), t]
        if len(company.values) > len(shown):
            lines.append(Text(f"… and {len(company.values) - len(shown)} more "
                              f"(`starcoach companies {company.id}`)", style="dim"))
    else:
        lines.append(Text("No company chosen: link back to the role or team (use --company ID to practise "
                          "against a company's values).", style="dim"))
    if mic_file is not None:
        # The demo and --mic-file: nobody needs to speak, a recording answers.
        lines.append(Text(f"\nA recording ({mic_file.name}) gives the answer in your place: watch it "
                          "transcribed live, then judged. R-STAR-L: Repeat the question in your words, "
                          "Situation, Task, Action, Result, Link back.", style="dim"))
    else:
        lines.append(Text("\nAnswer out loud. R-STAR-L: Repeat the question in your words, Situation, Task, "
                          "Action, Result, Link back. Stop by pausing for a few seconds or pressing Enter.",
                          style="dim"))
    return Panel(Group(*lines), border_style="cyan")


def question_view(question: "Question", values: Sequence, n: int, total: int) -> Panel:
    """Question n of total, with the company values it probes."""
    head = Text(f"Question {n}/{total}", style="bold")
    if values:
        head.append("   probes: " + ", ".join(v.name for v in values), style="cyan")
    return Panel(Text(question.text, style="bold"), title=head, title_align="left", border_style="magenta")


def countdown_view(left_s: float) -> Text:
    return Text(f"Think time: {left_s:4.1f} s  (Enter to start now)", style="yellow")


def meter_view(elapsed_s: float, max_s: float, level_dbfs: float, endpointer) -> Text:
    """The live recording line: time, time left, input level, the silence so far."""
    width = 30
    frac = min(1.0, max(0.0, (level_dbfs + 60.0) / 60.0))
    filled = int(round(frac * width))
    t = Text()
    t.append("\u25cf REC ", style="bold red")
    t.append(f"{int(elapsed_s) // 60}:{elapsed_s % 60:04.1f}", style="bold")
    left = max(0.0, max_s - elapsed_s)
    t.append(f"  ({int(left) // 60}:{int(left) % 60:02d} left)  ", style="dim")
    style = "green" if frac < 0.85 else "red"
    t.append("\u2588" * filled, style=style)
    t.append("\u2591" * (width - filled), style="grey35")
    if getattr(endpointer, "speech_started", False):
        sil = getattr(endpointer, "trailing_silence_s", 0.0)
        if sil >= 1.0:
            t.append(f"  silence {sil:.0f}s", style="yellow")
    else:
        t.append("  waiting for you to speak…", style="dim")
    t.append("   Enter = done", style="dim")
    return t


#: The line under the meter while the endpointer finds the room too noisy to hear the answer end.
NOISY_ROOM = "Noisy room: your answer may not end by itself; press Enter when you finish."


def room_view(endpointer) -> Optional[Text]:
    """One line saying that the room is noisy and that Enter ends the answer, while ``endpointer.noisy``."""
    if not getattr(endpointer, "noisy", False):
        return None
    return Text(NOISY_ROOM, style="bold yellow", no_wrap=True, overflow="ellipsis")


def cues_view(cues: Optional["LiveCues"]) -> Text:
    """The live cues under the meter: words so far, fillers, recent pace, the R-STAR-L parts heard."""
    t = Text("  ")
    if cues is None:
        t.append("live: words, fillers, pace and the R-STAR-L parts show after your first pause", style="dim")
        return t
    t.append("live  ", style="bold")
    t.append(f"{cues.words} words", style="bold")
    t.append(" · ", style="dim")
    t.append(f"{cues.fillers} filler{'s' if cues.fillers != 1 else ''}", style="yellow" if cues.fillers else "")
    t.append(" · ", style="dim")
    t.append(f"{cues.wpm_recent:.0f} wpm (last 30 s)" if cues.wpm_recent is not None else "pace: more to come",
             style="" if cues.wpm_recent is not None else "dim")
    t.append(" · heard: ", style="dim")
    for c in COMPONENTS:
        heard = c in cues.parts
        t.append(COMPONENT_LETTERS[c], style=f"bold {COLOURS[c]}" if heard else "grey35")
        t.append(" ")
    if cues.parts:
        t.append("(" + ", ".join(COMPONENT_TITLES[c] for c in cues.parts) + ")", style="dim")
    return t


def summary_view(rows: Sequence[tuple["Question", Optional[Analysis]]],
                 follow_ups: Optional[Sequence[str]] = None) -> Table:
    """One row per answer: question, score, the R-STAR-L parts present, speaking time; with
    ``follow_ups`` (one cell per answer, e.g. "1: +result"), what its follow-ups supplied."""
    t = Table(title="Session summary", title_justify="left", box=None, pad_edge=False)
    t.add_column("#", justify="right")
    t.add_column("question")
    t.add_column("score", justify="right")
    t.add_column("R S T A R L")
    t.add_column("time", justify="right")
    extra = bool(follow_ups and any(follow_ups))
    if extra:
        t.add_column("follow-ups")
    for i, (question, a) in enumerate(rows, 1):
        cell = [follow_ups[i - 1]] if extra and follow_ups else []
        if a is None or a.error is not None:
            t.add_row(str(i), Text(short(question.text)), "—",
                      Text("not analysed" if a is None else a.error.kind, style="dim"), "", *cell)
            continue
        marks = Text()
        for c in COMPONENTS:
            ok = a.structure[c].present
            marks.append("\u25cf " if ok else "\u25cb ", style=COLOURS[c] if ok else "dim")
        dur = a.delivery.speaking_s if a.delivery else 0.0
        t.add_row(str(i), Text(short(question.text)), str(a.score), marks, f"{dur:.0f}s", *cell)
    return t


def session_end_view(rows: Sequence[tuple["Question", Optional[Analysis]]],
                     follow_ups: Optional[Sequence[str]] = None) -> Group:
    """The summary table, the mean score of the main answers and the one thing to work on next."""
    parts: list = [summary_view(rows, follow_ups)]
    done = [a for _, a in rows if a is not None and a.error is None]
    if done:
        mean = sum(a.score for a in done) / len(done)
        parts.append(Text.assemble("Mean score ", (f"{mean:.0f}", "bold"), f" over {len(done)} answer(s)."))
        parts.append(Text("Work on next: ", style="bold") + Text(next_focus(done)))
    return Group(*parts)


def short(text: str, n: int = 60) -> str:
    return text if len(text) <= n else text[: n - 1] + "…"


def gist(meaning: str, limit: int = 70) -> str:
    """The first clause of a value's meaning, cut at a word boundary for the values brief."""
    first = re.split(r"(?<=[.;])\s", meaning.strip(), maxsplit=1)[0].rstrip(".;")
    if len(first) <= limit:
        return first
    return first[:limit].rsplit(" ", 1)[0].rstrip(",;:") + "…"
