"""Batch analysis: a folder through the real command and model once; the rest in-process with fakes.

The first test runs ``starcoach analyse FOLDER`` as a user does, on real
espeak-ng speech and the real model (JSON Lines, CSV, the transcript cache);
that run, through two worker processes, is also the privacy audit of a folder
(tests/audit.py: no INET socket, nothing written outside the data folder, the
temp folder and the CSV asked for).
The others give :class:`~starcoach.pipeline.batch.Batch` a scripted
transcriber (tests/fakes.py) and check planning, manifests, the cache,
resuming after Ctrl-C and stopping the worker processes, in seconds.
"""

from __future__ import annotations

import csv
import io
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from fakes import FakeTranscriberFactory

ANSWERS = {
    "ownership": (
        "Tell me about a time you took ownership of a problem.",
        "So you want to hear about a time I owned a problem end to end. Last year I was an analyst at a "
        "bike sharing company. The weekly demand report kept showing empty stations that riders never "
        "complained about. My job was to find out whether the report or the stations were wrong. I compared "
        "the dock sensor logs with the trip records and I found that two hundred docks reported empty "
        "after every firmware update. I wrote a correction into the pipeline and I showed the operations "
        "lead the before and after. The false alerts fell by eighty percent within a month. I like to own "
        "a number until I trust it, and that is how I would work on your team.",
    ),
    "conflict": (
        "Describe a time you disagreed with a teammate.",
        "A time I disagreed with someone I worked with, sure. At my last job a colleague wanted to launch "
        "a churn model that had only been tested on one region. I needed to make sure we did not roll out "
        "something that would fail elsewhere. I sat down with her, I showed her the error by region, and "
        "we agreed to run a two week pilot in three regions first. The pilot caught a bias in the smallest "
        "region, and we fixed it before launch.",
    ),
}


def espeak(text: str, path: Path, rate_wpm: int = 140) -> None:
    wav = path.with_suffix(".espeak.wav")
    subprocess.run(["espeak-ng", "-s", str(rate_wpm), "-w", str(wav), text], check=True, capture_output=True)
    subprocess.run(["sox", str(wav), "-r", "16000", "-c", "1", str(path)], check=True, capture_output=True)
    wav.unlink()


@pytest.fixture(scope="module")
def answers_dir(tmp_path_factory) -> Path:
    if not shutil.which("espeak-ng") or not shutil.which("sox"):
        pytest.fail("espeak-ng and sox are needed (./test.sh installs them)")
    d = tmp_path_factory.mktemp("answers")
    (d / "nested").mkdir()
    espeak(ANSWERS["ownership"][1], d / "ownership.wav")
    (d / "ownership.json").write_text(json.dumps({"question": ANSWERS["ownership"][0], "company": "amazon"}))
    espeak(ANSWERS["conflict"][1], d / "nested" / "conflict.flac")
    (d / "nested" / "conflict.txt").write_text(ANSWERS["conflict"][0] + "\n")
    (d / "broken.mp3").write_text("this is not audio at all")
    return d


def run(*args: str, home: Path, timeout: float = 300) -> subprocess.CompletedProcess:
    exe = os.path.join(os.path.dirname(sys.executable), "starcoach")
    env = {**os.environ, "STARCOACH_HOME": str(home)}
    return subprocess.run([exe, *args], capture_output=True, text=True, timeout=timeout, env=env)


