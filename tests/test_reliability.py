"""Faults a careless user or a hostile machine produces, each handled in one line (fast, in-process).

The real-terminal cases (Ctrl-C at the virtual microphone, the disk filling up
mid-answer) are in test_practice.py; the network and file-system audit is in
test_privacy.py.
"""

from __future__ import annotations

import io
import subprocess
import sys
import threading
import time

import numpy as np
import pytest

from starcoach.model import Transcript

# --------------------------------------------------------------------------- orderly shutdown (items 3, 10)


class _SlowTranscriber:
    """Stands in for Whisper: each chunk takes ``seconds``; records whether it finished."""

    def __init__(self, seconds: float):
        self.seconds = seconds
        self.started = threading.Event()
        self.finished = 0

    def transcribe(self, audio):
        self.started.set()
        time.sleep(self.seconds)
        self.finished += 1
        return Transcript(text="", words=(), duration_s=audio.size / 16000, speech=())


def test_cancel_waits_for_the_chunk_in_the_model_and_drops_the_rest():
    from starcoach.streaming import LiveTranscriber

    tx = _SlowTranscriber(0.5)
    live = LiveTranscriber(tx)
    for start in range(3):
        live._jobs.put((start, np.zeros(16000, dtype=np.float32)))
    assert tx.started.wait(5)
    t0 = time.monotonic()
    live.cancel()
    took = time.monotonic() - t0
    # Before: cancel() only queued a stop and returned at once, with the worker still in the model.
    assert not live._worker.is_alive()
    assert tx.finished == 1  # the chunk it was on, not the two queued behind it
    assert took < 2.0


def test_recorder_stops_on_the_interrupt_event(tmp_path):
    from starcoach.record import Endpointer, Recorder

    class Source:
        sample_rate_hz = 16000
        overflows = 0

        def read(self, timeout_s):
            return np.full(1600, 0.1, dtype=np.float32)

    interrupted = threading.Event()
    blocks = []

    def on_block(samples, elapsed_s, level, ep):
        blocks.append(elapsed_s)
        if len(blocks) == 5:
            interrupted.set()  # what practice's SIGINT handler does

    r = Recorder(Source(), tmp_path / "a.wav", Endpointer(), 60, on_block=on_block).run(None, interrupted)
    assert r.ended_by == "interrupt" and r.duration_s == pytest.approx(0.5)


def test_wav_writer_on_a_full_disk_raises_one_line_and_keeps_what_was_written(tmp_path, monkeypatch):
    import soundfile as sf

    from starcoach import record
    from starcoach.record import Endpointer, Recorder

    class Source:
        sample_rate_hz = 16000
        overflows = 0

        def read(self, timeout_s):
            return np.full(1600, 0.1, dtype=np.float32)

    real_write = sf.SoundFile.write
    calls = {"n": 0}

    def write(self, data):
        calls["n"] += 1
        if calls["n"] > 10:
            raise sf.LibsndfileError(2, "System error.")  # what libsndfile says on ENOSPC
        return real_write(self, data)

    monkeypatch.setattr(sf.SoundFile, "write", write)

    class Full:
        f_bavail, f_frsize = 0, 4096

    monkeypatch.setattr(record.os, "statvfs", lambda p: Full())
    r = Recorder(Source(), tmp_path / "a.wav", Endpointer(), 60).run()
    assert r.ended_by == "write_failed"
    assert str(r.error) == f"the disk holding {tmp_path} is full" and r.error.disk_full
    assert r.duration_s == pytest.approx(1.0)
    assert sf.info(str(tmp_path / "a.wav")).frames == 16000  # closed with what was written


# --------------------------------------------------------------------------- a live answer is locked (item 11)


def test_recovery_leaves_an_answer_another_process_is_recording_alone(tmp_path):
    from rich.console import Console

    from starcoach.banks import load_catalogue
    from starcoach.commands import recover_unfinished
    from starcoach.practice import Keys
    from starcoach.store import Store

    store = Store.open(tmp_path / "data")
    sid = store.new_session("practice")
    wav = store.new_audio_path(sid, 1)
    aid = store.new_answer(sid, 1, question="q", audio_path=wav)
    import soundfile as sf

    sf.write(str(wav), np.zeros(32000, dtype=np.float32), 16000, subtype="PCM_16")
    with open(wav, "r+b") as fh:  # as a live WavWriter leaves it: sizes "unknown"
        fh.seek(4)
        fh.write(b"\xff\xff\xff\xff")
    before = wav.read_bytes()
    # Another process holds the answer's lock, as a live `starcoach practice` does while recording.
    holder = subprocess.Popen(
        [sys.executable, "-c", "import sys, time; from pathlib import Path; from starcoach.store import AnswerLock; "
                               "lock = AnswerLock.try_acquire(Path(sys.argv[1])); print(lock is not None, flush=True); "
                               "time.sleep(60)", str(wav)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "True"

        class Tx:
            calls = 0

            def transcribe_file(self, path):
                Tx.calls += 1
                return Transcript(text="", words=(), duration_s=2.0, speech=())

        out, err = io.StringIO(), io.StringIO()
        recover_unfinished(store, Tx(), load_catalogue(), Keys(io.StringIO("")), Console(file=out),
                           Console(file=err, width=200))
        assert "left alone" in err.getvalue() and "not finished" not in out.getvalue()
        assert wav.read_bytes() == before  # not "repaired" under the writer's feet
        assert Tx.calls == 0
        assert [r.id for r in store.unfinished_answers()] == [aid]
    finally:
        holder.kill()
        holder.wait()
    # Once the recording process is gone, the answer is unfinished and offered as before.
    out = io.StringIO()
    recover_unfinished(store, Tx(), load_catalogue(), Keys(io.StringIO("")), Console(file=out),
                       Console(file=io.StringIO()))
    assert "was not finished" in out.getvalue() and Tx.calls == 1
    assert wav.read_bytes()[4:8] != b"\xff\xff\xff\xff"  # repaired now
    store.close()


def test_answer_lock_is_exclusive_until_released(tmp_path):
    from starcoach.store import AnswerLock, Store

    store = Store.open(tmp_path / "data")
    wav = store.new_audio_path(store.new_session("practice"), 1)
    lock = store.hold_answer(wav)
    assert lock is not None
    assert AnswerLock.try_acquire(wav) is None  # a second holder is refused
    lock.release()
    again = AnswerLock.try_acquire(wav)
    assert again is not None
    again.release()
    store.close()
