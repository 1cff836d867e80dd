"""``starcoach``: parse the arguments, run the command, turn what happened into an exit status.

``main(argv, env)`` is a function of its arguments and an injectable
environment (``cli.env.Env``), so tests run the real command in-process.
Only the standard library is imported at start-up; each command module
imports what is heavy inside its function, so ``starcoach --help`` is instant.
Exit statuses follow the public contract (``errors.ExitStatus``): 0 all inputs
analysed, 1 at least one input failed, 2 usage error, 130 interrupted; and 3
when something could not be stored (docs/json.md).  Errors become statuses
here and in ``errors.exit_status``, nowhere else.
"""

from __future__ import annotations

import os
import sys

from starcoach.cli.env import Env, ReaderGone
from starcoach.cli.parser import build_parser
from starcoach.errors import ExitStatus, StarcoachError, UsageError, exit_status

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing, which --help never needs
if TYPE_CHECKING:
    from typing import Callable, Optional, Sequence

    Command = Callable[..., int]


def _analyse(args, env: Env) -> int:
    from starcoach.cli.analyse import cmd_analyse

    return cmd_analyse(args, env)


def _practice(args, env: Env) -> int:
    from starcoach.cli.practice import cmd_practice

    return cmd_practice(args, env)


def _companies(args, env: Env) -> int:
    from starcoach.cli.companies import cmd_companies

    return cmd_companies(args, env)


def _questions(args, env: Env) -> int:
    from starcoach.cli.questions import cmd_questions

    return cmd_questions(args, env)


def _devices(args, env: Env) -> int:
    from starcoach.cli.devices import cmd_devices

    return cmd_devices(args, env)


def _sessions(args, env: Env) -> int:
    from starcoach.cli.sessions import cmd_sessions

    return cmd_sessions(args, env)


def _replay(args, env: Env) -> int:
    from starcoach.cli.replay import cmd_replay

    return cmd_replay(args, env)


def _progress(args, env: Env) -> int:
    from starcoach.cli.progress import cmd_progress

    return cmd_progress(args, env)


def _export(args, env: Env) -> int:
    from starcoach.cli.export import cmd_export

    return cmd_export(args, env)


def _reanalyse(args, env: Env) -> int:
    from starcoach.cli.reanalyse import cmd_reanalyse

    return cmd_reanalyse(args, env)


def _models(args, env: Env) -> int:
    from starcoach.cli.models import cmd_models

    return cmd_models(args, env)


def _vault(args, env: Env) -> int:
    from starcoach.cli.vault import cmd_vault

    return cmd_vault(args, env)


#: Command name (and alias) -> the function that runs it, called as ``func(args, env)``; each imports
#: its command's module when it runs, so ``--help`` loads none of them.
COMMANDS: dict[str, Command] = {
    "analyse": _analyse, "analyze": _analyse,
    "practice": _practice,
    "companies": _companies,
    "questions": _questions,
    "devices": _devices,
    "models": _models,
    "sessions": _sessions, "replay": _replay, "progress": _progress, "export": _export,
    "reanalyse": _reanalyse, "reanalyze": _reanalyse,
    "vault": _vault,
}


def main(argv: Optional[Sequence[str]] = None, env: Optional[Env] = None) -> int:
    env = env or Env()
    parser = build_parser()
    argv = list(argv) if argv is not None else sys.argv[1:]
    try:
        args = parser.parse_args(argv)
    except UsageError as e:
        print(_dash_hint(argv) or str(e), file=env.stderr)
        return ExitStatus.USAGE
    except SystemExit as e:  # --help / --version
        return int(e.code or 0)
    if not args.command:
        parser.print_help(env.stdout)
        return ExitStatus.OK
    command = COMMANDS.get(args.command)
    if command is None:
        parser.print_help(env.stderr)
        return ExitStatus.USAGE
    try:
        return command(args, env)
    except StarcoachError as e:
        print(f"starcoach: {e}", file=env.stderr)
        return exit_status(e)
    except KeyboardInterrupt:
        print("starcoach: interrupted", file=env.stderr)
        return ExitStatus.INTERRUPTED
    except (BrokenPipeError, ReaderGone):  # the reader went away (| head): nothing more to say
        return ExitStatus.OK
    except Exception as e:
        sqlite3 = sys.modules.get("sqlite3")  # loaded only by commands that use the data folder
        if sqlite3 is None or not isinstance(e, sqlite3.DatabaseError):
            raise
        return _database_failed(e, args, env)


