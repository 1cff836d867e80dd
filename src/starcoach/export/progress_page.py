"""``export --progress``: progress over sessions as one self-contained page of inline SVG charts.

The same numbers as ``starcoach progress`` (``progress.SessionStats``, the
sessions ``--kind`` and ``--company`` chose): the mean score, how often each
R-STAR-L part was there, fillers per minute, pace and answer length, one point
per session, oldest on the left, each chart with its target band where there
is one; then the part to practise next with its tip, and how often a
follow-up's reply supplied the part it asked about (replies are never counted
in the charts).  No script at all: the
Content-Security-Policy allows none, and nothing is loaded.
"""

from __future__ import annotations

import html
from typing import Callable, Optional, Sequence

from starcoach.export.html_page import HTML_COLOURS
from starcoach.judge import COMFORTABLE_WPM, FILLERS_OK_PER_MIN, TARGET_DURATION_S
from starcoach.model import COMPONENT_TITLES, COMPONENTS
from starcoach.progress import CHART_SESSIONS, SessionStats
from starcoach.stored import clock, local_time

_CSS = """
body{font:16px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#1d2125;background:#fafafa;
margin:0;padding:2rem 1rem}
main{max-width:62rem;margin:0 auto}h1{font-size:1.6rem;margin:0 0 .3rem}h2{font-size:1.15rem;margin:1.6rem 0 .5rem}
.meta{color:#6c757d;margin:0 0 1rem}
.charts{display:grid;grid-template-columns:repeat(auto-fill,minmax(19rem,1fr));gap:1rem}
figure{background:#fff;border:1px solid #dee2e6;border-radius:8px;margin:0;padding:.6rem .8rem}
figcaption{font-weight:600;margin-bottom:.2rem}figcaption small{color:#6c757d;font-weight:400}
svg{width:100%;height:auto}svg text{font:11px system-ui,sans-serif;fill:#6c757d}
.next{background:#ebfbee;border-left:4px solid #2b8a3e;padding:.6rem 1rem;border-radius:4px}
footer{color:#868e96;font-size:.85rem;margin-top:2rem}
table.follow-ups{border-collapse:collapse;background:#fff}
table.follow-ups th,table.follow-ups td{border:1px solid #dee2e6;padding:.3rem .7rem;text-align:left}
table.follow-ups td.n{text-align:right}
"""

W, H = 300, 150
LEFT, RIGHT, TOP, BOTTOM = 34, 8, 10, 22


