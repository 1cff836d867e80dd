"""The errors a user can act on, and the exit status each one ends a command with.

Every failure starcoach reports in one line is a :class:`StarcoachError`; its
``kind`` names what went wrong, and :func:`exit_status` is the one place that
turns a kind into the command's exit status (docs/json.md): 2 for a usage
problem (unknown company, bad flag, no usable model), 3 when something could
not be stored, 1 for an input that could not be analysed.  Standard library
only: the command line imports this for every call, even ``--help``.
"""

from __future__ import annotations

import enum

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (not needed to start)
if TYPE_CHECKING:
    from typing import Optional


class ExitStatus(enum.IntEnum):
    OK = 0
    INPUT_FAILED = 1
    USAGE = 2
    #: Results or a recording could not be stored (disk full, read-only or failing database);
    #: what was stored before is kept and the message says what was not.  Beats INPUT_FAILED.
    STORAGE = 3
    INTERRUPTED = 130
    #: Stopped by SIGTERM (128 + 15), which stops a command as Ctrl-C does.
    TERMINATED = 143


class StarcoachError(Exception):
    """A failure told in one line (``str(error)``); ``kind`` decides the exit status."""

    #: The kind when none is given; subclasses set their own.
    default_kind = "usage"

    def __init__(self, message: str, *, kind: Optional[str] = None):
        super().__init__(message)
        self.message = message
        self.kind = kind or self.default_kind

    def __str__(self) -> str:
        return self.message


class UsageError(StarcoachError):
    """The command cannot run as asked: a bad flag or value, an unknown id, no usable model (exit 2)."""


class OutputError(StarcoachError):
    """Standard output cannot be written: closed (``>&-``) or refused (``> /dev/full``); exit 1.

    A reader that went away (``| head``) is not this: a broken pipe ends the command quietly.
    """

    default_kind = "output"


#: Kinds with their own exit status; every other kind is an input that failed (exit 1).
_STATUS_BY_KIND = {
    "usage": ExitStatus.USAGE,
    "storage": ExitStatus.STORAGE,
    "interrupted": ExitStatus.INTERRUPTED,
}


def exit_status(error: StarcoachError) -> ExitStatus:
    """The exit status a command ends with when ``error`` stops it."""
    return _STATUS_BY_KIND.get(error.kind, ExitStatus.INPUT_FAILED)
