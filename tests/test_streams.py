"""Standard streams that are closed, full or gone: one line and a status, never a traceback.

In-process through ``main(argv, env)`` with streams that fail as the real
ones do, and once through the real command (``> /dev/full``, ``| head -c1``),
where the interpreter's own flush at exit is what used to fail.
"""

from __future__ import annotations

import errno
import io
import json
import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from answers import STRONG
from starcoach.cli import main
from starcoach.cli.env import Env

STARCOACH = Path(sys.executable).with_name("starcoach")


class Refusing(io.StringIO):
    """A stream whose writes fail with ``error`` (ENOSPC as /dev/full, EPIPE as a closed pipe)."""

    def __init__(self, error: OSError):
        super().__init__()
        self.error = error

    def write(self, text):
        raise self.error

    def flush(self):
        raise self.error


def _run(argv, stdout, stderr=None):
    err = stderr if stderr is not None else io.StringIO()
    env = Env(stdout=stdout, stderr=err, stdin=io.StringIO(""), environ=dict(os.environ))
    return main(argv, env), err


@pytest.fixture
def answer(tmp_path) -> Path:
    f = tmp_path / "a.txt"
    f.write_text(STRONG)
    return f


def _stored(tmp_path) -> int:
    db = sqlite3.connect(Path(os.environ["STARCOACH_HOME"]) / "starcoach.db")
    try:
        return db.execute("SELECT count(*) FROM answers WHERE status = 'analysed'").fetchone()[0]
    finally:
        db.close()


def test_standard_output_closed_is_one_line_and_the_answer_is_still_stored(answer, tmp_path):
    # `starcoach analyse a.txt --json >&-`: Python starts with sys.stdout = None (was an AttributeError traceback).
    for argv in (["analyse", str(answer), "--json"], ["analyse", str(answer)], ["companies"]):
        code, err = _run(argv, stdout=None)
        assert code == 1, err.getvalue()
        assert err.getvalue() == ("starcoach: standard output is closed, so nothing can be printed (it was started "
                                  "with >&-)\n")
    assert _stored(tmp_path) == 2


def test_a_full_standard_output_is_one_line(answer, tmp_path):
    # `> /dev/full`: every write fails with ENOSPC (was an OSError traceback).
    full = OSError(errno.ENOSPC, "No space left on device")
    for argv in (["analyse", str(answer), "--json"], ["analyse", str(answer)], ["questions"]):
        code, err = _run(argv, stdout=Refusing(full))
        assert code == 1, err.getvalue()
        assert err.getvalue() == "starcoach: cannot write to standard output: No space left on device\n"
    assert _stored(tmp_path) == 2  # judged and kept; only the printing failed


def test_a_reader_that_went_away_ends_quietly(answer):
    # `| head -c1`: rich turned the broken pipe into SystemExit(1) of its own.
    gone = BrokenPipeError(errno.EPIPE, "Broken pipe")
    for argv in (["analyse", str(answer), "--json"], ["questions"], ["companies"]):
        code, err = _run(argv, stdout=Refusing(gone))
        assert code == 0 and err.getvalue() == "", argv


def test_standard_error_closed_changes_nothing_but_the_words(tmp_path, answer):
    out = io.StringIO()
    code, _ = _run(["analyse", str(tmp_path / "gone.txt"), str(answer), "--json"], stdout=out,
                   stderr=Refusing(OSError(errno.EBADF, "Bad file descriptor")))
    assert code == 1
    assert [json.loads(x)["error"] is None for x in out.getvalue().splitlines()] == [False, True]
    code, _ = _run(["analyse", str(answer), "--json"], stdout=io.StringIO(), stderr=None)
    assert code == 0


