"""The Ray engine (``analyse --engine ray``) on one local Ray instance (2 CPUs) that the tests share.

Ray takes seconds to start, so the module starts it once
(``ray_engine.local_instance``, as the command does) and every test's
batch finds it running.  The transcriber is the scripted one
(tests/fakes.py), made inside the Ray actors as the model would be; the
real model through Ray is audited in tests/test_privacy.py.
"""

from __future__ import annotations

import importlib.util
import json
import os
import signal
import sqlite3
import threading
import time
from pathlib import Path

import pytest

# Not imported here: the engine sets Ray's start-up variables before it imports Ray.
pytestmark = pytest.mark.skipif(importlib.util.find_spec("ray") is None,
                                reason="ray is not installed (pip install 'starcoach[ray]')")

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def ray_instance():
    """A local instance whose workers import this starcoach and tests/fakes.py (they inherit PYTHONPATH)."""
    import starcoach
    from starcoach.pipeline.ray_engine import local_instance

    paths = [str(Path(starcoach.__file__).resolve().parents[1]), str(ROOT / "tests")]
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("PYTHONPATH", os.pathsep.join([*paths, os.environ.get("PYTHONPATH", "")]).rstrip(os.pathsep))
        with local_instance(2):
            yield


@pytest.fixture
def model(monkeypatch):
    """``analyse`` gets ``box["factory"]`` (a scripted transcriber) instead of Whisper."""
    from fakes import FakeTranscriberFactory
    from starcoach.pipeline.batch import WhisperFactory
    from test_batch import OWN

    box = {"factory": FakeTranscriberFactory(OWN)}
    monkeypatch.setattr(WhisperFactory, "resolve", classmethod(lambda cls, model: box["factory"]))
    return box


def tones(folder: Path, n: int, *, poison: bool = False) -> Path:
    """``n`` answers of different content (so the cache cannot serve one for another), and a bad file."""
    from fakes import spoken, write_wav
    from test_batch import OWN

    folder.mkdir(parents=True)
    for i in range(n):
        write_wav(folder / f"a{i}.wav", spoken(OWN, lead_s=0.5 + 0.1 * i))
    if poison:
        write_wav(folder / "poison.wav", spoken(OWN, lead_s=0.45))
    (folder / "broken.mp3").write_text("not audio")
    return folder


def transcribed(log_dir: Path) -> list[str]:
    """Every file the workers started to transcribe (tests/fakes.FakeTranscriberFactory.log_dir)."""
    return [Path(line).name for f in sorted(log_dir.glob("transcribed-*")) for line in f.read_text().splitlines()]


def test_ray_gives_the_local_engines_output(ray_instance, tmp_path, cli, model, monkeypatch):
    """The batch tests' folder (sidecar questions, a nested file, a broken one) through both engines:
    the same JSON Lines, CSV, exit status and summary; only the speed line differs."""
    from test_batch import tone_folder

    folder = tone_folder(tmp_path / "tones")
    runs = {}
    for engine in ("local", "ray"):
        monkeypatch.setenv("STARCOACH_HOME", str(tmp_path / f"data-{engine}"))  # nothing cached
        out_csv = tmp_path / f"{engine}.csv"
        runs[engine] = (cli("analyse", str(folder), "--json", "--csv", str(out_csv), "--workers", "2",
                            "--engine", engine), out_csv.read_text())
    (local, local_csv), (ray, ray_csv) = runs["local"], runs["ray"]
    assert local.code == ray.code == 1, (local, ray)  # broken.mp3
    assert "2 worker(s)" in local.err and "Ray actors" in ray.err
    assert [json.loads(x) for x in ray.out.splitlines()] == [json.loads(x) for x in local.out.splitlines()]
    objs = [json.loads(x) for x in ray.out.splitlines()]
    assert [Path(o["input"]).name for o in objs] == ["broken.mp3", "conflict.wav", "ownership.wav"]
    assert objs[2]["company"] == "amazon" and objs[1]["question"].startswith("Describe a time")
    assert objs[0]["error"]["kind"] == "not_audio" and objs[1]["error"] is None
    assert ray_csv == local_csv

    def summary(err: str) -> list[str]:
        # Trailing spaces stripped: the table is as wide as its widest row, and the speed row's
        # figures (the time taken) are as long as the run makes them.
        return [line.rstrip() for line in err.splitlines()
                if line.strip() and "Speed" not in line and "Transcribing" not in line]

    assert summary(ray.err) == summary(local.err)