def svg_chart(values: Sequence[Optional[float]], labels: Sequence[str], *, lo: float, hi: float,
              colour: str, fmt: Callable[[float], str], band: Optional[tuple[float, float]] = None,
              name: str = "") -> str:
    """A line chart, one point per session (None: not measured, no point), y from ``lo`` to ``hi``."""
    e = html.escape
    hi = hi if hi > lo else lo + 1.0
    n = len(values)

    def x(i: int) -> float:
        return LEFT + (W - LEFT - RIGHT) * (i / (n - 1) if n > 1 else 0.5)

    def y(v: float) -> float:
        v = min(max(v, lo), hi)
        return TOP + (H - TOP - BOTTOM) * (1 - (v - lo) / (hi - lo))

    out = [f'<svg viewBox="0 0 {W} {H}" role="img" aria-label="{e(name)}" data-chart="{e(name)}">']
    if band is not None:
        y1, y2 = y(band[1]), y(band[0])
        out.append(f'<rect class="band" x="{LEFT}" y="{y1:.1f}" width="{W - LEFT - RIGHT}" height="{y2 - y1:.1f}" '
                   'fill="#ebfbee"/>')
    for v in (lo, (lo + hi) / 2, hi):
        out.append(f'<line x1="{LEFT}" x2="{W - RIGHT}" y1="{y(v):.1f}" y2="{y(v):.1f}" stroke="#e9ecef"/>'
                   f'<text x="{LEFT - 4}" y="{y(v) + 4:.1f}" text-anchor="end">{e(fmt(v))}</text>')
    step = max(1, (n + 5) // 6)  # at most about six labels under the axis
    for i, label in enumerate(labels):
        if i % step == 0 or i == n - 1:
            out.append(f'<text x="{x(i):.1f}" y="{H - 6}" text-anchor="middle">{e(label)}</text>')
    pts = [(x(i), y(v), v) for i, v in enumerate(values) if v is not None]
    if len(pts) > 1:
        path = " ".join(f"{px:.1f},{py:.1f}" for px, py, _ in pts)
        out.append(f'<polyline fill="none" stroke="{colour}" stroke-width="2" points="{path}"/>')
    for (px, py, v), label in zip(pts, [lab for lab, v in zip(labels, values) if v is not None]):
        out.append(f'<circle cx="{px:.1f}" cy="{py:.1f}" r="3" fill="{colour}" data-value="{v:.2f}">'
                   f"<title>{e(label)}: {e(fmt(v))}</title></circle>")
    out.append("</svg>")
    return "".join(out)


def follow_up_table(rates: dict[str, tuple[int, int]]) -> str:
    """Per part asked about: how many follow-ups asked about it, and how many replies supplied it
    (``progress.follow_up_rates``)."""
    e = html.escape
    rows = [f'<tr data-component="{c}"><td style="color:{HTML_COLOURS[c][1]}">{e(COMPONENT_TITLES[c])}</td>'
            f'<td class="n">{n}</td><td class="n">{got} ({100 * got / n:.0f}%)</td></tr>'
            for c, (n, got) in rates.items()]
    return ('<table class="follow-ups"><thead><tr><th>Part asked about</th><th>Asked</th><th>Supplied</th></tr>'
            "</thead><tbody>" + "".join(rows) + "</tbody></table>")


def progress_html(stats: Sequence[SessionStats], *, title: str, next_text: str, counted: str = "",
                  follow_ups: Optional[dict[str, tuple[int, int]]] = None) -> str:
    """The page: the charts for the last :data:`CHART_SESSIONS` sessions and ``next_text`` (what to practise);
    with ``follow_ups`` (part -> asked, supplied), the table of what the follow-ups' replies supplied."""
    from starcoach import __version__

    e = html.escape
    shown = list(stats)[-CHART_SESSIONS:]
    labels = [f"#{s.id}" for s in shown]
    answers = sum(s.answers for s in stats)

    def pct(v: float) -> str:
        return f"{v:.0f}%"

    def num(v: float) -> str:
        return f"{v:.0f}"

    def top(values, floor: float) -> float:
        known = [v for v in values if v is not None]
        return max([floor, *known]) * 1.1 if known else floor

    def figure(caption: str, note: str, chart: str) -> str:
        small = f" <small>{e(note)}</small>" if note else ""
        return f"<figure><figcaption>{e(caption)}{small}</figcaption>{chart}</figure>"

    score = [s.mean_score for s in shown]
    fpm = [s.fillers_per_min for s in shown]
    wpm = [s.wpm for s in shown]
    spoken = [s.spoken_s for s in shown]
    overall = [
        figure("Mean score", "0-100", svg_chart(score, labels, lo=0, hi=100, colour="#1d2125", fmt=num,
                                                 name="score")),
        figure("Fillers per minute", f"fewer is better; {FILLERS_OK_PER_MIN:g} or under is fine",
               svg_chart(fpm, labels, lo=0, hi=top(fpm, FILLERS_OK_PER_MIN * 2), colour="#c92a2a",
                         fmt=lambda v: f"{v:.1f}", band=(0, FILLERS_OK_PER_MIN), name="fillers")),
        figure("Pace", f"words per minute; {COMFORTABLE_WPM[0]:.0f}-{COMFORTABLE_WPM[1]:.0f} is comfortable",
               svg_chart(wpm, labels, lo=0, hi=top(wpm, COMFORTABLE_WPM[1] * 1.2), colour="#1f4fbf", fmt=num,
                         band=COMFORTABLE_WPM, name="pace")),
        figure("Answer length", f"spoken; {clock(TARGET_DURATION_S[0])}-{clock(TARGET_DURATION_S[1])} is the aim",
               svg_chart(spoken, labels, lo=0, hi=top(spoken, TARGET_DURATION_S[1] * 1.2), colour="#0b7a86",
                         fmt=clock, band=TARGET_DURATION_S, name="length")),
    ]
    parts_charts = [
        figure(COMPONENT_TITLES[c], "answers where it was there",
               svg_chart([s.presence(c) for s in shown], labels, lo=0, hi=100, colour=HTML_COLOURS[c][1], fmt=pct,
                         name=c))
        for c in COMPONENTS
    ]
    meta = f"{len(stats)} session(s), {answers} answer(s)"
    if shown:
        meta += f", {local_time(shown[0].started_at)} to {local_time(shown[-1].started_at)}"
    if len(shown) < len(stats):
        meta += f"; the charts show the last {len(shown)}"
    return "\n".join([
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'\">",
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{e(title)}</title><style>{_CSS.strip()}</style></head><body><main>",
        f"<h1>{e(title)}</h1>",
        f'<p class="meta">{e(meta)}' + (f"<br>{e(counted)}" if counted else "") + "</p>",
        f'<p class="next">{e(next_text)}</p>',
        "<h2>Score and delivery</h2>",
        '<div class="charts">' + "".join(overall) + "</div>",
        "<h2>R-STAR-L: how often each part was there</h2>",
        '<div class="charts">' + "".join(parts_charts) + "</div>",
        *([("<h2>Follow-ups: did your reply supply what was missing?</h2>" + follow_up_table(follow_ups)
            + '<p class="meta">Follow-up answers are not counted above: the charts measure your first '
            "answers.</p>")] if follow_ups else []),
        f"<footer>Exported by starcoach {e(__version__)}; one point per session, oldest on the left, shaded: "
        "the target.</footer></main></body></html>",
    ]) + "\n"
