"""Nothing leaves the machine: a syscall audit of the real command.

``analyse`` (one file, and a folder through the worker processes) and
``practice --mic-file`` run under ``strace -f``, with ``HOME``, ``TMPDIR`` and
the working directory pointed at fresh folders.  The audit fails on any
``socket(AF_INET...)`` / ``socket(AF_INET6...)`` (a DNS lookup opens one
before anything is sent), and on any file opened for writing, created,
renamed or removed outside the data folder and the temp folder, which must
be empty again afterwards.  Before onnxruntime's telemetry was switched off
(``starcoach/__init__.py``), every one of these runs looked up
``mobile.events.data.microsoft.com`` and wrote ``~/.cache/Microsoft/...``.

Python's bytecode cache is turned off for the audited runs
(``PYTHONDONTWRITEBYTECODE``): a first run after an edit would otherwise write
``__pycache__`` beside the sources, which is installation, not use.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Optional

import pytest

pytestmark = pytest.mark.audio

STARCOACH = Path(sys.executable).with_name("starcoach")

#: Opened for writing / created (openat, open, creat) or changed (mkdir, rename, unlink).
_CALL = re.compile(r"^\d+\s+(?P<call>openat|open|creat|mkdir|mkdirat|rename|renameat2?|unlink|unlinkat|rmdir|"
                   r"link|symlink|truncate)\((?P<args>.*)")
_SOCKET = re.compile(r"socket\((AF_INET6?|PF_INET6?)\b")
_STRING = re.compile(r'"((?:[^"\\]|\\.)*)"')
#: Places any process may write to that hold nothing of the user's.
_DEVICES = ("/dev/null", "/dev/tty", "/dev/pts/", "/dev/urandom")


def _strace_usable() -> str:
    if not shutil.which("strace"):
        return "strace is not installed (./test.sh installs it)"
    p = subprocess.run(["strace", "-f", "-qq", "-e", "trace=openat", "-o", os.devnull, "true"],
                       capture_output=True, text=True)
    if p.returncode != 0:
        return f"strace cannot trace here ({(p.stderr.strip().splitlines() or ['?'])[-1]})"
    return ""


SKIP_REASON = _strace_usable()
needs_strace = pytest.mark.skipif(bool(SKIP_REASON), reason=SKIP_REASON or "strace works")


def _writes(trace: Path, cwd: Path) -> list[tuple[str, str]]:
    """(call, path) for every change to the file system the trace shows."""
    out = []
    for line in trace.read_text(errors="replace").splitlines():
        m = _CALL.match(line)
        if not m:
            continue
        call, args = m.group("call"), m.group("args")
        if call in ("openat", "open"):
            if not re.search(r"O_WRONLY|O_RDWR|O_CREAT|O_TRUNC", args):
                continue
        if re.search(r"= -1 E", args):
            continue  # refused: nothing was written
        # strace -y names the folder a *at call's descriptor stands for: unlinkat(6</tmp/x>, "name", ...)
        at = re.match(r"(?:AT_FDCWD|\d+)<([^>]*)>", args)
        base = Path(at.group(1)) if at else cwd
        for p in _STRING.findall(args)[: 2 if call.startswith(("rename", "link", "symlink")) else 1]:
            p = p.encode().decode("unicode_escape")
            out.append((call, str(p if os.path.isabs(p) else base / p)))
    return out


#: An address a socket connects, binds or sends to (IPv4, IPv6) in strace's output.
_ADDRESS = re.compile(r'inet_addr\("([^"]+)"\)|inet_pton\(AF_INET6, "([^"]+)"')
_LOOPBACK = ("127.0.0.1", "::1", "::ffff:127.0.0.1")


def _addresses(text: str) -> set[str]:
    """Every address a connect, bind or sendto in the trace names."""
    out = set()
    for line in text.splitlines():
        if re.match(r"^\d+\s+(connect|bind|sendto|sendmsg)\(", line):
            out.update(a or b for a, b in _ADDRESS.findall(line))
    return out


def audit(args: list[str], tmp_path: Path, data: Path, *, timeout_s: float = 240,
          loopback: bool = False, tmp: Optional[Path] = None) -> subprocess.CompletedProcess:
    """``loopback``: INET sockets are allowed if every address they use is this machine's loopback
    (Ray's processes talk gRPC over it); ``/dev/shm/plasma*`` (Ray's object store) must be gone afterwards.
    ``tmp``: the temp folder (TMPDIR) to give the command."""
    home, cwd = tmp_path / "audit-home", tmp_path / "audit-cwd"
    tmp = tmp or tmp_path / "audit-tmp"
    for d in (home, tmp, cwd):
        d.mkdir(exist_ok=True)
    trace = tmp_path / f"trace-{args[0]}-{len(list(tmp_path.glob('trace-*')))}.txt"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ORT_", "HF_", "XDG_"))}
    env.update(HOME=str(home), TMPDIR=str(tmp), STARCOACH_HOME=str(data), PYTHONDONTWRITEBYTECODE="1")
    env.pop("ALSA_CONFIG_PATH", None)
    p = subprocess.run(["strace", "-f", "-qq", "-y", "-o", str(trace), "-e",
                        "trace=socket,openat,open,creat,mkdir,mkdirat,rename,renameat,renameat2,unlink,unlinkat,"
                        "rmdir,link,symlink,truncate" + (",connect,bind,sendto,sendmsg" if loopback else ""),
                        str(STARCOACH), *args], cwd=cwd, env=env, stdin=subprocess.DEVNULL,
                       capture_output=True, text=True, timeout=timeout_s)
    text = trace.read_text(errors="replace")
    if loopback:
        outside = sorted(a for a in _addresses(text) if a not in _LOOPBACK)
        assert not outside, f"starcoach {' '.join(args)} used addresses off this machine: {outside}"
        assert _addresses(text), "no loopback traffic seen: the trace did not cover the sockets"
    else:
        sockets = sorted({m.group(0) for m in _SOCKET.finditer(text)})
        assert not sockets, f"starcoach {' '.join(args)} opened network sockets: {sockets}"
    allowed = (str(data) + "/", str(tmp) + "/", "/dev/shm/sem.", *(("/dev/shm/plasma", "/proc/") if loopback else ()))
    stray = sorted({f"{call} {path}" for call, path in _writes(trace, cwd)
                    if not (path == str(data) or path.startswith(allowed) or path.startswith(_DEVICES))})
    assert not stray, f"starcoach {' '.join(args)} wrote outside the data folder:\n" + "\n".join(stray)
    assert not list(home.rglob("*")), f"files left in HOME: {list(home.rglob('*'))}"
    assert not list(cwd.rglob("*")), f"files left in the working directory: {list(cwd.rglob('*'))}"
    assert not list(tmp.rglob("*")), f"files left in the temp folder: {list(tmp.rglob('*'))}"
    for call, path in _writes(trace, cwd):
        if path.startswith(("/dev/shm/sem.", "/dev/shm/plasma")) and call.startswith("open"):
            assert not Path(path).exists(), f"{path} was left behind"
    print(f"\nstarcoach {' '.join(args)}: exit {p.returncode}, no INET sockets, "
          f"{len(_writes(trace, cwd))} writes, all inside {data} or {tmp}")
    return p


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
def test_analyse_one_file_and_a_folder_stay_on_the_machine(answers, tmp_path):
    data = tmp_path / "data"
    p = audit(["analyse", str(answers / "one.wav"), "--json"], tmp_path, data)
    assert p.returncode == 0, p.stderr
    folder = tmp_path / "folder"
    folder.mkdir()
    for name in ("one.wav", "two.wav"):
        shutil.copy(answers / name, folder / name)
    p = audit(["analyse", str(folder), "--json", "--workers", "2"], tmp_path, tmp_path / "data2")
    assert p.returncode == 0, p.stderr
    assert len(p.stdout.splitlines()) == 2


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