@pytest.mark.audio
def test_folder_batch_json_csv_and_cache(answers_dir, tmp_path):
    """Two worker processes (``--workers 2``: the pool, whatever the number of cores), under the
    syscall audit where strace can trace (tests/test_privacy.py audits the other commands)."""
    from audit import SKIP_REASON, audit

    home = tmp_path / "data"
    out_csv = tmp_path / "out.csv"
    args = ["analyse", str(answers_dir), "--json", "--csv", str(out_csv), "--workers", "2"]
    t0 = time.perf_counter()
    if SKIP_REASON:
        print(f"\nnot audited: {SKIP_REASON}")
        p = run(*args, home=home)
    else:
        p = audit(args, tmp_path, home, outputs=(out_csv,))
    first_s = time.perf_counter() - t0
    assert p.returncode == 1, p.stderr  # the broken file fails, the others are analysed
    objs = [json.loads(line) for line in p.stdout.splitlines()]
    by_name = {Path(o["input"]).name: o for o in objs}
    # Every audio file below the folder, in a stable (sorted) order, nothing else on stdout.
    assert [Path(o["input"]).name for o in objs] == ["broken.mp3", "conflict.flac", "ownership.wav"]
    own = by_name["ownership.wav"]
    assert own["question"] == ANSWERS["ownership"][0] and own["company"] == "amazon"
    assert own["error"] is None and own["delivery"]["wpm"] > 100
    # tiny.en mishears some of espeak's words; the story's shape still comes through.
    assert own["structure"]["action"]["present"]
    assert sum(v["present"] for v in own["structure"].values()) >= 4
    conf = by_name["conflict.flac"]
    assert conf["question"] == ANSWERS["conflict"][0] and conf["company"] is None
    assert conf["sentences"][0]["start_s"] is not None
    bad = by_name["broken.mp3"]
    assert bad["error"]["kind"] == "not_audio" and bad["score"] is None and bad["structure"] == {}
    assert "Batch summary" in p.stderr and "Weakest parts" in p.stderr and "2 worker(s)" in p.stderr
    rows = list(csv.DictReader(out_csv.open()))
    assert len(rows) == 3 and {r["input"] for r in rows} == {o["input"] for o in objs}
    assert [r for r in rows if r["input"].endswith("broken.mp3")][0]["error"]

    # A second run with the same content and settings reuses the stored transcripts.
    t0 = time.perf_counter()
    p2 = run("analyse", str(answers_dir), "--json", home=home)
    second_s = time.perf_counter() - t0
    assert p2.returncode == 1
    assert "2 transcripts reused" in p2.stderr
    assert second_s < first_s
    objs2 = [json.loads(line) for line in p2.stdout.splitlines()]
    assert [o["transcript"] for o in objs2] == [o["transcript"] for o in objs]
    # Results are stored: the data folder holds them, private.
    assert (home / "starcoach.db").exists()
    assert oct((home / "starcoach.db").stat().st_mode & 0o777) == oct(0o600)


# --------------------------------------------------------------------------- in-process, with a scripted transcriber

OWN = ANSWERS["ownership"][1]


@pytest.fixture
def tone_dir(tmp_path) -> Path:
    return tone_folder(tmp_path / "tones")


def tone_folder(d: Path) -> Path:
    """Tone recordings of the ownership answer (tests/fakes.spoken), sidecars as in ``answers_dir``, a bad file."""
    from fakes import spoken, write_wav

    (d / "nested").mkdir(parents=True)
    write_wav(d / "ownership.wav", spoken(OWN))
    (d / "ownership.json").write_text(json.dumps({"question": ANSWERS["ownership"][0], "company": "amazon"}))
    write_wav(d / "nested" / "conflict.wav", spoken(OWN, lead_s=0.7))
    (d / "nested" / "conflict.txt").write_text(ANSWERS["conflict"][0] + "\n")
    (d / "broken.mp3").write_text("this is not audio at all")
    return d


@pytest.fixture
def fake_model(monkeypatch):
    """``analyse`` gets the scripted transcriber instead of Whisper; returns the factory it gets."""
    from fakes import FakeTranscriberFactory
    from starcoach.pipeline.batch import WhisperFactory

    box = {"factory": FakeTranscriberFactory(OWN)}
    monkeypatch.setattr(WhisperFactory, "resolve", classmethod(lambda cls, model: box["factory"]))
    return box


