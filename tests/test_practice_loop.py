"""The practice loop in-process, with the edges faked (tests/fakes.py): milliseconds, not minutes.

What test_practice.py checked through a real terminal, the virtual microphone
and the model in real time (two questions, Enter, Ctrl-C, silence, a kill and
recovery, a second process, a full disk, the demo) is checked here on the
same ``Practice`` with tone audio that a scripted transcriber reads back.
test_practice.py keeps one real session end to end.
"""

from __future__ import annotations

import io
import os
import re
import signal
import sqlite3
import stat
import threading
import wave
from pathlib import Path
from typing import Optional

import numpy as np
import pytest
from rich.console import Console

from fakes import BlockSource, EnergyEndpointer, FakeClock, FakeTranscriber, ScriptedKeys, spoken
from starcoach.banks import load_catalogue
from starcoach.capture.speak import SilentSpeaker
from starcoach.errors import ExitStatus
from starcoach.pipeline.practice import Practice, PracticeOptions
from starcoach.store import Store

CONFLICT = ("So you want to hear about a conflict with a coworker. Last spring a backend engineer on my team "
            "wanted to delay our release because of flaky tests. I had to ship on time. I sat down with him and "
            "I listed every failing test. I suggested we quarantine three of them. We shipped two days later "
            "with no incidents. I earn trust by disagreeing openly and then committing.")
FAILURE = ("A failure that mattered to me, um, was a data migration I led as a new team lead. I skipped the full "
           "rehearsal to save time. The migration stalled halfway, so we rolled back. I owned the mistake. "
           "Since then I rehearse anything I cannot undo.")
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


def test_two_questions_asked_spoken_recorded_judged_and_stored(tmp_path):
    s = Session(tmp_path, [spoken(CONFLICT), spoken(FAILURE)], CONFLICT,
                options=PracticeOptions(questions=2, question_ids=("gen-003", "gen-002"), end_silence_s=1.5,
                                        company=load_catalogue().company("amazon")))
    s.transcriber.script = CONFLICT
    # The second answer is read with the second script: the transcriber changes when its source opens.
    real_source = s._source

    def source():
        if s.sources:
            s.transcriber.script = FAILURE
        return real_source()

    s.practice.source_factory = source
    assert s.run() == ExitStatus.OK
    text = s.text
    no_traceback(text)
    for n in (1, 2):
        assert f"Question {n}/2" in text
    assert text.count("you paused") == 2
    assert len(re.findall(r"Score \d+/100", text)) == 2
    assert len(re.findall(r"Feedback ready (\d+\.\d\d) s after the answer ended", text)) == 2
    assert text.count("etry this one") == 2  # the next/retry/quit menu after each answer
    assert "Session summary" in text and "Mean score" in text and "Work on next:" in text
    assert "Values to link back to:" in text and "Answer out loud" in text
    # Each question was read out, in order, before its recording.
    assert s.speaker.said == [QUESTIONS["gen-003"], QUESTIONS["gen-002"]]
    rows = s.answers_rows()
    assert [(r[0], r[1], r[2]) for r in rows] == [(1, "gen-003", "analysed"), (2, "gen-002", "analysed")]
    assert s.sessions() == [(1, "complete")]
    for r, answer, keyword in zip(rows, (CONFLICT, FAILURE), ("release", "migration")):
        wav = s.data / r[4]
        assert wav.exists() and wav_seconds(wav) == pytest.approx(r[3], abs=1e-3)
        assert keyword in r[5].lower()  # the transcript is this answer's, not the other's
        audio_s = spoken(answer).size / 16000
        assert audio_s < r[3] < audio_s + 1.5 + 0.3  # the answer, then the end-of-answer silence
        assert same_audio(wav, spoken(answer)) > 0.99
    assert stat.S_IMODE(s.data.stat().st_mode) == 0o700
    for p in s.data.rglob("*"):
        assert stat.S_IMODE(p.stat().st_mode) == (0o700 if p.is_dir() else 0o600), p


