"""The practice loop when things go wrong, in-process with the edges faked (tests/fakes.py).

Ctrl-C (a real SIGINT) mid-answer, what ``kill -9`` leaves and its recovery,
a second session while one records, a disk filling up (faked, and a real
1 MB tmpfs).  Each was a real-time test through a terminal before.
"""

from __future__ import annotations

import io
import json
import os
import re
import signal
import threading
from pathlib import Path

import numpy as np
import pytest
from rich.console import Console

from fakes import BlockSource, FakeTranscriber, ScriptedKeys, spoken
from sessions import CONFLICT, FAILURE, QUESTIONS, Session, no_traceback, same_audio, wav_seconds
from starcoach.catalogue.banks import load_catalogue
from starcoach.errors import ExitStatus
from starcoach.pipeline.practice import PracticeOptions
from starcoach.store.database import Store


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
    # Said as recovered, and its 4.5 s are not judged as a short answer.
    assert "Recovered: starcoach was stopped while this answer was being recorded" in " ".join(text.split())
    assert "You spoke for" not in text
    assert tx.files == [wav]
    # Then a new session starts as usual, in the same data folder.
    s = Session(tmp_path, [np.zeros(2 * 16000, dtype=np.float32)], "", store=store, data=data,
                options=PracticeOptions(questions=1, mic_file=Path("silence.wav")))
    assert s.run() == ExitStatus.OK
    assert "we heard nothing" in s.text
    rows = s.answers_rows()
    assert rows[0][2] == "analysed" and "migration" in rows[0][5]
    assert json.loads(s.rows("SELECT analysis FROM answers ORDER BY id")[0][0])["cut"] == "recovered"
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


def test_practice_offers_the_recovery_first_and_no_recover_skips_it(tmp_path, cli, monkeypatch):
    """Through the command: the unfinished answer is offered before the first question (Enter: yes)."""
    from starcoach.capture.wav import WavWriter
    from starcoach.cli import practice

    data = Path(os.environ["STARCOACH_HOME"])
    store = Store.open(data)
    sid = store.new_session("practice", None, {})
    wav = store.new_audio_path(sid, 1)
    store.new_answer(sid, 1, question=QUESTIONS["gen-002"], question_id="gen-002", audio_path=wav)
    w = WavWriter(wav, 16000)
    w.write(spoken(FAILURE)[: 4 * 16000])
    w.flush()
    store.close()
    silence = tmp_path / "silence.wav"
    silence.write_bytes(b"RIFF")
    monkeypatch.setattr(practice, "load_transcriber", lambda model, err: FakeTranscriber(FAILURE))
    monkeypatch.setattr(practice, "_source_factory",
                        lambda device, mic_file: lambda: BlockSource(np.zeros(2 * 16000, dtype=np.float32)))
    r = cli("practice", "--mic-file", str(silence), "--no-speak", "--no-recover", "--questions", "1")
    assert r.code == 0 and "was not finished" not in r.out, r
    r = cli("practice", "--mic-file", str(silence), "--no-speak", "--questions", "1")
    assert r.code == 0, r
    text = r.out
    assert "was not finished" in text and re.search(r"Score \d+/100", text)
    assert text.index("was not finished") < text.index("Question 1/1")  # before the new session's question
    assert "we heard nothing" in text
    w.close()


def test_a_database_another_process_holds_is_said_as_such(tmp_path, monkeypatch):
    """The store stayed locked past the wait: "in use by another starcoach process", not "the data folder
    failed (database is locked)" as if it were broken."""
    import sqlite3

    def locked(self, *a, **k):
        raise sqlite3.OperationalError("database is locked")

    monkeypatch.setattr(Store, "new_session", locked)
    s = Session(tmp_path, [spoken(CONFLICT)], CONFLICT)
    assert s.run() == ExitStatus.STORAGE
    no_traceback(s.text)
    (said,) = [ln for ln in s.text.splitlines() if ln.startswith("Stopped")]
    assert said == (f"Stopped: {s.data / 'starcoach.db'} is in use by another starcoach process and stayed locked "
                    "for 10 s; try again when it has finished (nothing was lost).")