def test_a_killed_ray_worker_costs_only_its_file(ray_instance, tmp_path, cli, model):
    """SIGKILL to an actor's process mid-file: that file is done again elsewhere and succeeds; a file that
    kills every worker that takes it is tried twice and becomes an error object; every file gets a line."""
    from fakes import FakeTranscriberFactory
    from test_batch import OWN

    folder = tones(tmp_path / "many", 4, poison=True)
    made, log = tmp_path / "made", tmp_path / "log"
    made.mkdir()
    log.mkdir()
    model["factory"] = FakeTranscriberFactory(OWN, delay_s=0.8, made_dir=str(made), log_dir=str(log),
                                              kill_on="poison.wav")
    killed: dict = {}

    def kill_one_mid_file() -> None:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not killed:
            for f in log.glob("transcribed-*"):
                lines = f.read_text().splitlines()
                if lines and Path(lines[-1]).name.startswith("a"):  # an ordinary file, 0.8 s long: mid-file
                    time.sleep(0.2)
                    killed.update(pid=int(f.name.split("-")[1]), file=Path(lines[-1]).name)
                    os.kill(killed["pid"], signal.SIGKILL)
                    return
            time.sleep(0.05)

    threading.Thread(target=kill_one_mid_file, daemon=True).start()
    r = cli("analyse", str(folder), "--json", "--engine", "ray")
    assert killed, "no worker was killed"
    assert r.code == 1, r  # poison.wav and broken.mp3 failed; the batch went on
    objs = {Path(o["input"]).name: o for o in map(json.loads, r.out.splitlines())}
    assert sorted(objs) == ["a0.wav", "a1.wav", "a2.wav", "a3.wav", "broken.mp3", "poison.wav"]
    assert objs[killed["file"]]["error"] is None  # retried on another worker
    assert all(objs[f"a{i}.wav"]["error"] is None for i in range(4))
    assert "died, twice" in objs["poison.wav"]["error"]["message"]
    seen = transcribed(log)
    assert seen.count("poison.wav") == 2 and seen.count(killed["file"]) == 2
    assert sum(seen.count(f"a{i}.wav") for i in range(4)) == 5  # only the killed file twice


def test_ctrl_c_stops_a_ray_batch_and_the_rerun_transcribes_nothing_again(ray_instance, tmp_path, cli, model):
    """A real SIGINT once a file is stored: exit 130 within seconds; the rerun transcribes only the files
    that were not finished, and reuses every stored transcript."""
    from fakes import FakeTranscriberFactory
    from test_batch import OWN

    folder = tones(tmp_path / "many", 5)
    log1, log2 = tmp_path / "log1", tmp_path / "log2"
    log1.mkdir()
    log2.mkdir()
    model["factory"] = FakeTranscriberFactory(OWN, delay_s=1.0, log_dir=str(log1))
    box: dict = {}

    def interrupt_after_a_result() -> None:
        deadline = time.monotonic() + 60
        while len(transcribed(log1)) < 3 and time.monotonic() < deadline:  # a third start: one result delivered
            time.sleep(0.05)
        box["t0"] = time.monotonic()
        os.kill(os.getpid(), signal.SIGINT)

    threading.Thread(target=interrupt_after_a_result, daemon=True).start()
    r = cli("analyse", str(folder), "--json", "--engine", "ray")
    took = time.monotonic() - box["t0"]
    assert r.code == 130, r
    assert took < 5.0, took
    assert "Traceback" not in r.err
    home = Path(os.environ["STARCOACH_HOME"])
    db = sqlite3.connect(home / "starcoach.db")
    try:
        stored = {Path(s).name for (s,) in db.execute("SELECT source FROM answers WHERE transcript IS NOT NULL")}
    finally:
        db.close()
    assert stored and len(stored) < 5

    model["factory"] = FakeTranscriberFactory(OWN, log_dir=str(log2))
    r = cli("analyse", str(folder), "--json", "--engine", "ray")
    assert r.code == 1, r  # broken.mp3
    assert len(r.out.splitlines()) == 6
    again = set(transcribed(log2))
    assert not again & stored, again & stored  # no finished file transcribed a second time
    assert again == {f"a{i}.wav" for i in range(5)} - stored | {"broken.mp3"}
    assert f"{len(stored)} transcripts reused" in r.err