def test_retry_asks_the_same_question_again_and_quit_ends_the_session(tmp_path):
    s = Session(tmp_path, [spoken(CONFLICT)], CONFLICT, keys=ScriptedKeys(["r", "q"]),
                options=PracticeOptions(questions=2, question_ids=("gen-003", "gen-002"), end_silence_s=1.5))
    assert s.run() == ExitStatus.OK
    assert [(r[0], r[1]) for r in s.answers_rows()] == [(1, "gen-003"), (2, "gen-003")]
    assert "Question 1/2" in s.text and "Question 2/2" not in s.text
    assert s.sessions() == [(1, "complete")]


def test_enter_stops_the_answer_early(tmp_path):
    answer = spoken(CONFLICT + " " + FAILURE)
    box: dict = {}
    s = Session(tmp_path, [answer], CONFLICT + " " + FAILURE,
                keys=ScriptedKeys(enter_when=lambda: box["s"].sources[-1].blocks >= 40))
    box["s"] = s
    assert s.run() == ExitStatus.OK
    m = re.search(r"Recorded (\d+\.\d) s \(([^)]*)\)", s.text)
    assert m and m.group(2) == "you pressed Enter"
    assert re.search(r"Score \d+/100", s.text)
    ((_, _, status, duration, audio, transcript, _),) = s.answers_rows()
    assert status == "analysed" and transcript
    wav = s.data / audio
    assert wav_seconds(wav) == pytest.approx(duration, abs=1e-3)
    assert duration == pytest.approx(4.0, abs=0.15)  # 40 blocks of 0.1 s, nowhere near the end
    assert same_audio(wav, answer) > 0.99


def test_ctrl_c_mid_answer_keeps_the_audio_and_exits_130(tmp_path):
    """Ctrl-C (a real SIGINT to this process) while the transcriber is still busy with a chunk."""
    answer = spoken(CONFLICT)

    def on_block(n: int) -> None:
        if n == 70:
            os.kill(os.getpid(), signal.SIGINT)  # what the terminal's ^C does

    tx = FakeTranscriber(CONFLICT, delay_s=0.3)
    s = Session(tmp_path, [answer], CONFLICT, on_block=on_block, transcriber=tx)
    assert s.run() == ExitStatus.INTERRUPTED
    no_traceback(s.text)
    m = re.search(r"Answer stopped; (\d+) s of audio kept in (\S+)\.", s.text)
    assert m and "Stopped. Your answers so far are saved" in s.text
    assert s.sessions() == [(1, "interrupted")]
    ((_, _, status, duration, audio, _, _),) = s.answers_rows()
    assert status == "recorded"  # kept, not analysed
    wav = s.data / audio
    assert Path(m.group(2)) == wav
    assert wav_seconds(wav) == pytest.approx(duration, abs=1e-3)  # closed cleanly: exact sizes
    assert duration == pytest.approx(7.0, abs=0.15) and abs(int(m.group(1)) - duration) < 1
    assert same_audio(wav, answer) > 0.99
    # The live transcriber's worker was joined before the session ended (no thread left in the model).
    assert not [t for t in threading.enumerate() if t.name == "live-transcriber"]
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler  # the handler is put back


def test_silence_ends_at_once_with_a_clear_message(tmp_path):
    s = Session(tmp_path, [np.zeros(2 * 16000, dtype=np.float32)], "")
    s.options = PracticeOptions(questions=1, mic_file=Path("silence.wav"))
    s.practice.o = s.options
    assert s.run() == ExitStatus.OK
    assert "we heard nothing - check your microphone" in s.text
    assert "Recorded 2.0 s (the --mic-file ended)" in s.text and "you pressed Enter" not in s.text
    ((_, _, status, duration, _, _, error),) = s.answers_rows()
    assert status == "failed" and "heard nothing" in error
    assert duration == pytest.approx(2.0, abs=0.15)
    assert s.transcriber.calls == []  # nothing to transcribe