def test_plan_takes_questions_from_manifest_then_sidecars_then_the_flag(tone_dir, tmp_path):
    from starcoach.pipeline.plan import plan, read_manifest
    from starcoach.pipeline.process import expand_inputs

    manifest = tmp_path / "manifest.csv"
    manifest.write_text("file,question,company\n"
                        f"{tone_dir / 'ownership.wav'},Tell me about a time you fixed something,doordash\n")
    text = tmp_path / "a.txt"
    text.write_text("I fixed it.")
    items = list(expand_inputs([str(tone_dir), str(text), "-"]))
    jobs = plan(items, question="Q for all", company_id=None, manifest=read_manifest(manifest))
    got = {Path(j.input).name: (j.question, j.company_id, j.audio) for j in jobs}
    assert [Path(j.input).name for j in jobs] == ["broken.mp3", "conflict.wav", "ownership.wav", "a.txt", "-"]
    assert [j.index for j in jobs] == [0, 1, 2, 3, 4]
    assert got["ownership.wav"] == ("Tell me about a time you fixed something", "doordash", True)  # manifest
    assert got["conflict.wav"] == (ANSWERS["conflict"][0], None, True)  # NAME.txt beside it
    assert got["broken.mp3"] == ("Q for all", None, True)
    assert got["a.txt"] == ("Q for all", None, False) and got["-"] == ("Q for all", None, False)
    no_manifest = plan(items, question=None, company_id=None)
    assert {Path(j.input).name: (j.question, j.company_id) for j in no_manifest}["ownership.wav"] == (
        ANSWERS["ownership"][0], "amazon")  # NAME.json beside it


def test_a_transcript_kept_beside_a_recording_is_not_taken_for_its_question(tmp_path):
    # A common layout: a.wav and its transcript a.txt.  Taken as the question, the whole answer
    # became the question (the score fell from 88 to 76, and the CSV held the transcript).
    from starcoach.pipeline.plan import SIDECAR_QUESTION_WORDS, sidecar

    audio = tmp_path / "a.wav"
    audio.write_bytes(b"")
    story = "Last year I ran the billing checks at a shop, and one invoice in twenty failed. " * 6
    (tmp_path / "a.txt").write_text(story)
    assert len(story.split()) > SIDECAR_QUESTION_WORDS and sidecar(audio) == {}
    (tmp_path / "a.txt").write_text("Tell me about a time you fixed a problem\nnobody owned.\n")
    assert sidecar(audio) == {"question": "Tell me about a time you fixed a problem nobody owned."}


def test_manifest_gives_questions_through_the_command(tone_dir, tmp_path, cli, fake_model):
    manifest = tmp_path / "manifest.csv"
    manifest.write_text("file,question,company\n"
                        f"{tone_dir / 'ownership.wav'},Tell me about a time you fixed something,doordash\n")
    r = cli("analyse", str(tone_dir / "ownership.wav"), "--manifest", str(manifest), "--json")
    assert r.code == 0, r
    (o,) = [json.loads(x) for x in r.out.splitlines()]
    assert o["question"] == "Tell me about a time you fixed something" and o["company"] == "doordash"
    assert o["transcript"] == " ".join(OWN.split())
    bad = tmp_path / "bad.csv"
    bad.write_text("name,q\nx,y\n")
    r = cli("analyse", str(tone_dir / "ownership.wav"), "--manifest", str(bad))
    assert r.code == 2 and "needs a 'file' column" in r.err


def test_a_folder_in_process_json_csv_order_and_failures(tone_dir, tmp_path, cli, fake_model):
    out_csv = tmp_path / "out.csv"
    r = cli("analyse", str(tone_dir), "--json", "--csv", str(out_csv))
    assert r.code == 1, r  # the broken file fails, the others are analysed
    objs = [json.loads(line) for line in r.out.splitlines()]
    assert [Path(o["input"]).name for o in objs] == ["broken.mp3", "conflict.wav", "ownership.wav"]
    by_name = {Path(o["input"]).name: o for o in objs}
    own = by_name["ownership.wav"]
    assert own["question"] == ANSWERS["ownership"][0] and own["company"] == "amazon" and own["error"] is None
    assert own["delivery"]["wpm"] > 100 and own["structure"]["action"]["present"]
    assert own["sentences"][0]["start_s"] == pytest.approx(0.5)  # the word timings came through
    assert by_name["conflict.wav"]["sentences"][0]["start_s"] == pytest.approx(0.7)
    bad = by_name["broken.mp3"]
    assert bad["error"]["kind"] == "not_audio" and bad["score"] is None and bad["structure"] == {}
    assert "Batch summary" in r.err and "Weakest parts" in r.err and "1 failed" in r.err
    rows = list(csv.DictReader(out_csv.open()))
    assert [r["input"] for r in rows] == [o["input"] for o in objs]
    assert [r for r in rows if r["input"].endswith("broken.mp3")][0]["error"]


