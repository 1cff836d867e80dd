"""The rows every written export shares: the R-STAR-L checklist and the delivery metrics as text.

Markdown and HTML word them alike, and as the terminal report does
(``views.report.delivery_lines``).  Pure text.
"""

from __future__ import annotations

from typing import Iterator

from starcoach.model import COMPONENT_TITLES, COMPONENTS, Analysis, ComponentResult


def delivery_rows(a: Analysis) -> list[tuple[str, str]]:
    """The delivery metrics as (label, value) text, for Markdown and HTML (the terminal report's wording)."""
    from starcoach.views.report import delivery_lines

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