def test_think_time_counts_down_on_the_clock_and_enter_skips_it(tmp_path):
    clock = FakeClock()
    s = Session(tmp_path, [spoken(FAILURE)], FAILURE, clock=clock,
                options=PracticeOptions(questions=1, think_time_s=2.0, end_silence_s=1.5))
    assert s.run() == ExitStatus.OK
    assert sum(clock.slept) == pytest.approx(2.0, abs=0.11)  # 0.1 s steps, no real waiting
    presses = iter([True])
    s2 = Session(tmp_path / "2", [spoken(FAILURE)], FAILURE,
                 keys=ScriptedKeys(enter_when=lambda: next(presses, False)),
                 options=PracticeOptions(questions=1, think_time_s=30.0, end_silence_s=1.5))
    assert s2.run() == ExitStatus.OK
    assert s2.clock.slept == []  # Enter started the recording at once


def test_the_feedback_latency_is_measured_on_the_clock(tmp_path):
    class Ticking(FakeClock):
        def monotonic(self) -> float:
            self.now_s += 0.25  # every reading a quarter of a second later
            return self.now_s

    s = Session(tmp_path, [spoken(FAILURE)], FAILURE, clock=Ticking())
    s.run()
    (outcome,) = s.practice.outcomes
    assert outcome.latency_s == pytest.approx(0.25)
    assert "Feedback ready 0.25 s after the answer ended" in s.text


def test_a_question_that_cannot_be_spoken_is_shown_and_the_session_goes_on(tmp_path):
    from starcoach.capture.speak import SpeechUnavailable

    class Mute(SilentSpeaker):
        def say(self, text: str) -> None:
            raise SpeechUnavailable("no speaker found")

    s = Session(tmp_path, [spoken(FAILURE), spoken(FAILURE)], FAILURE,
                options=PracticeOptions(questions=2, question_ids=("gen-002", "gen-003"), end_silence_s=1.5))
    s.practice.speaker = Mute()
    assert s.run() == ExitStatus.OK
    assert s.text.count("(not spoken: no speaker found)") == 1  # said once; then only shown
    assert len(s.answers_rows()) == 2


def test_a_killed_recording_is_recovered_at_the_next_start(tmp_path):
    """What ``kill -9`` leaves (a row 'recording', a WAV with sizes "unknown") is offered and judged."""
    from starcoach.capture.wav import WavWriter
    from starcoach.pipeline.recovery import recover_unfinished

    data = tmp_path / "data"
    store = Store.open(data)
    sid = store.new_session("practice", "amazon", {})
    wav = store.new_audio_path(sid, 1)
    store.new_answer(sid, 1, question=QUESTIONS["gen-002"], question_id="gen-002", company="amazon", audio_path=wav)
    answer = spoken(FAILURE)
    said = answer[: int(4.5 * 16000)]
    w = WavWriter(wav, 16000)
    w.write(said)
    w.flush()  # on disk as the writer leaves it every second; then the process dies (no close)
    raw = wav.read_bytes()
    assert raw[4:8] == b"\xff\xff\xff\xff"  # sizes still "unknown": nobody closed it
    tx = FakeTranscriber(FAILURE)
    out, err = io.StringIO(), io.StringIO()
    recover_unfinished(store, tx, load_catalogue(), ScriptedKeys(["y"]), Console(file=out, width=200),
                       Console(file=err, width=200))
    text = out.getvalue()
    assert "was not finished" in text and "recover and analyse it now" in text
    assert re.search(r"Score \d+/100", text)
    assert tx.files == [wav]
    # Then a new session starts as usual, in the same data folder.
    s = Session(tmp_path, [np.zeros(2 * 16000, dtype=np.float32)], "", store=store, data=data,
                options=PracticeOptions(questions=1, mic_file=Path("silence.wav")))
    assert s.run() == ExitStatus.OK
    assert "we heard nothing" in s.text
    rows = s.answers_rows()
    assert rows[0][2] == "analysed" and "migration" in rows[0][5]
    assert [x[1] for x in s.sessions()] == ["interrupted", "complete"]
    assert wav_seconds(wav) == pytest.approx(4.5, abs=0.01)  # repaired: exact sizes, nothing lost
    assert rows[0][3] == pytest.approx(4.5, abs=0.05)
    assert same_audio(wav, said) > 0.99
    w.close()