def test_the_transcript_cache_reuses_what_the_same_settings_made(tone_dir, tmp_path):
    from fakes import FakeTranscriberFactory
    from starcoach.catalogue.banks import load_catalogue
    from starcoach.pipeline.batch import Batch
    from starcoach.pipeline.plan import plan
    from starcoach.store.database import Store

    made: list = []

    class Counting(FakeTranscriberFactory):
        def __call__(self, cpu_threads=None):
            tx = super().__call__(cpu_threads)
            made.append(tx)
            return tx

    store = Store.open(tmp_path / "data")
    plain = tmp_path / "plain"  # no sidecars: the question given is the question used
    plain.mkdir()
    for f in (tone_dir / "ownership.wav", tone_dir / "nested" / "conflict.wav"):
        shutil.copy(f, plain / f.name)
    items = [str(plain / "ownership.wav"), str(plain / "conflict.wav")]

    def run(question, key="fake-1"):
        jobs = plan(items, question=question, company_id=None)
        return Batch(jobs, load_catalogue(), transcribers=Counting(OWN, key=key), store=store, workers=1).run()

    first = run("Q1")
    assert (first.cached, first.transcribed) == (0, 2) and len(made[-1].files) == 2
    again = run("Q2")  # only the question changed: re-analysed, not re-transcribed
    assert (again.cached, again.transcribed) == (2, 0)
    assert [a.question for a in again.analyses] == ["Q2", "Q2"]
    assert [a.transcript for a in again.analyses] == [a.transcript for a in first.analyses]
    other = run("Q2", key="fake-2")  # other transcription settings: made again
    assert (other.cached, other.transcribed) == (0, 2)
    store.close()
    # The summary's speed is of what was transcribed in the run, never of transcripts read back.
    from rich.console import Console

    from starcoach.views.batch import summary_view

    def speed(result) -> str:
        c = Console(file=io.StringIO(), width=200, color_system=None)
        c.print(summary_view(result))
        return next(line for line in c.file.getvalue().splitlines() if "Speed" in line)

    assert first.transcribed_s == pytest.approx(sum(a.duration_s for a in first.analyses)) and first.transcribed_s > 0
    assert "min of audio transcribed in" in speed(first) and "reused" not in speed(first)
    assert again.transcribed_s == 0 and "nothing transcribed: every transcript reused" in speed(again)


def test_an_interrupted_batch_stops_with_130_and_the_rerun_resumes(tone_dir, tmp_path, cli, fake_model):
    """Ctrl-C (a real SIGINT) while the second of four files is transcribed: exit 130, the session is
    'interrupted' (before: stored as 'complete'), and the re-run only transcribes what was left."""
    import sqlite3

    from fakes import FakeTranscriberFactory, spoken, write_wav

    many = tmp_path / "many"
    many.mkdir()
    for i in range(4):  # different content per file, so the cache cannot serve one for another
        write_wav(many / f"a{i}.wav", spoken(OWN, lead_s=0.5 + 0.1 * i))
    seen: list = []

    class Interrupting(FakeTranscriberFactory):
        def __call__(self, cpu_threads=None):
            tx = super().__call__(cpu_threads)

            def hook(path):
                seen.append(path.name)
                if len(seen) == 2:
                    os.kill(os.getpid(), signal.SIGINT)  # what the terminal's ^C does
                    time.sleep(1)  # the signal is handled here
                return None

            tx.fail_on = hook
            return tx

    fake_model["factory"] = Interrupting(OWN)
    r = cli("analyse", str(many), "--json", "--workers", "1")
    assert r.code == 130, r
    assert "Traceback" not in r.err and "interrupted" in r.err
    (first,) = r.out.splitlines()  # the first result was printed before the interrupt
    assert json.loads(first)["error"] is None
    home = Path(os.environ["STARCOACH_HOME"])
    db = sqlite3.connect(home / "starcoach.db")
    try:
        assert db.execute("SELECT status FROM sessions").fetchall() == [("interrupted",)]
    finally:
        db.close()
    fake_model["factory"] = FakeTranscriberFactory(OWN)
    r = cli("analyse", str(many), "--json")
    assert r.code == 0, r
    assert len(r.out.splitlines()) == 4
    assert "1 transcripts reused" in r.err  # the one finished before Ctrl-C


