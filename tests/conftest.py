"""Shared fixtures: every test runs with its own data and config folders."""

from __future__ import annotations

import io
import os
import signal
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

# A shell that starts the suite in the background (``./test.sh &``) hands it Ctrl-C
# ignored, and every program the tests start would inherit that: the tests of what
# Ctrl-C does need it as a terminal delivers it.  With a handler installed here, the
# programs started from here get the default disposition again.
if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)


@pytest.fixture(autouse=True)
def isolated_home(tmp_path, monkeypatch):
    """Point the data folder and the user's bank folder at temp dirs."""
    home = tmp_path / "home"
    (home / ".config").mkdir(parents=True)
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / ".config"))
    monkeypatch.setenv("STARCOACH_HOME", str(tmp_path / "data"))
    monkeypatch.delenv("STARCOACH_BANKS", raising=False)
    return home


class Run:
    def __init__(self, code: int, out: str, err: str):
        self.code, self.out, self.err = code, out, err

    def __repr__(self) -> str:
        return f"Run(code={self.code}, out={self.out[:300]!r}, err={self.err[:300]!r})"


@pytest.fixture
def cli():
    """Run the real command in-process: cli(args..., stdin=...) -> Run."""
    from starcoach.cli import main
    from starcoach.cli.env import Env

    def run(*args: str, stdin: str = "") -> Run:
        out, err = io.StringIO(), io.StringIO()
        env = Env(stdout=out, stderr=err, stdin=io.StringIO(stdin), environ=dict(os.environ))
        code = main(list(args), env)
        return Run(int(code), out.getvalue(), err.getvalue())

    return run


@pytest.fixture(scope="session")
def whisper():
    """The bundled Whisper model with the default settings, loaded and warmed up once for the whole run.

    Shared by every module that transcribes real speech in-process (test_audio_pipeline,
    test_channels, test_history): a transcriber keeps no state from one answer to the next
    that changes what it hears (``rederived`` only counts)."""
    from starcoach.speech.transcribe import WhisperTranscriber
    from starcoach.speech.whisper_model import resolve_model

    t = WhisperTranscriber(resolve_model(None))
    t.warm_up()
    return t


def pytest_collection_modifyitems(config, items):
    """The modules marked ``realtime`` first, each module's tests kept in their order.

    Their tests mostly wait on the clock; started first, they run while the other workers
    (pytest-xdist, ``./test.sh``) keep the CPU busy with the rest, instead of being left for last
    and run with the CPU idle."""
    first = {item.module.__name__ for item in items
             if getattr(item, "module", None) is not None and item.get_closest_marker("realtime")}
    items.sort(key=lambda item: getattr(getattr(item, "module", None), "__name__", "") not in first)
