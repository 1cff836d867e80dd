"""``starcoach export SESSION --format md|json|html [--notes FILE]`` and ``export --progress``.

A session written for a coach, with the notes the coach saved from its page
merged back in (``export.notes``); or progress over sessions as a page of
charts (``export.progress_page``, the numbers ``starcoach progress`` shows).
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

    if args.progress:
        return _export_progress(args, env)
    if args.session is None:
        raise UsageError("export needs a SESSION (a number, or 'latest'), or --progress")
    if args.company or args.kind != "practice":
        raise UsageError("--company and --kind go with --progress")
    names = company_names(env)
    with opened_store(args, env) as store:
        s = session_or_fail(store, args.session)
        answers = load_answers(store, s, names)
    notes = None
    if args.notes:
        from starcoach.export.notes import read_notes

        notes = read_notes(args.notes, s.id, answers)
    fmt = args.format
    if fmt == "json":
        text = json.dumps(session_json(s, answers, names, notes), ensure_ascii=False, indent=2) + "\n"
    elif fmt == "md":
        text = session_markdown(s, answers, names, notes)
    else:
        text = session_html(s, answers, names, notes=notes)
    if notes is not None:
        say(env.console(err=True), f"Notes on {len(notes)} of {len(answers)} answer(s) from {args.notes}.")
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
    _write_reporting(env, Path(target).expanduser(), text, f"{len(answers)} answer(s)")
    return ExitStatus.OK


def _write_reporting(env: Env, path: Path, text: str, what: str) -> None:
    _write(path, text)
    size = len(text.encode("utf-8"))
    size_text = f"{size / 1e6:.1f} MB" if size >= 1e5 else f"{size / 1e3:.1f} kB"
    say(env.console(), f"Wrote {path} ({size_text}, {what}).")


def _export_progress(args: "argparse.Namespace", env: Env) -> int:
    from starcoach.cli.progress import gather
    from starcoach.export.progress_page import progress_html
    from starcoach.progress import follow_up_rates
    from starcoach.views.progress import next_practice

    if args.session is not None or args.notes or args.format != "html":
        raise UsageError("--progress writes one HTML page of every counted session: no SESSION, --notes or "
                         "--format with it")
    g = gather(args, env)
    if not g.stats:
        say(env.console(), g.nothing_yet(args.company))
        return ExitStatus.OK
    title = "starcoach progress" + (f" · {g.label}" if g.label else "")
    text = progress_html(g.stats, title=title, next_text=next_practice(g.stats, g.company).renderable.plain,
                         counted=g.counted(), follow_ups=follow_up_rates(g.asked))
    target = args.output or "progress.html"
    if target == "-":
        env.stdout.write(text)
        env.stdout.flush()
        return ExitStatus.OK
    _write_reporting(env, Path(target).expanduser(), text, f"{len(g.stats)} session(s)")
    return ExitStatus.OK
