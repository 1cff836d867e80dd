"""The progress view: score and R-STAR-L presence per session, trends as sparklines, what to practise next.

Draws the numbers ``progress.py`` computes; builds rich renderables and never prints.
"""

from __future__ import annotations

from typing import Optional, Sequence

from rich.console import Group, RenderableType
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from starcoach.judge import COMFORTABLE_WPM, FILLERS_OK_PER_MIN, TARGET_DURATION_S
from starcoach.model import COMPONENT_TITLES, COMPONENTS
from starcoach.progress import CHART_SESSIONS, RECENT_SESSIONS, SessionStats, sparkline, weakest_component
from starcoach.stored import clock, local_time
from starcoach.targets import COLOURS, TIPS, score_colour


def next_practice(stats: Sequence[SessionStats], company=None) -> RenderableType:
    """The one thing to practise next, with a concrete tip."""
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


def follow_up_table(rates: dict[str, tuple[int, int]]) -> Group:
    """How often a follow-up's reply supplied the part it asked about, per part."""
    t = Table(box=None, pad_edge=False, header_style="bold")
    t.add_column("part asked about")
    t.add_column("asked", justify="right")
    t.add_column("supplied", justify="right")
    for c, (n, got) in rates.items():
        t.add_row(Text(COMPONENT_TITLES[c], style=COLOURS[c]), str(n), f"{got} ({100 * got / n:.0f}%)")
    return Group(Text("Follow-ups: did your reply supply what was missing?", style="bold"), t)


def progress_view(stats: Sequence[SessionStats], *, skipped: int = 0, company=None,
                  company_label: Optional[str] = None,
                  follow_ups: Optional[dict[str, tuple[int, int]]] = None) -> RenderableType:
    """Charts of score, R-STAR-L presence and delivery over sessions, and the part to practise next."""
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
    parts: list[RenderableType] = [head, Text(""), bars, Text(""), trends, Text("")]
    if follow_ups:
        parts += [follow_up_table(follow_ups), Text("Follow-up answers are not counted above: the charts "
                                                    "measure your first answers.", style="dim"), Text("")]
    return Group(*parts, next_practice(stats, company))
