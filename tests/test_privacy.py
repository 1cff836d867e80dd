"""Nothing leaves the machine: the real command under the syscall audit of tests/audit.py.

Audited here: ``analyse`` of one file (transcribed in the command's own process), ``analyse`` of a
folder on a local Ray instance, and ``practice --mic-file``.  A folder through the local engine's
worker processes is audited in its one real run, tests/test_batch.py::test_folder_batch_json_csv_and_cache
(the batch's JSON Lines, CSV and cache are checked on that same run).  The audit fails on any INET
socket and on any file written outside the data folder and the temp folder (see tests/audit.py).
Before onnxruntime's telemetry was switched off (``starcoach/__init__.py``), every one of these runs
looked up ``mobile.events.data.microsoft.com`` and wrote ``~/.cache/Microsoft/...``.
"""

from __future__ import annotations

import importlib.util
import json
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

from audit import audit, needs_strace

pytestmark = [pytest.mark.audio, pytest.mark.realtime]


def _speech(path: Path, text: str) -> Path:
    raw = path.with_suffix(".espeak.wav")
    subprocess.run(["espeak-ng", "-s", "170", "-w", str(raw), text], check=True, capture_output=True)
    subprocess.run(["sox", str(raw), "-r", "16000", "-c", "1", str(path)], check=True, capture_output=True)
    raw.unlink()
    return path


@pytest.fixture(scope="module")
def answers(tmp_path_factory) -> Path:
    if not shutil.which("espeak-ng") or not shutil.which("sox"):
        pytest.skip("needs espeak-ng and sox")
    d = tmp_path_factory.mktemp("answers")
    _speech(d / "one.wav", "So you want to hear about a time I owned a problem. I rebuilt the report, "
                           "and the errors fell by half.")
    _speech(d / "two.wav", "I disagreed with a colleague about a launch, so we ran a pilot first.")
    return d


@needs_strace
def test_analyse_one_file_stays_on_the_machine(answers, tmp_path):
    p = audit(["analyse", str(answers / "one.wav"), "--json"], tmp_path, tmp_path / "data")
    assert p.returncode == 0, p.stderr
    (obj,) = [json.loads(line) for line in p.stdout.splitlines()]
    assert obj["error"] is None and obj["delivery"]["wpm"] > 100


@needs_strace
def test_analyse_on_a_local_ray_instance_stays_on_the_machine(answers, tmp_path):
    """``--engine ray`` with the real model: Ray's processes use loopback only (no usage report, no cloud
    metadata probe, no DNS), write nothing to HOME (no ~/.ray) and leave the temp folder empty."""
    if importlib.util.find_spec("ray") is None:
        pytest.skip("ray is not installed (pip install 'starcoach[ray]')")
    folder = tmp_path / "folder"
    folder.mkdir()
    for name in ("one.wav", "two.wav"):
        shutil.copy(answers / name, folder / name)
    # A short TMPDIR: Ray's Unix sockets live in its session folder, whose path must fit 107 bytes.
    with tempfile.TemporaryDirectory(prefix="sc-", dir="/tmp") as short:
        p = audit(["analyse", str(folder), "--json", "--engine", "ray"], tmp_path, tmp_path / "data",
                  loopback=True, tmp=Path(short))
    assert p.returncode == 0, p.stderr
    objs = [json.loads(line) for line in p.stdout.splitlines()]  # Ray printed nothing on standard output
    assert [Path(o["input"]).name for o in objs] == ["one.wav", "two.wav"]
    assert all(o["error"] is None and o["delivery"]["wpm"] > 100 for o in objs)


@needs_strace
def test_practice_with_a_mic_file_stays_on_the_machine(answers, tmp_path):
    p = audit(["practice", "--mic-file", str(answers / "two.wav"), "--no-speak", "--questions", "1",
               "--end-silence", "1"], tmp_path, tmp_path / "data")
    assert p.returncode == 0, p.stderr
    assert "Score" in p.stdout


@needs_strace
def test_models_listing_and_measuring_stay_on_the_machine(answers, tmp_path):
    """Listing writes nothing at all; measuring writes its figure in the data folder and nothing elsewhere."""
    data = tmp_path / "data"
    p = audit(["models", "--json"], tmp_path, data)
    assert p.returncode == 0, p.stderr
    assert json.loads(p.stdout)["schema"] == "starcoach.models/1"
    assert not data.exists()
    p = audit(["models", "--measure", "--clip", str(answers / "two.wav"), "--json"], tmp_path, data)
    assert p.returncode == 0, p.stderr
    measured = [m for m in json.loads(p.stdout)["models"] if m["speed"]]
    assert [m["source"] for m in measured] == ["bundled"]
    assert sorted(x.name for x in data.iterdir()) == ["model-speed.json"]
