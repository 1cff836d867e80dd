"""Faults a careless user or a hostile machine produces, each handled in one line (fast, in-process).

The real-terminal cases (Ctrl-C at the virtual microphone, the disk filling up
mid-answer) are in test_practice.py; the network and file-system audit is in
test_privacy.py.
"""

from __future__ import annotations

import io
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

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
    from starcoach.speech.chunks import ChunkJob
    from starcoach.speech.streaming import LiveTranscriber

    tx = _SlowTranscriber(0.5)
    live = LiveTranscriber(tx)

    def queue(k: int) -> None:
        with live._cv:
            live._jobs.append(ChunkJob(start=k * 16000, audio=np.zeros(16000, dtype=np.float32),
                                   queued_at=time.monotonic()))
            live._cv.notify_all()

    queue(0)
    assert tx.started.wait(5)
    queue(1)  # queued behind the chunk in the model
    queue(2)
    t0 = time.monotonic()
    live.cancel()
    took = time.monotonic() - t0
    # Before: cancel() only queued a stop and returned at once, with the worker still in the model.
    assert not live._worker.is_alive()
    assert tx.finished == 1  # the chunk it was on, not the two queued behind it
    assert took < 2.0


def test_recorder_stops_on_the_interrupt_event(tmp_path):
    from starcoach.capture.endpointer import Endpointer
    from starcoach.capture.recorder import Recorder

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

    from starcoach.capture.endpointer import Endpointer
    from starcoach.capture.recorder import Recorder

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

    monkeypatch.setattr(os, "statvfs", lambda p: Full())
    r = Recorder(Source(), tmp_path / "a.wav", Endpointer(), 60).run()
    assert r.ended_by == "write_failed"
    assert str(r.error) == f"the disk holding {tmp_path} is full" and r.error.disk_full
    assert r.duration_s == pytest.approx(1.0)
    assert sf.info(str(tmp_path / "a.wav")).frames == 16000  # closed with what was written


def test_loading_the_model_leaves_no_named_semaphore_to_leak(monkeypatch):
    """faster-whisper makes a (disabled) tqdm bar per call, and tqdm's default lock was a multiprocessing
    RLock: a named semaphore in every batch worker, reported as leaked when Ctrl-C stopped the workers."""
    import multiprocessing.synchronize as mps

    import faster_whisper
    from tqdm import tqdm
    from tqdm.std import TqdmDefaultWriteLock

    from starcoach.speech.whisper_model import load_whisper

    monkeypatch.delattr(tqdm, "_lock", raising=False)  # as in a fresh worker process
    monkeypatch.delattr(TqdmDefaultWriteLock, "mp_lock", raising=False)
    made = []
    real = mps.SemLock.__init__

    def semlock(self, *a, **k):
        made.append(a)
        real(self, *a, **k)

    monkeypatch.setattr(mps.SemLock, "__init__", semlock)
    monkeypatch.setattr(faster_whisper, "WhisperModel", lambda *a, **k: object())
    import starcoach.speech.features as features

    monkeypatch.setattr(features, "install", lambda model: None)  # the stand-in model has no spectrogram
    load_whisper("any", 1)
    with tqdm(total=1.0, disable=True):  # what faster_whisper.transcribe does on every call
        pass
    assert made == []


# --------------------------------------------------------------------------- a live answer is locked