def test_ctrl_c_stops_the_worker_processes_at_once(tone_dir, tmp_path, fake_model, capfd):
    """Ctrl-C while two worker processes are mid-file: they ignore SIGINT (the parent handles it), so the
    pool would wait for their files to finish (30-38 s measured on long recordings); they are stopped."""
    import threading

    from fakes import FakeTranscriberFactory
    from starcoach.catalogue.banks import load_catalogue
    from starcoach.pipeline.batch import Batch
    from starcoach.pipeline.plan import plan

    made = tmp_path / "made"
    made.mkdir()
    items = [str(tone_dir / "ownership.wav"), str(tone_dir / "nested" / "conflict.wav")]
    factory = FakeTranscriberFactory(OWN, delay_s=60, made_dir=str(made))
    batch = Batch(plan(items, question=None, company_id=None), load_catalogue(), transcribers=factory, workers=2)
    assert batch.workers == 2
    pids: list[int] = []

    def interrupt_once_both_work() -> None:
        deadline = time.monotonic() + 60
        while len(list(made.iterdir())) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        pids.extend(int(p.name.split("-")[1]) for p in made.iterdir())
        time.sleep(0.3)  # both are inside their 60 s file now
        box["t0"] = time.monotonic()
        for pid in [*pids, os.getpid()]:  # as the terminal's ^C does: the whole process group
            os.kill(pid, signal.SIGINT)

    box: dict = {}
    threading.Thread(target=interrupt_once_both_work, daemon=True).start()
    with pytest.raises(KeyboardInterrupt):
        batch.run()
    took = time.monotonic() - box["t0"]
    print(f"\nstopped {took:.2f} s after Ctrl-C")
    assert took < 3.0
    assert len(set(pids)) == 2 and os.getpid() not in pids  # two processes, not threads here
    for pid in pids:  # no worker is left running
        deadline = time.monotonic() + 5
        while _alive(pid) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not _alive(pid), pid
    assert "Traceback" not in capfd.readouterr().err  # the workers ignored SIGINT: the parent handled it


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    with open(f"/proc/{pid}/stat") as fh:  # a zombie has ended; only its parent's wait is missing
        return fh.read().split(")")[-1].split()[0] != "Z"


@dataclass(frozen=True)
class _SignalsSeen(FakeTranscriberFactory):
    """Writes down, in the worker, which signals it blocks and what it does with SIGINT."""

    def __call__(self, cpu_threads=None):
        blocked = signal.pthread_sigmask(signal.SIG_BLOCK, [])
        Path(self.made_dir, f"signals-{os.getpid()}").write_text(json.dumps(
            {"blocked": sorted(int(s) for s in blocked), "sigint_ignored": signal.getsignal(signal.SIGINT)
             == signal.SIG_IGN}))
        return super().__call__(cpu_threads)


