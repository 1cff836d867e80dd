"""The practice loop in-process, with the edges faked (tests/fakes.py): milliseconds, not minutes.

What test_practice.py checked through a real terminal, the virtual microphone
and the model in real time (two questions, Enter, silence, the demo) is
checked here on the same ``Practice`` with tone audio that a scripted
transcriber reads back; the faults (Ctrl-C, a kill, a second process, a full
disk) are in test_practice_faults.py.  test_practice.py keeps one real session
end to end.
"""

from __future__ import annotations

import io
import os
import re
import sqlite3
import stat
from pathlib import Path

import numpy as np
import pytest
from rich.console import Console

from fakes import BlockSource, FakeClock, FakeTranscriber, ScriptedKeys, spoken
from sessions import CONFLICT, FAILURE, QUESTIONS, REPLY, Session, no_traceback, same_audio, wav_seconds
from starcoach.capture.speak import SilentSpeaker
from starcoach.catalogue.banks import load_catalogue
from starcoach.errors import ExitStatus
from starcoach.pipeline.practice import PracticeOptions


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


def test_an_answer_cut_by_the_time_limit_says_so_and_its_length_is_not_judged(tmp_path, cli):
    import json

    from starcoach.pipeline.process import analyse_transcript
    from starcoach.store.database import Store

    s = Session(tmp_path, [spoken(CONFLICT)], CONFLICT,
                options=PracticeOptions(questions=1, max_answer_s=16.0, end_silence_s=1.5))
    assert s.run() == ExitStatus.OK
    text = " ".join(s.text.split())
    assert "(time limit reached)" in text
    assert "Cut off: the answer ran into the time limit, so it may stop mid-story; its length is not judged." in text
    assert "You spoke for" not in text  # 16 s would be "aim for 1.5-2.5 minutes"
    stored = json.loads(s.rows("SELECT analysis FROM answers")[0][0])
    assert stored["cut"] == "time_limit"
    # The same words judged as a finished answer: the length advice, and points off for it.
    store = Store.open(s.data)
    try:
        (row,) = store.answers(1)
        whole = analyse_transcript(row.transcript(), input="x", question=None, company=None)
        cut = analyse_transcript(row.transcript(), input="x", question=None, company=None, cut="time_limit")
    finally:
        store.close()
    assert any(line.startswith("You spoke for") for line in whole.advice) and whole.cut is None
    assert not any(line.startswith("You spoke for") for line in cut.advice)
    assert cut.score - whole.score == 10  # under 60 % of the target words: 10 points, not taken off
    assert "cut" not in whole.to_json() and cut.to_json()["cut"] == "time_limit"
    # Judged again with the current rules, it is still a cut answer; the exports say so too.
    assert cli("reanalyse", "--all", "--data-dir", str(s.data)).code == 0
    assert json.loads(s.rows("SELECT analysis FROM answers")[0][0])["cut"] == "time_limit"
    md = cli("export", "1", "--format", "md", "--data-dir", str(s.data)).out
    assert "> **Cut off: the answer ran into the time limit" in md


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


def test_silence_ends_at_once_with_a_clear_message(tmp_path):
    s = Session(tmp_path, [np.zeros(2 * 16000, dtype=np.float32)], "",
                options=PracticeOptions(questions=1, mic_file=Path("silence.wav")))
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


def test_the_demo_through_the_command(tmp_path, cli, monkeypatch):
    """`practice --demo` with no terminal: the bundled question, its recording, one follow-up answered by
    the second bundled recording, the whole loop, exit 0."""
    from starcoach.cli import practice
    from starcoach.speech.decode import load_audio

    used: dict = {}
    tx = FakeTranscriber(FAILURE)
    scripts = [FAILURE, REPLY]

    def source_factory(input_device, mic_files):
        used["mic_files"] = mic_files
        opened: list = []

        def source():
            tx.script = scripts[min(len(opened), 1)]
            opened.append(1)
            return BlockSource(spoken(tx.script))

        return source

    monkeypatch.setattr(practice, "_source_factory", source_factory)
    monkeypatch.setattr(practice, "load_transcriber", lambda model, err: tx)
    r = cli("practice", "--demo", "--no-speak")
    no_traceback(r.out + r.err)
    assert r.code == 0, r
    assert "Question 1/1" in r.out and "Tell me about a time you fixed a problem" in r.out
    # While a recording plays the candidate, nobody is told to answer out loud.
    assert "Answer out loud" not in r.out and "gives the answer in your place" in r.out
    assert re.search(r"Score \d+/100", r.out) and "Session summary" in r.out
    assert r.out.count("Feedback ready") == 2 and "Follow-up 1" in r.out and "What the reply supplied" in r.out
    assert [p.name for p in used["mic_files"]] == ["answer.ogg", "follow-up.ogg"]
    assert load_audio(used["mic_files"][0]).size / 16000 > 60 and load_audio(used["mic_files"][1]).size / 16000 > 10
    db = sqlite3.connect(Path(os.environ["STARCOACH_HOME"]) / "starcoach.db")
    try:
        (main, follow) = db.execute("SELECT id, question_id, status, company, parent_id FROM answers "
                                    "ORDER BY id").fetchall()
        assert main[1:3] == ("example", "analysed") and main[3] and main[4] is None
        assert follow[2] == "analysed" and follow[4] == main[0]
        assert db.execute("SELECT status FROM sessions").fetchall() == [("complete",)]
    finally:
        db.close()


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


def test_at_a_terminal_the_menu_takes_one_key_without_enter():
    import termios
    import threading

    from starcoach.pipeline.keys import Keys

    master, slave = os.openpty()
    choices = {"n": "next", "r": "retry", "q": "quit"}
    with os.fdopen(slave, "r") as stream:
        keys = Keys(stream)
        assert keys.interactive
        mode = termios.tcgetattr(slave)
        os.write(master, b"q")  # typed before the menu was shown: not an answer
        out = io.StringIO()
        got: list[str] = []
        shown = threading.Event()

        class Shown(io.StringIO):
            def write(self, text):
                if "?" in text:
                    shown.set()
                return out.write(text)

        def ask():
            got.append(keys.ask("Next? ", Console(file=Shown()), choices, "n"))

        for typed, want in ((b"x", None), (b"R", "retry"), (b"\r", "next"), (b"q", "quit")):
            shown.clear()
            got.clear()
            t = threading.Thread(target=ask, daemon=True)
            t.start()
            assert shown.wait(5)
            os.write(master, typed)  # the key alone: no Enter after it
            t.join(0.5 if want is None else 5)
            if want is None:  # a key that is not in the menu is ignored; the menu still waits
                assert t.is_alive() and got == []
                os.write(master, b"r")
                t.join(5)
                want = "retry"
            assert got == [want], typed
            # The terminal is as it was (line mode, echo on), and the key pressed was not echoed twice.
            assert termios.tcgetattr(slave) == mode
        assert out.getvalue().count("Next? ") == 4 and out.getvalue().endswith("Next? q\n")
    os.close(master)