def _database_failed(e: Exception, args, env: Env) -> int:
    """A database error no command caught: one line naming what failed, never a traceback."""
    from pathlib import Path  # here, not at the top: pathlib is 15 % of `starcoach --help`'s start

    from starcoach.store.database import DB_NAME, default_data_dir
    from starcoach.store.errors import storage_error
    from starcoach.text import first_line

    reason = first_line(e)
    data_dir = getattr(args, "data_dir", None)
    storage = storage_error((Path(data_dir) if data_dir else default_data_dir(env.environ)) / DB_NAME, e)
    if storage is not None:
        print(f"starcoach: {storage}", file=env.stderr)
        return ExitStatus.STORAGE
    if "locked" in reason or "busy" in reason:
        reason = "it stayed locked by another starcoach process; try again when that one has finished"
    print(f"starcoach: the session database failed ({reason}); the recordings in the data folder are "
          "kept", file=env.stderr)
    return ExitStatus.USAGE


def _dash_hint(argv: Sequence[str]) -> Optional[str]:
    """A file name that starts with '-' is read as an option; say so, and how to pass it."""
    if "--" in argv:
        argv = argv[: list(argv).index("--")]
    for a in argv:
        if a.startswith("-") and a not in ("-", "--") and "=" not in a and os.path.lexists(a):
            return (f"starcoach: '{a}' starts with '-', so it was read as an option; to give a file of that name, "
                    f"write ./{a} (or put -- before it)")
    return None


def run() -> None:
    """Console-script entry point."""
    import signal

    env = Env()
    terminated: list = []
    try:  # the handler is set inside the try, so a signal at any moment after it is caught here
        signal.signal(signal.SIGTERM, lambda signum, frame: _sigterm(terminated, frame))
        code = main(env=env)
    except KeyboardInterrupt:
        code = ExitStatus.INTERRUPTED
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)  # the work is done: a late SIGTERM just ends it
    if terminated and code == ExitStatus.INTERRUPTED:
        code = ExitStatus.TERMINATED
    sys.exit(int(_flush_output(env, code)))


def _sigterm(arrived: list, frame) -> None:
    """SIGTERM (``kill PID``, a service manager, a closing terminal) stops the command as Ctrl-C does:
    through whatever handles SIGINT at that moment, so a recording is closed and kept, batch workers
    are stopped and the session is marked interrupted.  (Python's default dies at once: no session
    closed, batch workers left running.)"""
    import signal

    arrived.append(signal.SIGTERM)
    on_interrupt = signal.getsignal(signal.SIGINT)
    if callable(on_interrupt):
        on_interrupt(signal.SIGINT, frame)
    else:  # started with SIGINT ignored (a background job): stop all the same
        raise KeyboardInterrupt


def _flush_output(env: Env, code: int) -> int:
    """Write out what standard output still buffers, so that a failure is told here in one line, not by
    the interpreter at exit ("Exception ignored ... BrokenPipeError", status 120)."""
    if sys.stdout is None:
        return code
    try:
        sys.stdout.flush()
        return code
    except BrokenPipeError:
        pass  # the reader went away (| head): nothing more to say
    except OSError as e:
        if not env.stdout.failed:
            print(f"starcoach: cannot write to standard output: {e.strerror or e}", file=env.stderr)
        code = code or ExitStatus.INPUT_FAILED
    try:  # the interpreter flushes once more at exit: let that one go nowhere
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass
    return code