def test_a_second_practice_leaves_the_live_answer_alone(tmp_path):
    """A second session (its own store) starts while the first is recording: it offers no "recovery"
    of the live answer and does not touch its WAV (before: it ran repair_wav under the writer's feet)."""
    answer = spoken(CONFLICT)
    second: dict = {}

    def on_block(n: int) -> None:
        if n == 30:
            s2 = Session(tmp_path / "second", [np.zeros(2 * 16000, dtype=np.float32)], "", data=tmp_path / "data",
                         options=PracticeOptions(questions=1, mic_file=Path("silence.wav")))
            from starcoach.pipeline.recovery import recover_unfinished

            err = io.StringIO()
            recover_unfinished(s2.store, s2.transcriber, s2.catalogue, ScriptedKeys(["y"]), Console(file=err),
                               Console(file=err, width=200))
            second["recovery"] = err.getvalue()
            second["code"] = s2.run()
            second["text"] = s2.text
        if n == 60:
            os.kill(os.getpid(), signal.SIGINT)

    s = Session(tmp_path, [answer], CONFLICT, on_block=on_block)
    assert s.run() == ExitStatus.INTERRUPTED
    assert "left alone" in " ".join(second["recovery"].split())
    assert "was not finished" not in second["recovery"]
    assert second["code"] == ExitStatus.OK and "we heard nothing" in second["text"]
    rows = s.answers_rows()
    assert [r[2] for r in rows] == ["recorded", "failed"]  # the live answer kept; the silent one judged
    wav = s.data / rows[0][4]
    assert wav_seconds(wav) == pytest.approx(rows[0][3], abs=1e-3)
    assert same_audio(wav, answer) > 0.99


def test_a_disk_full_mid_answer_stops_cleanly_keeps_the_audio_and_exits_3(tmp_path, monkeypatch):
    from starcoach.capture import wav as wav_module

    real_write = wav_module.WavWriter.write
    state = {"blocks": 0}

    def write(self, block):
        state["blocks"] += 1
        if state["blocks"] > 50:  # 5 s written, then the disk is full
            raise wav_module.RecordingWriteError(f"the disk holding {self.path.parent} is full", True)
        return real_write(self, block)

    monkeypatch.setattr(wav_module.WavWriter, "write", write)
    s = Session(tmp_path, [spoken(CONFLICT)], CONFLICT)
    assert s.run() == ExitStatus.STORAGE
    no_traceback(s.text)
    (said,) = [ln for ln in s.text.splitlines() if "is full" in ln]  # one line, however long
    assert re.fullmatch(r"Stopped: the disk holding \S+ is full: recording stopped; \d+ s of audio kept in "
                        r"\S+; the next `starcoach practice` offers to recover it\.", said.strip()), said
    assert "move it aside" not in s.text  # not the advice for a damaged database
    ((_, _, status, _, audio, _, _),) = s.answers_rows()
    assert status in ("recording", "recorded")  # unfinished: offered for recovery once there is room
    assert wav_seconds(s.data / audio) == pytest.approx(5.0, abs=0.01)