def test_workers_start_with_ctrl_c_and_sigterm_held_back(tone_dir, tmp_path, monkeypatch):
    """SIGTERM to the parent while it was handing a starting worker its start-up data made that worker print
    "EOFError: Ran out of input" (the fault matrix, 1 run in 2): both signals are blocked while workers start,
    and a worker unblocks them once it ignores SIGINT."""
    from concurrent.futures import process

    from starcoach.catalogue.banks import load_catalogue
    from starcoach.pipeline.batch import Batch
    from starcoach.pipeline.plan import plan

    at_spawn: list = []
    real = process.ProcessPoolExecutor._spawn_process

    def spawn(self):
        at_spawn.append(signal.pthread_sigmask(signal.SIG_BLOCK, []))
        return real(self)

    monkeypatch.setattr(process.ProcessPoolExecutor, "_spawn_process", spawn)
    made = tmp_path / "made"
    made.mkdir()
    items = [str(tone_dir / "ownership.wav"), str(tone_dir / "nested" / "conflict.wav")]
    batch = Batch(plan(items, question=None, company_id=None), load_catalogue(),
                  transcribers=_SignalsSeen(OWN, made_dir=str(made)), workers=2)
    before = signal.pthread_sigmask(signal.SIG_BLOCK, [])
    batch.run()
    assert len(at_spawn) == 2 and all({signal.SIGINT, signal.SIGTERM} <= mask for mask in at_spawn), at_spawn
    assert signal.pthread_sigmask(signal.SIG_BLOCK, []) == before  # the parent's mask is as it was
    seen = [json.loads(p.read_text()) for p in made.glob("signals-*")]
    assert len(seen) == 2
    for s in seen:
        assert s["sigint_ignored"] and signal.SIGTERM not in s["blocked"] and signal.SIGINT not in s["blocked"]


def test_engine_ray_without_ray_says_how_to_install_it(tone_dir, cli, fake_model, monkeypatch):
    """Ray is an optional extra: without it, one line naming the install, exit 2, before any work."""
    monkeypatch.setitem(sys.modules, "ray", None)  # as if not installed: find_spec and import both fail
    r = cli("analyse", str(tone_dir), "--json", "--engine", "ray")
    assert r.code == 2, r
    assert r.err.strip().splitlines() == ["starcoach: --engine ray needs Ray, an optional extra: "
                                          "pip install 'starcoach[ray]'"]
    assert r.out == ""
    r = cli("analyse", str(tone_dir), "--ray-address", "auto")
    assert r.code == 2 and "--ray-address goes with --engine ray" in r.err


def test_a_run_in_which_nothing_was_analysed_stores_no_session(tmp_path, cli):
    # A typo'd file name used to leave an "analysis, 0 of 1" session in `sessions` and `progress`.
    import sqlite3

    home = Path(os.environ["STARCOACH_HOME"])
    r = cli("analyse", str(tmp_path / "nosuch.wav"), "--json")
    assert r.code != 0 and json.loads(r.out.splitlines()[0])["error"]
    assert not (home / "starcoach.db").exists() or sqlite3.connect(home / "starcoach.db").execute(
        "SELECT COUNT(*) FROM sessions").fetchone() == (0,)
    # A failure before the first analysed answer is still stored with the session, in its place.
    good = tmp_path / "good.txt"
    good.write_text("Last year I was the analyst on the billing team. My job was to find out why invoices "
                    "failed. I read a week of logs and rewrote the export. Failures fell by ninety percent.")
    r = cli("analyse", str(tmp_path / "nosuch.wav"), str(good), "--json")
    db = sqlite3.connect(home / "starcoach.db")
    try:
        assert db.execute("SELECT COUNT(*) FROM sessions").fetchone() == (1,)
        assert db.execute("SELECT COUNT(*) FROM answers").fetchone() == (2,)
    finally:
        db.close()


def test_the_transcribing_line_comes_only_when_a_file_is_transcribed(tone_dir, tmp_path, cli, fake_model):
    # Before: "Transcribing with 1 worker(s)…" was printed ahead of "error: nosuch.wav: no such file",
    # and again on a re-run in which every transcript came from the cache.
    r = cli("analyse", str(tmp_path / "nosuch.wav"))
    assert r.code == 1 and "Transcribing" not in r.err, r
    assert "nosuch.wav: no such file" in r.err
    wav = str(tone_dir / "ownership.wav")
    r = cli("analyse", str(tmp_path / "nosuch.wav"), wav)
    assert r.code == 1 and r.err.count("Transcribing with 1 worker(s)") == 1, r
    r = cli("analyse", wav)  # the same file again: its transcript is reused, nothing is transcribed
    assert r.code == 0 and "Transcribing" not in r.err, r
