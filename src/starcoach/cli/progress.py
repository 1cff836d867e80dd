"""``starcoach progress [--company ID] [--kind KIND]``: trends over the stored sessions and the one thing to
practise next.

The numbers come from ``progress.py``, the charts from ``views/progress.py``;
``export --progress`` draws the same numbers (``gather``) as a page.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Optional

from starcoach.cli.env import Env
from starcoach.cli.lookback import opened_store, say
from starcoach.errors import ExitStatus, UsageError

if TYPE_CHECKING:
    import argparse

    from starcoach.progress import SessionStats


@dataclass
class Gathered:
    """The sessions ``--kind`` and ``--company`` chose, as numbers, and what was left out."""

    kind: str
    stats: list["SessionStats"] = field(default_factory=list)
    skipped: int = 0
    seen_companies: set[str] = field(default_factory=set)
    left_out: dict[str, int] = field(default_factory=dict)
    company: object = None
    label: Optional[str] = None
    #: Per judged follow-up answer: the part it asked about and the parts the reply supplied
    #: (``progress.follow_up_rates``); follow-up answers are never counted in ``stats``.
    asked: list[tuple] = field(default_factory=list)

    def counted(self) -> str:
        """The line naming what was counted and left out ('' when nothing was left out)."""
        return f"Counted: {self.kind} sessions{_left_out(self.left_out)}." if self.left_out else ""

    def nothing_yet(self, company_arg: Optional[str]) -> str:
        """What to say when there is nothing to chart."""
        if company_arg:
            others = f" (sessions exist for: {', '.join(sorted(self.seen_companies))})" if self.seen_companies else ""
            kind = "" if self.kind == "all" else f"{self.kind} "
            return (f"No analysed {kind}answers for company '{company_arg}' yet{others}"
                    f"{_left_out(self.left_out) if self.left_out else ''}. Practise with "
                    f"`starcoach practice --company {company_arg}`.")
        if self.left_out:
            return f"No analysed {self.kind} answers yet{_left_out(self.left_out)}."
        return ("No analysed answers yet, so no progress to show. Start with `starcoach practice "
                "--company amazon`; each session adds a point to the charts.")


def gather(args: "argparse.Namespace", env: Env) -> Gathered:
    """Session numbers for ``--kind`` (default practice) and ``--company``, from the data folder."""
    from starcoach.progress import session_stats
    from starcoach.stored import session_kind

    want = args.company.lower() if getattr(args, "company", None) else None
    g = Gathered(kind=getattr(args, "kind", "practice") or "practice")
    with opened_store(args, env) as store:
        for s in store.sessions():
            k = session_kind(s)
            if g.kind != "all" and k != g.kind:
                g.left_out[k] = g.left_out.get(k, 0) + 1
                continue
            analyses = []
            for row in store.answers(s.id):
                cid = row.company or s.company
                if cid:
                    g.seen_companies.add(cid)
                if want and (cid or "").lower() != want:
                    continue
                try:
                    a = row.analysis()
                except (ValueError, KeyError, TypeError):
                    a = None
                if a is not None:
                    analyses.append(a)
                    for f in store.follow_ups(row.id):
                        if f.status == "analysed":
                            meta = f.follow_up()
                            g.asked.append((meta.get("component"), [x.get("component") for x in
                                                                    meta.get("supplied") or ()]))
            if want and not analyses and (s.company or "").lower() != want:
                continue
            st = session_stats(s.id, s.started_at, analyses)
            if st is None:
                g.skipped += 1
            else:
                g.stats.append(st)
    if want:
        try:
            from starcoach.cli.common import load_catalogue_or_fail

            g.company = load_catalogue_or_fail(env).companies.get(want)
        except UsageError:
            g.company = None
        g.label = g.company.name if g.company else want
    return g


def cmd_progress(args: "argparse.Namespace", env: Env) -> int:
    from starcoach.views.progress import progress_view

    out = env.console()
    g = gather(args, env)
    if not g.stats:
        want = args.company.lower() if args.company else None
        if want and g.company is None and want not in {c.lower() for c in g.seen_companies}:
            raise UsageError(f"unknown company '{args.company}': neither a profile nor in any stored session "
                             "(see `starcoach companies`)")
        say(out, g.nothing_yet(args.company))
        return ExitStatus.OK
    from starcoach.progress import follow_up_rates

    out.print(progress_view(g.stats, skipped=g.skipped, company=g.company, company_label=g.label,
                            follow_ups=follow_up_rates(g.asked)))
    if g.left_out:
        say(out, g.counted(), "dim")
    return ExitStatus.OK


def _left_out(left_out: dict[str, int]) -> str:
    """What ``--kind`` left out, for the one line that says so."""
    parts = ", ".join(f"{n} {k}" for k, n in sorted(left_out.items()))
    return f"; not counted: {parts} (`--kind all` counts every session)"