def test_the_demo_through_the_command(tmp_path, cli, monkeypatch):
    """`practice --demo` with no terminal: the bundled question and recording, the whole loop, exit 0."""
    from starcoach.audio import load_audio
    from starcoach.cli import practice

    used: dict = {}

    def source_factory(input_device, mic_file):
        used["mic_file"] = mic_file
        return lambda: BlockSource(spoken(FAILURE))

    monkeypatch.setattr(practice, "_source_factory", source_factory)
    monkeypatch.setattr(practice, "load_transcriber", lambda model, err: FakeTranscriber(FAILURE))
    r = cli("practice", "--demo", "--no-speak")
    no_traceback(r.out + r.err)
    assert r.code == 0, r
    assert "Question 1/1" in r.out and "Tell me about a time you fixed a problem" in r.out
    # While a recording plays the candidate, nobody is told to answer out loud.
    assert "Answer out loud" not in r.out and "gives the answer in your place" in r.out
    assert re.search(r"Score \d+/100", r.out) and "Feedback ready" in r.out and "Session summary" in r.out
    assert used["mic_file"].name == "answer.ogg" and load_audio(used["mic_file"]).size / 16000 > 60
    db = sqlite3.connect(Path(os.environ["STARCOACH_HOME"]) / "starcoach.db")
    try:
        ((qid, status, company),) = db.execute("SELECT question_id, status, company FROM answers").fetchall()
        assert (qid, status) == ("example", "analysed") and company
        assert db.execute("SELECT status FROM sessions").fetchall() == [("complete",)]
    finally:
        db.close()


def test_a_real_disk_filling_up_mid_answer_stops_cleanly_and_exits_3(tmp_path):
    """The same on a real 1 MB file system: libsndfile's "System error." is told as a full disk."""
    import subprocess

    disk = tmp_path / "small"
    disk.mkdir()
    if os.geteuid() != 0:
        pytest.skip("mounting a small tmpfs needs root")
    p = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m,mode=0700", "tmpfs", str(disk)],
                       capture_output=True, text=True)
    if p.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here ({p.stderr.strip() or p.returncode})")
    try:
        data = disk / "data"
        Store.open(data).close()
        # Leave room for about 6 s of audio (32 KB/s) after the rows written before recording.
        st = os.statvfs(disk)
        (disk / "filler").write_bytes(b"\0" * max(0, st.f_bavail * st.f_frsize - 260 * 1024))
        answer = spoken(CONFLICT + " " + FAILURE)
        s = Session(tmp_path, [answer], CONFLICT, data=data)
        assert s.run() == ExitStatus.STORAGE
        no_traceback(s.text)
        (said,) = [ln for ln in s.text.splitlines() if "is full" in ln]
        assert re.fullmatch(r"Stopped: the disk holding \S+ is full: recording stopped; \d+ s of audio kept in "
                            r"\S+; the next `starcoach practice` offers to recover it\.", said.strip()), said
        assert "move it aside" not in s.text
        (wav,) = list((data / "sessions").rglob("answer-*.wav"))
        from fakes import read_wav

        kept = read_wav(wav)  # readable as it is (sizes still "unknown" or closed)
        assert kept.size / 16000 > 2.0
        assert same_audio(wav, answer) > 0.99
        ((_, _, status, _, _, _, _),) = s.answers_rows()
        assert status in ("recording", "recorded")
    finally:
        subprocess.run(["umount", "-l", str(disk)], capture_output=True)


def test_keys_sees_enter_without_blocking_and_menus_take_the_default_without_a_terminal():
    from starcoach.pipeline.keys import Keys

    r, w = os.pipe()
    with os.fdopen(r, "r") as stream, os.fdopen(w, "w") as writer:
        keys = Keys(stream)
        assert not keys.enter_pressed()  # nothing typed: returns at once
        writer.write("\n")
        writer.flush()
        assert keys.enter_pressed() and not keys.enter_pressed()  # consumed
        writer.write("r\n")
        writer.flush()
        out = io.StringIO()
        assert keys.ask("? ", Console(file=out), {"n": "next", "r": "retry"}, "n") == "retry"
        writer.close()
        assert keys.ask("? ", Console(file=out), {"n": "next", "r": "retry"}, "n") == "next"  # end of input
        assert keys.eof
    assert Keys(io.StringIO("r\n")).ask("? ", Console(file=io.StringIO()), {"n": "next", "r": "retry"}, "n") == \
        "next"  # no file descriptor (no terminal): the default, without reading
