"""A practice session run in-process with the edges faked, for test_practice_loop.py and test_practice_faults.py."""

from __future__ import annotations

import io
import sqlite3
import wave
from pathlib import Path
from typing import Optional

import numpy as np
from rich.console import Console

from fakes import BlockSource, EnergyEndpointer, FakeClock, FakeTranscriber, ScriptedKeys
from starcoach.capture.speak import SilentSpeaker
from starcoach.catalogue.banks import load_catalogue
from starcoach.pipeline.practice import Practice, PracticeOptions
from starcoach.store.database import Store

CONFLICT = ("So you want to hear about a conflict with a coworker. Last spring a backend engineer on my team "
            "wanted to delay our release because of flaky tests. I had to ship on time. I sat down with him and "
            "I listed every failing test. I suggested we quarantine three of them. We shipped two days later "
            "with no incidents. I earn trust by disagreeing openly and then committing.")
FAILURE = ("A failure that mattered to me, um, was a data migration I led as a new team lead. I skipped the full "
           "rehearsal to save time. The migration stalled halfway, so we rolled back. I owned the mistake. "
           "Since then I rehearse anything I cannot undo.")
#: A short answer with no result and every action "we"; and a reply to "how did it turn out?".
WEAK = ("Last year our team had a nightly data load that kept failing. We looked at the logs together, and we "
        "changed the import step so it ran in smaller batches.")
REPLY = ("In the end the load finished two hours earlier, and I wrote the batch script myself. "
         "Errors fell from ten a week to one.")
QUESTIONS = {"gen-003": "Tell me about a time you had a conflict with a coworker and how the two of you "
                        "resolved it.",
             "gen-002": "Describe a time you failed at something that mattered to you. What did you learn?"}


class Session:
    """One practice session run in-process; what it printed, returned and stored."""

    def __init__(self, tmp_path: Path, answers: list[np.ndarray], script: str, *, keys=None,
                 options: Optional[PracticeOptions] = None, on_block=None, transcriber=None, store=None,
                 clock=None, data: Optional[Path] = None):
        self.data = data or tmp_path / "data"
        self.store = store or Store.open(self.data)
        self.catalogue = load_catalogue()
        self.answers = list(answers)
        self.sources: list[BlockSource] = []
        self.on_block = on_block
        self.transcriber = transcriber or FakeTranscriber(script)
        self.speaker = SilentSpeaker()
        self.keys = keys or ScriptedKeys()
        self.clock = clock or FakeClock()
        self.out = io.StringIO()
        self.err = io.StringIO()
        self.options = options or PracticeOptions(questions=len(answers), end_silence_s=1.5)
        self.practice = Practice(
            self.options, self.catalogue, self.store, Console(file=self.out, width=200),
            self.keys, transcriber=self.transcriber, source_factory=self._source, speaker=self.speaker,
            err=Console(file=self.err, width=200), clock=self.clock, endpointer_factory=EnergyEndpointer)

    def _source(self) -> BlockSource:
        samples = self.answers[min(len(self.sources), len(self.answers) - 1)]
        src = BlockSource(samples, on_block=self.on_block)
        self.sources.append(src)
        return src

    def run(self) -> int:
        try:
            self.code = int(self.practice.run())
        finally:
            self.store.close()
        self.text = self.out.getvalue() + self.err.getvalue()
        return self.code

    def rows(self, sql: str) -> list[tuple]:
        db = sqlite3.connect(self.data / "starcoach.db")
        try:
            return db.execute(sql).fetchall()
        finally:
            db.close()

    def answers_rows(self) -> list[tuple]:
        """(position, question id, status, duration_s, audio path, transcript JSON, error) by id."""
        return self.rows("SELECT position, question_id, status, duration_s, audio_path, transcript, error "
                         "FROM answers ORDER BY id")

    def sessions(self) -> list[tuple]:
        return self.rows("SELECT id, status FROM sessions ORDER BY id")


def wav_seconds(path: Path) -> float:
    with wave.open(str(path)) as w:  # the strict reader: the header sizes must be right
        assert (w.getframerate(), w.getnchannels(), w.getsampwidth()) == (16000, 1, 2)
        return w.getnframes() / 16000


def same_audio(path: Path, source: np.ndarray) -> float:
    from fakes import read_wav

    got = read_wav(path)
    n = min(got.size, source.size)
    return float(np.corrcoef(got[:n], source[:n])[0, 1])


def no_traceback(text: str) -> None:
    assert "Traceback" not in text, text[-3000:]