@pytest.mark.skipif(not os.path.exists("/dev/full") or shutil.which("bash") is None, reason="needs /dev/full and bash")
def test_the_real_command_on_a_full_device_and_a_closed_pipe(tmp_path, answer):
    """The interpreter flushes standard output once more at exit: that flush is done, and told, by starcoach."""
    env = {**os.environ, "STARCOACH_HOME": str(tmp_path / "d")}

    def sh(line: str) -> subprocess.CompletedProcess:
        return subprocess.run(["bash", "-c", f"set -o pipefail; {line}"], capture_output=True, text=True,
                              timeout=60, env=env)

    p = sh(f"'{STARCOACH}' companies > /dev/full")
    assert p.returncode == 1 and p.stderr == "starcoach: cannot write to standard output: No space left on device\n"
    p = sh(f"'{STARCOACH}' analyse '{answer}' --json | head -c1")
    assert p.returncode == 0 and p.stderr == "" and p.stdout == "{"
    p = sh(f"'{STARCOACH}' questions | head -c1")
    assert p.returncode == 0 and p.stderr == "", p.stderr


def test_sigterm_stops_a_command_as_ctrl_c_does(tmp_path, answer):
    """``kill PID`` while ``analyse a.txt -`` waits for its second input: exit 143, one line, the first answer
    kept and the session marked interrupted (before: killed outright, status -15, the session left 'active')."""
    import signal
    import time

    data = tmp_path / "d"
    p = subprocess.Popen([str(STARCOACH), "analyse", str(answer), "-", "--json"], stdin=subprocess.PIPE,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                         env={**os.environ, "STARCOACH_HOME": str(data)})
    try:
        first = p.stdout.readline()  # judged and stored; now it reads standard input, which never ends
        assert json.loads(first)["error"] is None
        time.sleep(0.3)
        p.send_signal(signal.SIGTERM)
        out, err = p.communicate(timeout=30)
    finally:
        p.kill()
    assert p.returncode == 143, err
    assert err == "starcoach: interrupted\n"
    db = sqlite3.connect(data / "starcoach.db")
    try:
        assert db.execute("SELECT status FROM sessions").fetchall() == [("interrupted",)]
        assert db.execute("SELECT status FROM answers").fetchall() == [("analysed",)]
    finally:
        db.close()


class _Endless(io.RawIOBase):
    """Standard input as ``< /dev/zero``: NUL bytes without end; reading more than 1 MB of it is the fault."""

    def __init__(self):
        self.read_bytes = 0
        self.ready, w = os.pipe()  # what select() watches: always readable, as /dev/zero is
        os.write(w, b"x")

    def readable(self):
        return True

    def fileno(self):
        return self.ready

    def readinto(self, b):
        self.read_bytes += len(b)
        if self.read_bytes > 1 << 20:
            raise AssertionError("read an endless input as if it would end")
        b[:] = b"\0" * len(b)
        return len(b)


def test_keys_read_an_endless_input_a_piece_at_a_time():
    """``practice < /dev/zero``: a menu's readline() read NULs for ever (18 GB in 40 s in the fault matrix)."""
    from rich.console import Console

    from starcoach.pipeline.keys import Keys

    raw = _Endless()
    keys = Keys(io.TextIOWrapper(io.BufferedReader(raw), encoding="utf-8"))
    out = io.StringIO()
    assert keys.ask("[N]ext, [q]uit? ", Console(file=out), {"n": "next", "q": "quit"}, "n") == "next"
    assert not keys.enter_pressed()  # NUL bytes with no line end are not Enter
    assert raw.read_bytes < 1 << 20


def test_vault_add_refuses_an_endless_input_in_one_line(cli, tmp_path):
    assert cli("vault", "init").code == 0
    raw = _Endless()
    err = io.StringIO()
    env = Env(stdout=io.StringIO(), stderr=err, stdin=io.TextIOWrapper(io.BufferedReader(raw), encoding="utf-8"),
              environ=dict(os.environ))
    assert main(["vault", "add"], env) == 2
    assert err.getvalue() == ("starcoach: standard input is not answers typed at the prompts (binary data, or a line "
                              "of more than 4096 characters)\n")
    code, err = _run(["vault", "add"], stdout=io.StringIO())  # and at once at the end of input
    assert code in (1, 2) and len(err.getvalue().splitlines()) == 1
