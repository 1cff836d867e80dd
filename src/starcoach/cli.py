"""The ``starcoach`` command: parse arguments, call the stage modules, set the exit status.

``main(argv, env)`` is a function of its arguments and an injectable
environment (streams, variables), so tests run the real command in-process.
Only the standard library is imported at start-up; everything heavy is
imported by the command that needs it, so ``starcoach --help`` is instant.
Exit statuses follow the public contract: 0 all inputs analysed, 1 at least
one input failed, 2 usage error, 130 interrupted.
"""

from __future__ import annotations

import argparse
import enum
import json
import os
import sys
from dataclasses import dataclass, field
from typing import IO, Optional, Sequence


class ExitStatus(enum.IntEnum):
    OK = 0
    INPUT_FAILED = 1
    USAGE = 2
    INTERRUPTED = 130


@dataclass
class Env:
    stdout: IO[str] = field(default_factory=lambda: sys.stdout)
    stderr: IO[str] = field(default_factory=lambda: sys.stderr)
    stdin: IO[str] = field(default_factory=lambda: sys.stdin)
    environ: dict[str, str] = field(default_factory=lambda: dict(os.environ))

    def read_stdin_bytes(self) -> bytes:
        buf = getattr(self.stdin, "buffer", None)
        if buf is not None:
            return buf.read()
        return self.stdin.read().encode("utf-8")

    def console(self, err: bool = False):
        from rich.console import Console

        stream = self.stderr if err else self.stdout
        return Console(file=stream, highlight=False, soft_wrap=False,
                       force_terminal=None if stream.isatty() else False,
                       width=None if stream.isatty() else 100)


class UsageError(Exception):
    pass


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # pragma: no cover - exercised through main()
        raise UsageError(f"{self.prog}: {message}")


EPILOG = """\
R-STAR-L: Repeat the question in your own words, Situation, Task, Action
(what *you* did), Result (measured), Link back to the company's values.

examples:
  starcoach practice --company amazon            practise at the microphone
  starcoach analyse answer.txt --question "Tell me about a time..." --company doordash
  starcoach analyse recordings/ --json           judge a folder of recorded answers
  starcoach companies                            list company profiles
"""


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(prog="starcoach", description="Offline mock-interview coach for behavioural answers (R-STAR-L).",
                formatter_class=argparse.RawDescriptionHelpFormatter, epilog=EPILOG)
    from starcoach import __version__

    p.add_argument("--version", action="version", version=f"starcoach {__version__}")
    sub = p.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    a = sub.add_parser("analyse", aliases=["analyze"], help="judge recorded or written answers",
                       description="Judge answers against R-STAR-L. INPUT is an audio file (wav, flac, mp3, ogg, "
                                   "m4a, webm...), a .txt transcript, a folder (every audio file in it) or - "
                                   "(a transcript on standard input).",
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    a.add_argument("inputs", nargs="+", metavar="INPUT")
    a.add_argument("--question", "-q", metavar="TEXT", help="the question the answer responds to")
    a.add_argument("--company", "-c", metavar="ID", help="company profile for the link-back check "
                                                         "(see `starcoach companies`)")
    a.add_argument("--json", action="store_true", help="print one JSON object per input (JSON Lines) "
                                                       "on standard output, nothing else")
    a.add_argument("--model", metavar="DIR|NAME", help="faster-whisper model directory, or a model size "
                                                       "already in the local cache (default: bundled tiny.en)")

    c = sub.add_parser("companies", help="list company profiles and their values",
                       description="List company profiles. Add your own by dropping a TOML file into "
                                   "~/.config/starcoach/question_banks/companies/ (see docs/question-banks.md).")
    c.add_argument("company", nargs="?", metavar="ID", help="show one company's values in full")

    q = sub.add_parser("questions", help="list interview questions",
                       description="List the questions in the banks, optionally filtered.")
    q.add_argument("--company", metavar="ID", help="questions that probe this company's values, best first")
    q.add_argument("--competency", metavar="X", help="only questions tagged with this competency")
    q.add_argument("--bank", metavar="ID", help="only this bank")
    return p


def main(argv: Optional[Sequence[str]] = None, env: Optional[Env] = None) -> int:
    env = env or Env()
    parser = build_parser()
    try:
        args = parser.parse_args(list(argv) if argv is not None else None)
    except UsageError as e:
        print(str(e), file=env.stderr)
        return ExitStatus.USAGE
    except SystemExit as e:  # --help / --version
        return int(e.code or 0)
    if not args.command:
        parser.print_help(env.stdout)
        return ExitStatus.OK
    try:
        if args.command in ("analyse", "analyze"):
            from starcoach.commands import cmd_analyse

            return cmd_analyse(args, env)
        if args.command == "companies":
            from starcoach.commands import cmd_companies

            return cmd_companies(args, env)
        if args.command == "questions":
            from starcoach.commands import cmd_questions

            return cmd_questions(args, env)
    except UsageError as e:
        print(f"starcoach: {e}", file=env.stderr)
        return ExitStatus.USAGE
    except KeyboardInterrupt:
        print("starcoach: interrupted", file=env.stderr)
        return ExitStatus.INTERRUPTED
    except BrokenPipeError:
        return ExitStatus.OK
    parser.print_help(env.stderr)
    return ExitStatus.USAGE


def emit_json(obj: dict, env: Env) -> None:
    env.stdout.write(json.dumps(obj, ensure_ascii=False) + "\n")
    env.stdout.flush()


def run() -> None:
    """Console-script entry point."""
    try:
        code = main()
    except KeyboardInterrupt:
        code = ExitStatus.INTERRUPTED
    sys.exit(int(code))
