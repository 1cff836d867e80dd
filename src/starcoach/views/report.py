"""Turns an Analysis into rich renderables for the terminal.

It builds; it never prints.  The CLI, the practice loop and replay hand the
renderables to their own Console, and tests render into a StringIO console.
"""

from __future__ import annotations

from typing import Optional, Sequence

from rich.console import Group, RenderableType
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from starcoach.judge.score import UNSURE_BELOW
from starcoach.model import COMPONENT_LETTERS, COMPONENT_TITLES, COMPONENTS, Analysis, Delivery
from starcoach.shaky import is_shaky
from starcoach.targets import COLOURS, NONE_STYLE, cut_banner, score_colour


def legend() -> Text:
    t = Text()
    for c in COMPONENTS:
        t.append(f" {COMPONENT_TITLES[c]} ", style=f"bold {COLOURS[c]} reverse")
        t.append(" ")
    t.append(" other ", style=NONE_STYLE)
    return t


def transcript_text(a: Analysis, highlight_word: Optional[int] = None) -> Text:
    """The answer with each sentence coloured by its component; words the speech model was
    unsure of dim (``starcoach.shaky``); in replay, the word being heard lit."""
    t = Text()
    for i, s in enumerate(a.sentences):
        style = COLOURS.get(s.component or "", NONE_STYLE)
        if i:
            t.append(" ")
        t.append(s.text, style=style)
    pos = 0
    plain = t.plain
    for k, w in enumerate(a.words):
        token = w.text.strip()
        j = plain.find(token, pos) if token else -1
        if j < 0:
            continue
        pos = j + len(token)
        if is_shaky(w):
            t.stylize("dim", j, j + len(token))
        if k == highlight_word:
            t.stylize("bold reverse", j, j + len(token))
    return t


def checklist(a: Analysis) -> Table:
    table = Table(show_header=True, header_style="bold", box=None, pad_edge=False, expand=False)
    table.add_column("", width=1)
    table.add_column("part")
    table.add_column("", width=1)
    table.add_column("sure", justify="right")
    table.add_column("evidence", overflow="fold", ratio=1)
    unsure = False
    for c in COMPONENTS:
        r = a.structure.get(c)
        if r is None:
            continue
        unsure = unsure or r.confidence < UNSURE_BELOW
        if r.confidence < UNSURE_BELOW:
            # The judge is not sure either way: say so rather than tick or cross.
            mark = Text("?", style="bold yellow")
        else:
            mark = Text("\u2713", style="bold green") if r.present else Text("\u2717", style="bold red")
        ev = r.evidence or ""
        if len(ev) > 110:
            ev = ev[:107].rstrip() + "…"
        if c == "link_back" and r.values:
            ev = f"[{', '.join(r.values)}] " + ev
        table.add_row(Text(COMPONENT_LETTERS[c], style=f"bold {COLOURS[c]}"), COMPONENT_TITLES[c], mark,
                      f"{r.confidence:.0%}", Text(ev, style="italic") if ev else Text("—", style="dim"))
    if unsure:
        table.caption = "? the judge is not sure either way: make that part plain"
        table.caption_justify = "left"
    return table


def score_text(score: int) -> Text:
    return Text.assemble(("Score ", "bold"), (f"{score}", f"bold {score_colour(score)}"), ("/100", "dim"))


def advice_text(advice: Sequence[str]) -> Text:
    t = Text()
    if not advice:
        t.append("Nothing to fix: a complete R-STAR-L answer.", style="green")
        return t
    for i, line in enumerate(advice, start=1):
        if i > 1:
            t.append("\n")
        t.append(f"{i}. ", style="bold")
        t.append(line)
    return t


def timeline(a: Analysis, width: int = 60) -> Text:
    """A bar of components over time (audio) or over words (text)."""
    spans: list[tuple[str, float, float]] = []
    if a.sentences and all(s.start_s is not None for s in a.sentences):
        t0 = a.sentences[0].start_s or 0.0
        t1 = max((s.end_s or 0.0) for s in a.sentences)
        for s in a.sentences:
            spans.append((s.component or "", (s.start_s or 0.0) - t0, (s.end_s or 0.0) - t0))
        total = max(t1 - t0, 1e-6)
    else:
        pos = 0.0
        for s in a.sentences:
            n = len(s.text.split())
            spans.append((s.component or "", pos, pos + n))
            pos += n
        total = max(pos, 1e-6)
    bar = Text()
    for k in range(width):
        mid = (k + 0.5) / width * total
        comp = next((c for c, s0, s1 in spans if s0 <= mid < s1), "")
        bar.append("\u2588", style=COLOURS.get(comp, "grey50"))
    return bar


