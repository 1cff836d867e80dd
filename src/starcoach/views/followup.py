"""What a follow-up question and its answer look like in the terminal (practice and replay).

The question is shown like a main question; the report on its answer shows
the reply coloured by part, its delivery, what it supplied ("Result: now
measured — ..."), and the R-STAR-L checklist of the first answer beside the
story with the follow-up; the first answer's score is kept and said.
Renderables only.
"""

from __future__ import annotations

from typing import Optional, Sequence

from rich.console import Group, RenderableType
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from starcoach.judge.story import Supplied
from starcoach.model import COMPONENT_LETTERS, COMPONENT_TITLES, COMPONENTS, UNSURE_BELOW, Analysis
from starcoach.targets import COLOURS, cut_banner
from starcoach.views.report import delivery_panel, legend, score_text, transcript_text


def follow_up_question_view(text: str, k: int, n: int, component: Optional[str]) -> Panel:
    """Follow-up k (of at most n) to the question just answered, and the part it asks about."""
    head = Text(f"Follow-up {k}" + (f"/{n}" if n > 1 else ""), style="bold")
    if component:
        head.append(f"   asks about: {COMPONENT_TITLES[component]}", style=COLOURS[component])
    return Panel(Text(text, style="bold"), title=head, title_align="left", border_style="magenta")


def _mark(a: Optional[Analysis], c: str) -> Text:
    r = a.structure.get(c) if a is not None else None
    if r is None:
        return Text("\u2014", style="dim")
    if r.confidence < UNSURE_BELOW:
        return Text("?", style="bold yellow")
    return Text("\u2713", style="bold green") if r.present else Text("\u2717", style="bold red")


def story_checklist(first: Analysis, together: Optional[Analysis]) -> Table:
    """R-STAR-L of the first answer beside that of the story with its follow-up answers."""
    t = Table(show_header=True, header_style="bold", box=None, pad_edge=False)
    t.add_column("", width=1)
    t.add_column("part")
    t.add_column("first answer", justify="center")
    t.add_column("with follow-up", justify="center")
    for c in COMPONENTS:
        t.add_row(Text(COMPONENT_LETTERS[c], style=f"bold {COLOURS[c]}"), COMPONENT_TITLES[c], _mark(first, c),
                  _mark(together, c))
    return t


def supplied_text(supplied: Sequence[Supplied], asked_for: Optional[str]) -> Text:
    t = Text()
    for i, s in enumerate(supplied):
        if i:
            t.append("\n")
        t.append("\u2713 ", style="bold green")
        t.append(f"{COMPONENT_TITLES[s.component]}: ", style=f"bold {COLOURS[s.component]}")
        t.append(s.how)
        if s.evidence:
            t.append(f" \u2014 \u201c{s.evidence}\u201d", style="italic")
    if asked_for and asked_for not in {s.component for s in supplied}:
        if supplied:
            t.append("\n")
        t.append(f"{COMPONENT_TITLES[asked_for]}: still missing \u2014 the reply did not make it plain.",
                 style="yellow")
    if not supplied and not asked_for:
        t.append("Nothing was missing; the reply adds depth to the story.", style="dim")
    return t


def follow_up_view(reply: Analysis, first: Optional[Analysis], together: Optional[Analysis],
                   supplied: Sequence[Supplied], asked_for: Optional[str]) -> RenderableType:
    """The report on one follow-up answer (``asked_for``: the part the follow-up asked about)."""
    if reply.error is not None:
        return Text(reply.error.message, style="bold red")
    head = Text()
    if reply.question:
        head.append("Follow-up: ", style="bold")
        head.append(reply.question + "\n")
    head.append(reply.input, style="dim")
    if reply.duration_s is not None:
        head.append(f"  \u00b7  {reply.duration_s:.1f} s", style="dim")
    if reply.checks:
        head.append(f"  \u00b7  {reply.checks.word_count} words", style="dim")
    parts: list[RenderableType] = [head]
    if reply.cut is not None:
        parts.append(Text(cut_banner(reply.cut), style="bold yellow"))
    parts.append(Panel(Group(transcript_text(reply), Text(""), legend()), title="Your reply", title_align="left",
                       border_style="grey50"))
    parts.append(Panel(supplied_text(supplied, asked_for), title="What the reply supplied", title_align="left",
                       border_style="green"))
    if first is not None and first.error is None:
        sub = Text.assemble(("first answer ", "dim"), score_text(first.score))
        if together is not None and together.error is None:
            sub.append("   with follow-up ", style="dim")
            sub.append_text(score_text(together.score))
        parts.append(Panel(story_checklist(first, together), title="R-STAR-L: first answer and the story with "
                           "the follow-up", title_align="left", border_style="grey50", subtitle=sub,
                           subtitle_align="right"))
        parts.append(Text("Your first answer keeps its score: an interviewer remembers what you said first.",
                          style="dim"))
    dp = delivery_panel(reply)
    if dp is not None:
        parts.append(dp)
    return Group(*parts)
