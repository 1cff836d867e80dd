"""The session table, a session's header, a stored answer's report and the re-analysis table.

What ``sessions``, ``replay`` and ``reanalyse`` show; builds rich
renderables and never prints.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Optional, Sequence

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from starcoach.stored import (
    StoredAnswer,
    StoredFollowUp,
    clock,
    company_label,
    local_time,
    not_analysed_reason,
    session_kind,
    short,
)
from starcoach.targets import score_colour
from starcoach.views.report import analysis_view

if TYPE_CHECKING:
    from starcoach.pipeline.reanalyse import Reanalysed
    from starcoach.store.database import SessionRow


def sessions_table(rows: Sequence["SessionRow"], answered: dict[int, tuple[int, int]], names: dict[str, str],
                   companies: Optional[dict[int, list[str]]] = None):
    """``answered``: session -> (answers analysed, answers); ``companies``: the answers' companies
    (a batch-analysis session has none of its own)."""
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
        kind = Text(session_kind(s))
        if s.status == "interrupted":
            kind.append(" (interrupted)", style="yellow")
        elif s.status == "active":
            kind.append(" (unfinished)", style="yellow")
        count = f"{ok}" if ok == total else f"{ok} of {total}"
        score = Text("\u2014", style="dim") if s.mean_score is None else score_cell(s.mean_score)
        cids = [s.company] if s.company else (companies or {}).get(s.id, [])
        company = ", ".join(company_label(c, names) for c in cids) if cids else "\u2014"
        t.add_row(str(s.id), local_time(s.started_at), kind, Text(company), count, score,
                  clock(s.total_s) if s.total_s else Text("\u2014", style="dim"))
    return t


def score_cell(score: float):
    return Text(f"{score:.0f}", style=score_colour(score))


def session_header(s: "SessionRow", names: dict[str, str], answers: int):
    t = Text()
    t.append(f"Session {s.id}", style="bold")
    t.append(f"  \u00b7  {s.kind}  \u00b7  {local_time(s.started_at)}", style="dim")
    if s.company:
        t.append(f"  \u00b7  {company_label(s.company, names)}", style="cyan")
    t.append(f"  \u00b7  {answers} answer(s)", style="dim")
    if s.mean_score is not None:
        t.append(f"  \u00b7  mean score {s.mean_score:.0f}", style="dim")
    if s.status != "complete":
        t.append(f"  \u00b7  {s.status}", style="yellow")
    return t


def answer_view(x: StoredAnswer) -> RenderableType:
    """An answer's full report (report.analysis_view), or why there is none."""
    if x.analysis is None:
        t = Text()
        if x.row.question:
            t.append("Q: ", style="bold")
            t.append(x.row.question + "\n")
        t.append("Not analysed: " + not_analysed_reason(x), style="yellow")
        return t
    parts: list = [analysis_view(x.analysis)]
    if x.reanalysed_at:
        parts.append(Text(f"Re-analysed {local_time(x.reanalysed_at)} (`starcoach reanalyse`): the analysis above "
                          "is from then, not from when the answer was given.", style="dim"))
    return Group(*parts)


def follow_up_answer_view(x: StoredAnswer, f: StoredFollowUp) -> RenderableType:
    """A stored follow-up: the question asked, then its answer's report beside the first answer's
    checklist (views/followup.py), or why there is none."""
    from starcoach.views.followup import follow_up_question_view, follow_up_view

    head = follow_up_question_view(f.row.question or "(no question)", f.n, len(x.follow_ups), f.component)
    if f.analysis is None:
        return Group(head, Text("Not analysed: " + not_analysed_reason(f), style="yellow"))
    return Group(head, follow_up_view(f.analysis, x.analysis, f.together, f.supplied, f.component))


def reanalyse_table(results: Sequence[Reanalysed]):
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
        number = f"{r.n}.{r.follow_up}" if r.follow_up else str(r.n)  # as export heads it: "Follow-up 1.1"
        question = Text(short(r.question, 50) or "\u2014")
        if r.follow_up:  # a reply to a follow-up, under its answer
            question = Text("\u21b3 ", style="dim") + Text(short(r.question, 48) or "\u2014", style="italic")
        t.add_row(str(r.session_id), number, question, old, "\u2192", new, change)
    return t
