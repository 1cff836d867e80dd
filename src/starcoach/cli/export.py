"""``starcoach export [SESSION] --format md|json|html``: a session written for a coach.

Writes privately and atomically (``files.write_atomic``): recordings are
personal, and Ctrl-C never leaves half a page.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

from starcoach.cli.env import Env
from starcoach.cli.lookback import company_names, opened_store, say, session_or_fail
from starcoach.errors import ExitStatus, UsageError
from starcoach.stored import load_answers

if TYPE_CHECKING:
    import argparse


def _write(path: Path, text: str) -> None:
    """Write privately (recordings are personal) and atomically (no half-written page on Ctrl-C)."""
    from starcoach.files import write_atomic

    try:
        write_atomic(path, text)
    except OSError as err:
        raise UsageError(f"cannot write {path}: {err.strerror or err}") from None


def cmd_export(args: "argparse.Namespace", env: Env) -> int:
    from starcoach.export.html_page import session_html
    from starcoach.export.json_doc import session_json
    from starcoach.export.markdown import session_markdown

    names = company_names(env)
    with opened_store(args, env) as store:
        s = session_or_fail(store, args.session)
        answers = load_answers(store, s, names)
    fmt = args.format
    if fmt == "json":
        text = json.dumps(session_json(s, answers, names), ensure_ascii=False, indent=2) + "\n"
    elif fmt == "md":
        text = session_markdown(s, answers, names)
    else:
        text = session_html(s, answers, names)
    target = args.output
    if target is None and fmt == "html":
        target = f"session-{s.id}.html"
    err = env.console(err=True)
    for x in answers:
        if x.audio_missing:
            say(err, f"Answer {x.n}: audio file missing: {x.audio} (exported without it).", "yellow")
    if target is None or target == "-":
        env.stdout.write(text)
        env.stdout.flush()
        return ExitStatus.OK
    path = Path(target).expanduser()
    _write(path, text)
    size = len(text.encode("utf-8"))
    what = f"{size / 1e6:.1f} MB" if size >= 1e5 else f"{size / 1e3:.1f} kB"
    say(env.console(), f"Wrote {path} ({what}, {len(answers)} answer(s)).")
    return ExitStatus.OK