def test_recovery_leaves_an_answer_another_process_is_recording_alone(tmp_path):
    from rich.console import Console

    from starcoach.catalogue.banks import load_catalogue
    from starcoach.pipeline.keys import Keys
    from starcoach.pipeline.recovery import recover_unfinished
    from starcoach.store.database import Store

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
        [sys.executable, "-c", "import sys, time; from pathlib import Path; from starcoach.store.database import AnswerLock; "
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
    from starcoach.store.database import AnswerLock, Store

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


# --------------------------------------------------------------------------- bad inputs (items 4-8, 14)

STARCOACH = Path(sys.executable).with_name("starcoach")


def one_line_error(r) -> str:
    assert "Traceback" not in r.err, r.err
    lines = [ln for ln in r.err.splitlines() if ln.strip()]
    assert len(lines) >= 1, r
    return " ".join(r.err.split())


def test_standard_input_closed_is_one_line(tmp_path):
    # `starcoach analyse - --json <&-`: Python starts with sys.stdin = None.
    p = subprocess.run(["bash", "-c", f"'{STARCOACH}' analyse - --json <&-"], capture_output=True, text=True,
                       timeout=60, env={**os.environ, "STARCOACH_HOME": str(tmp_path / "d")})
    assert "Traceback" not in p.stderr, p.stderr
    assert p.returncode == 1, p.stderr
    import json

    (obj,) = [json.loads(x) for x in p.stdout.splitlines()]
    assert obj["error"]["kind"] == "unreadable" and "standard input" in obj["error"]["message"]
    assert len([ln for ln in p.stderr.splitlines() if ln.strip()]) == 1


def test_an_endless_standard_input_is_not_read_to_its_end(tmp_path):
    """``starcoach analyse - < /dev/zero`` read for ever (memory growing) before; now only past the limit."""
    import json

    from starcoach.cli import main
    from starcoach.cli.env import Env

    class Endless(io.RawIOBase):  # as /dev/zero: any amount, never an end
        def readable(self):
            return True

        def readinto(self, b):
            b[:] = b"\0" * len(b)
            return len(b)

        def readall(self):
            raise AssertionError("read to the end of an endless input")

    stdin = io.TextIOWrapper(io.BufferedReader(Endless()))
    out, err = io.StringIO(), io.StringIO()
    env = Env(stdout=out, stderr=err, stdin=stdin, environ={**os.environ, "STARCOACH_HOME": str(tmp_path / "d")})
    assert main(["analyse", "-", "--json"], env) == 1
    (obj,) = [json.loads(x) for x in out.getvalue().splitlines()]
    assert obj["error"] == {"kind": "too_large", "message": "standard input: transcript is larger than the limit "
                                                            "of 256 KiB (an answer is a few KiB)"}
    assert len(err.getvalue().strip().splitlines()) == 1


def _deep_toml(depth: int) -> str:
    return "x = " + "[" * depth + "]" * depth + "\n"


def test_deeply_nested_toml_is_one_line_everywhere(tmp_path, cli, monkeypatch):
    from starcoach.catalogue.banks import BankError, load_bank, load_company
    from starcoach.vault.format import VaultError
    from starcoach.vault.format import load as load_vault

    deep = tmp_path / "deep.toml"
    deep.write_text('id = "deep"\n' + _deep_toml(5000))
    for loader in (load_bank, load_company):
        with pytest.raises(BankError, match="nested too deeply"):
            loader(deep)
    with pytest.raises(VaultError, match="nested too deeply"):
        load_vault(deep)
    # As the data folder's vault.toml it used to break every analyse; now a warning and the answer is judged.
    data = tmp_path / "data"
    data.mkdir()
    (data / "vault.toml").write_text(_deep_toml(5000))
    answer = tmp_path / "a.txt"
    from answers import STRONG

    answer.write_text(STRONG)
    r = cli("analyse", str(answer), "--json", "--data-dir", str(data))
    assert r.code == 0, r
    assert "nested too deeply" in r.err and "Traceback" not in r.err
    # As a user's question bank: one line, exit 2.
    banks = tmp_path / "banks"
    (banks / "questions").mkdir(parents=True)
    (banks / "questions" / "deep.toml").write_text('id = "deep"\n' + _deep_toml(5000))
    monkeypatch.setenv("STARCOACH_BANKS", str(banks))
    r = cli("questions")
    assert r.code == 2 and "nested too deeply" in r.err and len(r.err.strip().splitlines()) == 1, r


def _bank(n: int, dup: bool = False) -> str:
    parts = ['id = "big"\nname = "Big"\n']
    for i in range(n):
        qid = "big-000000" if dup and i == n - 1 else f"big-{i:06d}"
        parts.append(f'[[questions]]\nid = "{qid}"\ntext = "Tell me about a time you handled situation {i} at '
                     'work and what you did about it."\ncompetencies = ["ownership", "teamwork"]\n')
    return "\n".join(parts)


def test_a_large_question_bank_loads_in_linear_time_and_a_huge_one_is_refused(tmp_path):
    from starcoach.catalogue import banks

    f = tmp_path / "b.toml"
    f.write_text(_bank(4000))  # took 36 s: the error-line lookup rescanned the file per question
    # CPU time, not wall time: on a machine busy with other work the wall clock says little.
    t0 = time.process_time()
    assert len(banks.load_bank(f).questions) == 4000
    took = time.process_time() - t0
    f.write_text(_bank(16000))
    t0 = time.process_time()
    assert len(banks.load_bank(f).questions) == 16000
    took4 = time.process_time() - t0
    print(f"\n4,000 questions: {took:.2f} s; 16,000: {took4:.2f} s")
    assert took < 2.0 and took4 < 8 * max(took, 0.05)  # linear, not quadratic (x16)
    huge = tmp_path / "huge.toml"
    with open(huge, "w") as fh:  # 19 MB, as the 100,000-question bank
        fh.write(_bank(100))
        fh.write("# " + "x" * 100 + "\n" * 1)
        fh.write(("# padding\n" * 2_000_000))
    t0 = time.process_time()
    with pytest.raises(banks.BankError, match=r"larger than 4 MiB, the limit") as e:
        banks.load_bank(huge)
    assert time.process_time() - t0 < 1.0 and "\n" not in str(e.value)


def test_duplicate_question_ids_in_one_file_are_refused(tmp_path):
    from starcoach.catalogue.banks import BankError, load_bank

    f = tmp_path / "b.toml"
    f.write_text(_bank(3, dup=True))
    with pytest.raises(BankError, match=r"b.toml:\d+: question #3: duplicate question id 'big-000000' "
                                        r"\(first used at line \d+\)"):
        load_bank(f)


def test_a_fifo_is_refused_at_once_with_or_without_a_writer(tmp_path, cli):

    for name in ("f.wav", "f.txt"):
        fifo = tmp_path / name
        os.mkfifo(fifo)
        t0 = time.perf_counter()
        r = cli("analyse", str(fifo), "--json")
        assert time.perf_counter() - t0 < 5
        assert r.code == 1, r
        assert "named pipe" in one_line_error(r)
    r = cli("practice", "--mic-file", str(tmp_path / "f.wav"), "--no-speak")
    assert r.code == 2 and "named pipe" in r.err


def test_messages_say_what_is_really_wrong(tmp_path, cli, monkeypatch):

    from answers import STRONG

    os.symlink(tmp_path / "loop.wav", tmp_path / "loop.wav")
    r = cli("analyse", str(tmp_path / "loop.wav"), "--json")
    assert r.code == 1 and "symbolic link loop" in one_line_error(r)
    os.symlink(tmp_path / "gone.txt", tmp_path / "dangling.txt")
    r = cli("analyse", str(tmp_path / "dangling.txt"), "--json")
    assert r.code == 1 and "broken symbolic link" in one_line_error(r)
    # A folder that cannot be read (root reads anything, so the refusal is simulated).
    locked = tmp_path / "locked"
    (locked / "inner").mkdir(parents=True)
    (locked / "inner" / "a.wav").write_bytes(b"RIFF")
    real_scandir = os.scandir

    def scandir(path="."):
        if Path(path) == locked / "inner":
            raise PermissionError(13, "Permission denied", str(path))
        return real_scandir(path)

    monkeypatch.setattr(os, "scandir", scandir)
    r = cli("analyse", str(locked), "--json")
    assert r.code == 1 and "permission denied" in one_line_error(r) and "has no audio files" not in r.err
    monkeypatch.setattr(os, "scandir", real_scandir)
    # Not UTF-8: said, not guessed.
    latin = tmp_path / "latin1.txt"
    latin.write_bytes(STRONG.replace("So", "Caf\xe9 so", 1).encode("latin-1"))
    r = cli("analyse", str(latin), "--json")
    assert r.code == 1 and "not UTF-8 text (byte 0xE9 on line 1)" in one_line_error(r)
    utf16 = tmp_path / "notepad.txt"
    utf16.write_bytes(STRONG.encode("utf-16"))  # with a BOM, as Windows Notepad saves "Unicode"
    assert cli("analyse", str(utf16), "--json").code == 0
    # Not English: said, not judged (and not "has no words").
    zh = tmp_path / "zh.txt"
    zh.write_text("去年我在一家共享单车公司担任分析师。每周的需求报告显示空站点，我比较了传感器日志和行程记录，并修复了问题。")
    r = cli("analyse", str(zh), "--json")
    assert r.code == 1 and "Chinese, Japanese or Korean" in r.err and "only English answers are judged" in r.err
    de = tmp_path / "de.txt"
    de.write_text("Letztes Jahr war ich Analyst bei einem Fahrradverleih. Der wöchentliche Bericht zeigte leere "
                  "Stationen, und ich habe die Sensordaten mit den Fahrten verglichen. Ich habe den Fehler behoben, "
                  "und die Fehlalarme sind um achtzig Prozent gesunken.")
    r = cli("analyse", str(de), "--json")
    assert r.code == 1 and "in German, not English; only English answers are judged" in one_line_error(r)
    import json

    assert json.loads(r.out)["error"]["kind"] == "not_english"


def test_a_file_named_like_an_option(tmp_path, cli, monkeypatch):
    from answers import STRONG

    monkeypatch.chdir(tmp_path)
    (tmp_path / "-dash.txt").write_text(STRONG)
    r = cli("analyse", "-dash.txt")
    assert r.code == 2
    assert r.err.strip() == ("starcoach: '-dash.txt' starts with '-', so it was read as an option; to give a file "
                             "of that name, write ./-dash.txt (or put -- before it)")
    assert cli("analyse", "./-dash.txt", "--json").code == 0


def test_a_full_disk_is_not_called_a_damaged_database(tmp_path):
    import sqlite3

    from starcoach.store.errors import damaged_database_error

    msg = str(damaged_database_error(tmp_path / "starcoach.db", sqlite3.OperationalError("database or disk is full")))
    assert "is full" in msg and "move it aside" not in msg
    msg = str(damaged_database_error(tmp_path / "starcoach.db",
                                     sqlite3.OperationalError("attempt to write a readonly database")))
    assert "read-only" in msg and "move it aside" not in msg


# --------------------------------------------------------------------------- storage failing mid-batch


def test_a_database_that_refuses_writes_mid_batch_is_said_and_exits_3(tmp_path, cli, monkeypatch):
    import json
    import sqlite3

    from answers import STRONG
    from starcoach.store.database import Store

    files = []
    for i in range(3):
        f = tmp_path / f"a{i}.txt"
        f.write_text(STRONG)
        files.append(str(f))
    real = Store.save_analysis
    calls = {"n": 0}

    def save_analysis(self, *a, **k):
        calls["n"] += 1
        if calls["n"] >= 2:  # what a read-only starcoach.db answers (chmod 444, as a normal user)
            raise sqlite3.OperationalError("attempt to write a readonly database")
        return real(self, *a, **k)

    monkeypatch.setattr(Store, "save_analysis", save_analysis)
    r = cli("analyse", *files, "--json")
    # Before: exit 0 and nothing said (batch._finish dropped the store on any exception).
    assert r.code == 3, r
    assert len([json.loads(x) for x in r.out.splitlines()]) == 3  # every result still printed
    (line,) = [ln for ln in r.err.splitlines() if "not stored" in ln]
    assert "results from here on are printed but not stored" in line and "read-only" in line
    assert "Traceback" not in r.err and "move it aside" not in r.err


def test_an_unusable_data_folder_is_said_and_exits_3(tmp_path, cli):
    from answers import STRONG

    f = tmp_path / "a.txt"
    f.write_text(STRONG)
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("x")
    r = cli("analyse", str(f), "--json", "--data-dir", str(blocker / "data"))
    assert r.code == 3 and "results will not be stored" in r.err, r
    # The data folder given is itself a file: said so, not "File exists".
    r = cli("analyse", str(f), "--json", "--data-dir", str(blocker))
    assert r.code == 3 and f"cannot use the data folder {blocker}: it is a file, not a folder" in r.err, r


def test_analyse_with_the_data_folder_on_a_full_disk(tmp_path, cli):
    from answers import STRONG

    disk = tmp_path / "small"
    disk.mkdir()
    if os.geteuid() != 0:
        pytest.skip("mounting a small tmpfs needs root")
    p = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", str(disk)], capture_output=True, text=True)
    if p.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here ({p.stderr.strip()})")
    try:
        f = tmp_path / "a.txt"
        f.write_text(STRONG)
        assert cli("analyse", str(f), "--json", "--data-dir", str(disk / "d")).code == 0
        with open(disk / "filler", "wb") as fh:  # fill what is left
            try:
                while True:
                    fh.write(b"\0" * 65536)
                    fh.flush()
            except OSError:
                pass
        r = cli("analyse", str(f), str(f), "--json", "--data-dir", str(disk / "d"))
        assert r.code == 3, r
        assert len(r.out.splitlines()) == 2  # still judged and printed
        flat = " ".join(r.err.split())
        assert f"the disk holding {disk / 'd'} is full" in flat, r.err
        assert "move it aside" not in flat and "Traceback" not in r.err
    finally:
        subprocess.run(["umount", "-l", str(disk)], capture_output=True)


def test_names_that_look_like_markup_are_printed_as_written(tmp_path, cli, monkeypatch):
    """Paths, messages and names went through rich markup: '[/bold].txt' was a MarkupError traceback, and a
    vault warning lost its '[[story]]'."""
    r = cli("analyse", str(tmp_path / "[/bold].txt"))
    assert r.code == 1 and "Traceback" not in r.err
    assert r.err.strip() == f"error: {tmp_path / '[/bold].txt'}: no such file"
    banks = tmp_path / "banks"
    (banks / "companies").mkdir(parents=True)
    (banks / "companies" / "brackets.toml").write_text(
        'id = "brackets"\nname = "[/red] Brackets [link=file:///etc]Ltd[/link]"\nsummary = "x"\n'
        '[[values]]\nid = "own"\nname = "Own it"\nmeaning = "You act as an owner."\ncues = ["owner"]\n')
    monkeypatch.setenv("STARCOACH_BANKS", str(banks))
    r = cli("companies")
    assert r.code == 0 and "[/red] Brackets" in r.out, r  # in a table cell, wrapped
    r = cli("companies", "brackets")
    assert r.code == 0 and r.out.startswith("[/red] Brackets [link=file:///etc]Ltd[/link] (brackets, "), r
    data = tmp_path / "other-data"
    data.mkdir()
    (data / "vault.toml").write_text('title = "not a story"\n')
    answer = tmp_path / "a.txt"
    from answers import STRONG

    answer.write_text(STRONG)
    r = cli("analyse", str(answer), "--json", "--data-dir", str(data))
    assert r.code == 0 and "a vault holds only [[story]] tables" in r.err, r.err