def _mss(seconds: float) -> str:
    return f"{seconds // 60:.0f}:{seconds % 60:02.0f}"


def delivery_lines(d: Delivery, *, max_pauses: Optional[int] = 6) -> list[tuple[str, str, Optional[bool]]]:
    """(label, text, within the target?) per delivery metric; None: no target.

    One wording for the terminal report and the Markdown/HTML exports.
    """
    from starcoach.judge import COMFORTABLE_WPM, FILLERS_OK_PER_MIN, LONG_PAUSE_S, TARGET_DURATION_S

    lo, hi = TARGET_DURATION_S
    slow, fast = COMFORTABLE_WPM
    span = d.speaking_s
    rows: list[tuple[str, str, Optional[bool]]] = [
        ("Length", f"{span // 60:.0f}:{span % 60:04.1f} spoken (target {_mss(lo)}-{_mss(hi)})", lo <= span <= hi),
        ("Pace", f"{d.wpm:.0f} words/min (comfortable: {slow:.0f}-{fast:.0f})", slow <= d.wpm <= fast),
    ]
    if d.fillers:
        counts = ", ".join(f"{w} \u00d7{n}" for w, n in d.filler_counts.items())
        rows.append(("Fillers", f"{len(d.fillers)} ({d.fillers_per_minute:.1f}/min): {counts}",
                     d.fillers_per_minute <= FILLERS_OK_PER_MIN))
    else:
        rows.append(("Fillers", "none", True))
    if d.hedges:
        hc: dict[str, int] = {}
        for h in d.hedges:
            hc[h.word] = hc.get(h.word, 0) + 1
        rows.append(("Hedges", ", ".join(f"{w} \u00d7{n}" for w, n in hc.items()), None))
    if d.pauses:
        shown = d.pauses if max_pauses is None else d.pauses[:max_pauses]
        text = ", ".join(f"{p.duration_s:.1f}s at {p.start_s:.0f}s" for p in shown)
        if len(shown) < len(d.pauses):
            text += f" (+{len(d.pauses) - len(shown)} more)"
        rows.append(("Pauses \u22651s", text, False if d.longest_pause_s >= LONG_PAUSE_S else None))
    else:
        rows.append(("Pauses \u22651s", "none", None))
    return rows


def delivery_panel(a: Analysis) -> Optional[Panel]:
    d: Optional[Delivery] = a.delivery
    if d is None:
        return None
    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="bold")
    grid.add_column()
    for label, text, ok in delivery_lines(d):
        grid.add_row(label, Text(text, style="" if ok is None else ("green" if ok else "yellow")))
    if d.component_s:
        parts = Text()
        for c, s in d.component_s:
            if s > 0:
                parts.append(f"{COMPONENT_TITLES[c]} {s:.0f}s  ", style=COLOURS[c])
        grid.add_row("Time per part", parts)
    grid.add_row("Timeline", timeline(a, 50))
    return Panel(grid, title="Delivery", title_align="left", border_style="blue")


def analysis_view(a: Analysis, *, show_transcript: bool = True) -> RenderableType:
    """The full report for one answer."""
    if a.error is not None:
        msg = a.error.message
        # Messages about an input usually name it already ("answer.txt: no such file").
        return Text(msg if msg.startswith(f"{a.input}:") else f"{a.input}: {msg}", style="bold red")
    parts: list[RenderableType] = []
    head = Text()
    if a.question:
        head.append("Q: ", style="bold")
        head.append(a.question + "\n")
    head.append(f"{a.input}", style="dim")
    if a.company_name or a.company:
        head.append(f"  \u00b7  company: {a.company_name or a.company}", style="dim")
    if a.duration_s is not None:
        head.append(f"  \u00b7  {a.duration_s:.1f} s", style="dim")
    if a.checks:
        head.append(f"  \u00b7  {a.checks.word_count} words", style="dim")
    parts.append(head)
    if a.cut is not None:
        parts.append(Text(cut_banner(a.cut), style="bold yellow"))
    if show_transcript:
        parts.append(Panel(Group(transcript_text(a), Text(""), legend()), title="Your answer",
                           title_align="left", border_style="grey50"))
    parts.append(Panel(checklist(a), title="R-STAR-L", title_align="left", border_style="grey50",
                       subtitle=score_text(a.score), subtitle_align="right"))
    dp = delivery_panel(a)
    if dp is not None:
        parts.append(dp)
    parts.append(Panel(advice_text(a.advice), title="What to work on", title_align="left", border_style="green"))
    return Group(*parts)
