"""``starcoach progress [--company ID]``: trends over the stored sessions and the one thing to practise next.

The numbers come from ``progress.py``, the charts from ``views/progress.py``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from starcoach.cli.env import Env
from starcoach.cli.lookback import opened_store, say
from starcoach.errors import ExitStatus, UsageError

if TYPE_CHECKING:
    import argparse

    from starcoach.progress import SessionStats


def cmd_progress(args: "argparse.Namespace", env: Env) -> int:
    from starcoach.progress import session_stats
    from starcoach.stored import session_kind
    from starcoach.views.progress import progress_view

    out = env.console()
    want = args.company.lower() if args.company else None
    stats: list[SessionStats] = []
    skipped = 0
    seen_companies: set[str] = set()
    kind = getattr(args, "kind", "practice") or "practice"
    left_out: dict[str, int] = {}
    asked: list[tuple] = []  # per follow-up answer: the part asked about, the parts supplied
    with opened_store(args, env) as store:
        rows = store.sessions()
        for s in rows:
            k = session_kind(s)
            if kind != "all" and k != kind:
                left_out[k] = left_out.get(k, 0) + 1
                continue
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
                    for f in store.follow_ups(row.id):
                        if f.status == "analysed":
                            meta = f.follow_up()
                            asked.append((meta.get("component"), [x.get("component") for x in
                                                                  meta.get("supplied") or ()]))
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
        elif left_out:
            say(out, f"No analysed {kind} answers yet{_left_out(left_out)}.")
        else:
            say(out, "No analysed answers yet, so no progress to show. Start with `starcoach practice "
                     "--company amazon`; each session adds a point to the charts.")
        return ExitStatus.OK
    from starcoach.progress import follow_up_rates

    out.print(progress_view(stats, skipped=skipped, company=company, company_label=label,
                            follow_ups=follow_up_rates(asked)))
    if left_out:
        say(out, f"Counted: {kind} sessions{_left_out(left_out)}.", "dim")
    return ExitStatus.OK


def _left_out(left_out: dict[str, int]) -> str:
    """What ``--kind`` left out, for the one line that says so."""
    parts = ", ".join(f"{n} {k}" for k, n in sorted(left_out.items()))
    return f"; not counted: {parts} (`--kind all` counts every session)"
