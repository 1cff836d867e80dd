"""A session as Markdown, for notes or a coach: every piece of stored text escaped.

A transcript is the candidate's own words and may contain markup; ``md``
keeps it as text (no raw HTML, no accidental emphasis or table breaks).
"""

from __future__ import annotations

import html
from typing import TYPE_CHECKING, Optional, Sequence

from starcoach.export.rows import checklist_rows, delivery_rows
from starcoach.model import COMPONENT_LETTERS, COMPONENT_TITLES, COMPONENTS, UNSURE_BELOW
from starcoach.stored import StoredAnswer, StoredFollowUp, clock, companies_label, local_time, not_analysed_reason
from starcoach.targets import cut_banner

if TYPE_CHECKING:
    from starcoach.store.database import SessionRow


def md(text: Optional[str]) -> str:
    """Text safe inside Markdown: no raw HTML, no accidental emphasis or table breaks."""
    out = html.escape(" ".join((text or "").split()), quote=False)
    for ch in "\\`*_[]|#":
        out = out.replace(ch, "\\" + ch)
    return out


def session_markdown(s: "SessionRow", answers: Sequence[StoredAnswer], names: dict[str, str],
                     notes: Optional[dict[int, str]] = None) -> str:
    """The session as Markdown; ``notes`` (answer number -> a coach's note) after each answer."""
    lines = [f"# starcoach session {s.id}", ""]
    lines.append(f"- Date: {local_time(s.started_at)} (local time)")
    lines.append(f"- Kind: {s.kind} ({s.status})")
    company = companies_label(s, answers, names)
    if company:
        lines.append(f"- Company: {md(company)}")
    mean = "" if s.mean_score is None else f", mean score {s.mean_score:.0f}"
    lines.append(f"- Answers: {len(answers)}{mean}" + (f", {clock(s.total_s)} recorded" if s.total_s else ""))
    for x in answers:
        a = x.analysis
        lines += ["", f"## {x.n}. {md(x.row.question) or '(no question)'}", ""]
        if x.audio_missing:
            lines += [f"*Audio file missing:* `{x.audio}`", ""]
        elif x.audio is not None:
            lines += [f"Audio: `{x.audio}`", ""]
        if a is None:
            lines.append(f"Not analysed: {md(not_analysed_reason(x))}")
            continue
        if a.error is not None:
            lines.append(f"Could not be analysed: {md(a.error.message)}")
            continue
        if a.cut is not None:
            lines += [f"> **{md(cut_banner(a.cut))}**", ""]
        lines += [f"**Score: {a.score}/100**", "", "### Transcript", ""]
        for sent in a.sentences:
            label = COMPONENT_TITLES.get(sent.component or "", "Other")
            lines.append(f"- **{label}:** {md(sent.text)}")
        lines += ["", "### R-STAR-L", "", "| | Part | Present | Sure | Evidence |", "|---|---|---|---|---|"]
        for c, r, ev in checklist_rows(a):
            lines.append(f"| {COMPONENT_LETTERS[c]} | {COMPONENT_TITLES[c]} | {_word(r)} | "
                         f"{r.confidence:.0%} | {md(ev) or '—'} |")
        lines += ["", "### Delivery", ""]
        lines += [f"- {label}: {md(value)}" for label, value in delivery_rows(a)]
        lines += ["", "### What to work on", ""]
        if a.advice:
            lines += [f"{i}. {md(line)}" for i, line in enumerate(a.advice, start=1)]
        else:
            lines.append("Nothing to fix: a complete R-STAR-L answer.")
        if x.reanalysed_at:
            lines += ["", f"*Re-analysed {local_time(x.reanalysed_at)}.*"]
        note = (notes or {}).get(x.n)
        if note:
            lines += ["", "### Coach's notes", ""] + [f"> {md(ln)}" if ln.strip() else ">" for ln in note.split("\n")]
        for f in x.follow_ups:
            lines += follow_up_markdown(x, f)
    return "\n".join(lines) + "\n"


def follow_up_markdown(x: StoredAnswer, f: StoredFollowUp) -> list[str]:
    """One follow-up: the question, its answer, what it supplied, the checklist before and with it."""
    lines = ["", f"### Follow-up {x.n}.{f.n}: {md(f.row.question) or '(no question)'}", ""]
    if f.audio_missing:
        lines += [f"*Audio file missing:* `{f.audio}`", ""]
    elif f.audio is not None:
        lines += [f"Audio: `{f.audio}`", ""]
    a = f.analysis
    if a is None or a.error is not None:
        lines.append(f"Not analysed: {md(not_analysed_reason(f) if a is None else a.error.message)}")
        return lines
    if a.cut is not None:
        lines += [f"> **{md(cut_banner(a.cut))}**", ""]
    lines += [f"> {md(a.transcript)}", ""]
    asked = f.component
    got = {s.component for s in f.supplied}
    lines += [f"- Supplied: {md(s.line())}" for s in f.supplied]
    if asked and asked not in got:
        lines.append(f"- {COMPONENT_TITLES[asked]}: still missing")
    if x.analysis is not None and x.analysis.error is None and f.together is not None:
        lines += ["", "| | Part | First answer | With follow-up |", "|---|---|---|---|"]
        for c in COMPONENTS:
            lines.append(f"| {COMPONENT_LETTERS[c]} | {COMPONENT_TITLES[c]} | {_yes(x.analysis, c)} | "
                         f"{_yes(f.together, c)} |")
        lines += ["", f"Score of the first answer {x.analysis.score} (kept); the story with the follow-up "
                      f"{f.together.score}."]
    lines += [""] + [f"- {label}: {md(value)}" for label, value in delivery_rows(a)]
    return lines


def _yes(a, c: str) -> str:
    r = a.structure.get(c)
    return "—" if r is None else _word(r)


def _word(r) -> str:
    """As the terminal's checklist: yes, no, or unsure ("?": the judge is not sure either way)."""
    return "unsure" if r.confidence < UNSURE_BELOW else ("yes" if r.present else "no")
