"""The candidate's keyboard and Ctrl-C, read without blocking the recording loop.

``Keys`` reads Enter (it ends an answer) and one-key menus: at a terminal a
menu takes the key itself, no Enter needed (Enter picks the default); from a
script or a pipe it reads a line, and with nothing to read (``</dev/null``)
each menu takes its default.
``sigint_sets`` turns Ctrl-C into an event while native threads run
(PortAudio's callback, the transcriber inside CTranslate2), so they are
stopped and joined before the session ends, never killed mid-call.
"""

from __future__ import annotations

import contextlib
import os
import select
import signal
import threading
from typing import IO, Optional

from rich.console import Console

#: The longest line read at once: an input with no line ends (``< /dev/zero``) is read a piece at a
#: time and never taken for Enter, instead of read for ever into memory.
MAX_LINE_CHARS = 4096


class Keys:
    """The candidate's keys: Enter without blocking the recording loop, and one-key menus."""

    def __init__(self, stream: IO[str]):
        self.stream = stream
        try:
            self.fd: Optional[int] = stream.fileno()
        except (AttributeError, OSError, ValueError):
            self.fd = None
        self.eof = False

    @property
    def interactive(self) -> bool:
        return self.fd is not None and os.isatty(self.fd)

    def enter_pressed(self) -> bool:
        """True if a line (Enter) is waiting; consumes it."""
        if self.fd is None or self.eof:
            return False
        try:
            ready, _, _ = select.select([self.fd], [], [], 0)
        except (OSError, ValueError):
            return False
        if not ready:
            return False
        line = self.stream.readline(MAX_LINE_CHARS)
        if line == "":
            self.eof = True
            return False
        return line.endswith("\n")  # a piece of a line (or of no text at all) is not Enter yet

    def ask(self, prompt: str, console: Console, choices: dict[str, str], default: str) -> str:
        """A one-letter menu: at a terminal one key (Enter = ``default``), else a line; no input, the default."""
        if self.interactive and not self.eof:
            key = self._one_key(prompt, console, choices, default)
            console.print(key)
            return choices[key]
        console.print(prompt, end="")
        if self.eof or self.fd is None:
            console.print(f"[dim]{default}[/dim]")
            return choices[default]
        try:
            line = self.stream.readline(MAX_LINE_CHARS)
        except (OSError, ValueError):
            line = ""
        if line == "":
            self.eof = True
            console.print(f"[dim]{default}[/dim]")
            return choices[default]
        key = (line.strip().lower() or default)[:1]
        return choices.get(key, choices[default])

    def _one_key(self, prompt: str, console: Console, choices: dict[str, str], default: str) -> str:
        """Show ``prompt`` and wait for one of ``choices`` (either case) or Enter, read without echo or
        Enter; the terminal's mode is put back whatever happens (Ctrl-C still interrupts)."""
        import termios
        import tty

        assert self.fd is not None
        saved = termios.tcgetattr(self.fd)
        try:
            tty.setcbreak(self.fd, termios.TCSANOW)
            # Keys pressed before the question was asked (while the report printed) are not answers.
            termios.tcflush(self.fd, termios.TCIFLUSH)
            console.print(prompt, end="")
            while True:
                ch = os.read(self.fd, 1).decode("ascii", "replace").lower()
                if ch in ("", "\x04"):  # end of input (Ctrl-D)
                    self.eof = ch == ""
                    return default
                if ch in ("\r", "\n"):
                    return default
                if ch in choices:
                    return ch
        finally:
            termios.tcsetattr(self.fd, termios.TCSANOW, saved)


@contextlib.contextmanager
def sigint_sets(event: threading.Event):
    """While inside, Ctrl-C sets ``event`` instead of raising KeyboardInterrupt (a second one raises).

    Only the main thread can install signal handlers; elsewhere (tests calling
    the loop from a thread) this does nothing and Ctrl-C raises as usual.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum, frame) -> None:
        if event.is_set():
            raise KeyboardInterrupt
        event.set()

    previous = signal.signal(signal.SIGINT, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
