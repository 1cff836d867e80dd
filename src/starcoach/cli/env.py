"""What a command runs in: its streams and environment variables, injectable for tests.

``main(argv, env)`` takes an :class:`Env`, so tests run the real command
in-process with string streams and their own variables (in the manner of
httpie's ``Environment``).  Standard library only; rich is imported when a
command asks for a console.
"""

from __future__ import annotations

import os
import sys

from starcoach.errors import OutputError

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing, which --help never needs
if TYPE_CHECKING:
    from typing import IO, Any, Optional

#: An argument not given (None is a value: a stream closed at start).
_UNSET: Any = object()


class Env:
    """The streams and the environment variables a command runs with; by default the process's own
    (read when the Env is made).  Standard output and error are wrapped in :class:`Output` and
    :class:`Diagnostics`.  (A plain class, not a dataclass: the dataclasses module would be a fifth of
    ``starcoach --help``'s start.)"""

    def __init__(self, stdout: Optional[IO[str]] = _UNSET, stderr: Optional[IO[str]] = _UNSET,
                 stdin: Optional[IO[str]] = _UNSET, environ: Optional[dict[str, str]] = _UNSET):
        self.stdout = sys.stdout if stdout is _UNSET else stdout
        self.stderr = sys.stderr if stderr is _UNSET else stderr
        self.stdin = sys.stdin if stdin is _UNSET else stdin
        self.environ = dict(os.environ) if environ is _UNSET else environ
        if not isinstance(self.stdout, Output):
            self.stdout = Output(self.stdout)
        if not isinstance(self.stderr, Diagnostics):
            self.stderr = Diagnostics(self.stderr)

    def read_stdin_bytes(self, limit: int = -1) -> bytes:
        """Standard input to its end, or its first ``limit`` bytes (an endless input such as
        ``< /dev/zero`` is never read whole); OSError if there is none (started with it closed: ``<&-``)."""
        if self.stdin is None:
            raise OSError("standard input is closed")
        buf = getattr(self.stdin, "buffer", None)
        try:
            if buf is not None:
                return buf.read(limit)
            return self.stdin.read(limit).encode("utf-8")
        except ValueError:  # "I/O operation on closed file"
            raise OSError("standard input is closed") from None

    def console(self, err: bool = False):
        from rich.console import Console

        stream = self.stderr if err else self.stdout
        return Console(file=stream, highlight=False, soft_wrap=False,
                       force_terminal=None if stream.isatty() else False,
                       width=None if stream.isatty() else 100)


class ReaderGone(Exception):
    """Standard output's reader went away (``| head``): the command ends quietly, status 0.

    Not a BrokenPipeError, which rich would turn into ``SystemExit(1)`` on its own.
    """


class Output:
    """Standard output as commands write to it: a write that fails is one :class:`OutputError`.

    Closed at start (``>&-``: Python gives None) or refusing writes
    (``> /dev/full``: "No space left on device") is said in one line by
    ``main``; a broken pipe (the reader went away, ``| head``) is
    :class:`ReaderGone`, which ends the command quietly.
    """

    def __init__(self, stream: Optional[IO[str]], name: str = "standard output"):
        self.stream, self.name = stream, name
        self.failed = False  # a write failed and was reported (so the final flush says nothing more)

    def _failed(self, e: Exception) -> OutputError:
        self.failed = True
        reason = getattr(e, "strerror", None) or str(e) or type(e).__name__
        return OutputError(f"cannot write to {self.name}: {reason}")

    def write(self, text: str) -> int:
        if self.stream is None:
            self.failed = True
            raise OutputError(f"{self.name} is closed, so nothing can be printed (it was started with >&-)")
        try:
            return self.stream.write(text)
        except BrokenPipeError:
            raise ReaderGone() from None
        except (OSError, ValueError) as e:  # ValueError: "I/O operation on closed file"
            raise self._failed(e) from None

    def flush(self) -> None:
        if self.stream is None:
            return
        try:
            self.stream.flush()
        except BrokenPipeError:
            raise ReaderGone() from None
        except (OSError, ValueError) as e:
            raise self._failed(e) from None

    def isatty(self) -> bool:
        try:
            return self.stream is not None and self.stream.isatty()
        except (OSError, ValueError):
            return False

    def __getattr__(self, name: str):
        return getattr(self.stream, name)


class Diagnostics(Output):
    """Standard error: when it cannot be written (closed, full, a broken pipe) the message is dropped;
    the command goes on and its exit status still tells."""

    def write(self, text: str) -> int:
        try:
            return self.stream.write(text) if self.stream is not None else len(text)
        except (OSError, ValueError):
            return len(text)

    def flush(self) -> None:
        try:
            if self.stream is not None:
                self.stream.flush()
        except (OSError, ValueError):
            pass


def emit_json(obj: dict, env: Env) -> None:
    """One JSON object on one line of standard output (JSON Lines), flushed."""
    import json  # here: --help and the report never need it

    env.stdout.write(json.dumps(obj, ensure_ascii=False) + "\n")
    env.stdout.flush()
