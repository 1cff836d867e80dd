"""What a command runs in: its streams and environment variables, injectable for tests.

``main(argv, env)`` takes an :class:`Env`, so tests run the real command
in-process with string streams and their own variables (in the manner of
httpie's ``Environment``).  Standard library only; rich is imported when a
command asks for a console.
"""

from __future__ import annotations

import json
import os
import sys
from dataclasses import dataclass, field
from typing import IO


@dataclass
class Env:
    stdout: IO[str] = field(default_factory=lambda: sys.stdout)
    stderr: IO[str] = field(default_factory=lambda: sys.stderr)
    stdin: IO[str] = field(default_factory=lambda: sys.stdin)
    environ: dict[str, str] = field(default_factory=lambda: dict(os.environ))

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


def emit_json(obj: dict, env: Env) -> None:
    """One JSON object on one line of standard output (JSON Lines), flushed."""
    env.stdout.write(json.dumps(obj, ensure_ascii=False) + "\n")
    env.stdout.flush()
