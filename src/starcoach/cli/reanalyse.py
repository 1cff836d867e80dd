"""``starcoach reanalyse SESSION|--all``: judge stored answers again with the current rules.

The work is ``pipeline.reanalyse``; this module checks the arguments, prints
the table of old and new scores and says how many changed.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from starcoach.cli.env import Env
from starcoach.cli.lookback import opened_store, say, session_or_fail
from starcoach.errors import ExitStatus, UsageError

if TYPE_CHECKING:
    import argparse

    from starcoach.pipeline.reanalyse import Reanalysed


def cmd_reanalyse(args: "argparse.Namespace", env: Env) -> int:
    from starcoach.cli.common import load_catalogue_or_fail
    from starcoach.pipeline.reanalyse import reanalyse_session
    from starcoach.views.history import reanalyse_table

    if args.all and args.session:
        raise UsageError("give a session or --all, not both")
    if not args.all and not args.session:
        raise UsageError("say which session to re-analyse (a number, or 'latest'), or --all for every one")
    out = env.console()
    err = env.console(err=True)
    catalogue = load_catalogue_or_fail(env)
    results: list[Reanalysed] = []
    skipped = 0
    with opened_store(args, env, create=True) as store:
        from starcoach.cli.common import load_vault_quiet

        vault = load_vault_quiet(store.root / "vault.toml", catalogue, err, env)
        if args.all:
            sessions = store.sessions()
            if not sessions:
                say(out, f"Nothing to re-analyse: no sessions stored in {store.root} yet.")
                return ExitStatus.OK
        else:
            sessions = [session_or_fail(store, args.session)]
        def note(message: str) -> None:
            say(err, f"note: {message}", "yellow")

        for s in sessions:
            done, skip = reanalyse_session(store, s, catalogue, note, vault)
            results += done
            skipped += skip
    if results:
        out.print(reanalyse_table(results))
    changed = sum(1 for r in results if r.new.error is None and r.old_score != r.new.score)
    failed = sum(1 for r in results if r.new.error is not None)
    replies = sum(1 for r in results if r.follow_up)
    answers = f"{len(results) - replies} answer(s)" + (f" and {replies} follow-up answer(s)" if replies else "")
    summary = (f"Re-analysed {answers} in {len(sessions)} session(s) with the current rules; "
               f"{changed} score(s) changed.")
    if skipped:
        summary += f" {skipped} answer(s) had no stored transcript and were left as they were."
    say(out, summary)
    return ExitStatus.INPUT_FAILED if failed else ExitStatus.OK
