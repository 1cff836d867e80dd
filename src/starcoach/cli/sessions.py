"""``starcoach sessions``: one line per stored session (date, kind, company, answers, mean score, time).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from starcoach.cli.env import Env
from starcoach.cli.lookback import company_names, opened_store, say
from starcoach.errors import ExitStatus

if TYPE_CHECKING:
    import argparse


def cmd_sessions(args: "argparse.Namespace", env: Env) -> int:
    from starcoach.views.history import sessions_table

    out = env.console()
    from starcoach.stored import session_kind

    with opened_store(args, env) as store:
        rows = store.sessions()
        if getattr(args, "kind", None) and rows:
            rows = [s for s in rows if session_kind(s) == args.kind]
            if not rows:
                say(out, f"No {args.kind} sessions in {store.root}; `starcoach sessions` lists them all.")
                return ExitStatus.OK
        if not rows:
            say(out, f"No sessions yet in {store.root}. Start one with `starcoach practice --company amazon`, "
                     "or judge recordings with `starcoach analyse FILE`.")
            return ExitStatus.OK
        answered, companies = {}, {}
        for s in rows:
            answers = store.answers(s.id)
            answered[s.id] = (sum(1 for a in answers if a.score is not None), len(answers))
            companies[s.id] = sorted({a.company for a in answers if a.company})
    out.print(sessions_table(rows, answered, company_names(env), companies))
    out.print(f"[dim]{len(rows)} session(s). `starcoach replay N` shows one, `starcoach progress` the trends, "
              "`starcoach export N` writes one for a coach.[/dim]", highlight=False, soft_wrap=True)
    return ExitStatus.OK
