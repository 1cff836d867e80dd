"""The syscall audit of the real command (tests/test_privacy.py, and the batch's real run in tests/test_batch.py).

``audit(args, ...)`` runs ``starcoach ARGS`` under ``strace -f`` (``--seccomp-bpf`` where
strace has it: a traced process stops only at the calls asked for, not at every call, so
the trace holds the same lines for a fraction of the overhead), with ``HOME``, ``TMPDIR``
and the working directory pointed at fresh folders.  It fails on any
``socket(AF_INET...)`` / ``socket(AF_INET6...)`` (a DNS lookup opens one before anything
is sent), and on any file opened for writing, created, renamed or removed outside the
data folder, the temp folder (which must be empty again afterwards) and the files the
command was asked to write.

Python's bytecode cache is turned off for the audited runs
(``PYTHONDONTWRITEBYTECODE``): a first run after an edit would otherwise write
``__pycache__`` beside the sources, which is installation, not use.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Optional

import pytest

STARCOACH = Path(sys.executable).with_name("starcoach")

#: Opened for writing / created (openat, open, creat) or changed (mkdir, rename, unlink).
_CALL = re.compile(r"^\d+\s+(?P<call>openat|open|creat|mkdir|mkdirat|rename|renameat2?|unlink|unlinkat|rmdir|"
                   r"link|symlink|truncate)\((?P<args>.*)")
_SOCKET = re.compile(r"socket\((AF_INET6?|PF_INET6?)\b")
_STRING = re.compile(r'"((?:[^"\\]|\\.)*)"')
#: Places any process may write to that hold nothing of the user's.
_DEVICES = ("/dev/null", "/dev/tty", "/dev/pts/", "/dev/urandom")


def _strace_usable() -> tuple[str, tuple[str, ...]]:
    """(why strace cannot be used here, or ""; the options to trace with).

    ``--seccomp-bpf`` (strace 5.3 and later) stops a traced process only at the calls asked
    for, not at every call: the same lines in the trace, a fraction of the overhead (Ray's
    processes make many calls that are not audited: about 2 s of system time per run here)."""
    if not shutil.which("strace"):
        return "strace is not installed (./test.sh installs it)", ()
    err = "?"
    for options in (("-f", "--seccomp-bpf"), ("-f",)):
        p = subprocess.run(["strace", *options, "-qq", "-e", "trace=openat", "-o", os.devnull, "true"],
                           capture_output=True, text=True)
        if p.returncode == 0:
            return "", options
        err = (p.stderr.strip().splitlines() or ["?"])[-1]
    return f"strace cannot trace here ({err})", ()


SKIP_REASON, STRACE_OPTIONS = _strace_usable()
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
          loopback: bool = False, tmp: Optional[Path] = None,
          outputs: tuple[Path, ...] = ()) -> subprocess.CompletedProcess:
    """``starcoach ARGS`` under strace, with the data folder ``data``; fails on anything the module's docstring names.

    ``loopback``: INET sockets are allowed if every address they use is this machine's loopback
    (Ray's processes talk gRPC over it); ``/dev/shm/plasma*`` (Ray's object store) must be gone afterwards.
    ``tmp``: the temp folder (TMPDIR) to give the command.  ``outputs``: files the command is asked
    to write (``--csv FILE``), which it may create and replace."""
    home, cwd = tmp_path / "audit-home", tmp_path / "audit-cwd"
    tmp = tmp or tmp_path / "audit-tmp"
    for d in (home, tmp, cwd):
        d.mkdir(exist_ok=True)
    trace = tmp_path / f"trace-{args[0]}-{len(list(tmp_path.glob('trace-*')))}.txt"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ORT_", "HF_", "XDG_"))}
    env.update(HOME=str(home), TMPDIR=str(tmp), STARCOACH_HOME=str(data), PYTHONDONTWRITEBYTECODE="1")
    env.pop("ALSA_CONFIG_PATH", None)
    p = subprocess.run(["strace", *STRACE_OPTIONS, "-qq", "-y", "-o", str(trace), "-e",
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
                    if not (path == str(data) or path.startswith(allowed) or path.startswith(_DEVICES)
                            or _is_output(path, outputs))})
    assert not stray, f"starcoach {' '.join(args)} wrote outside the data folder:\n" + "\n".join(stray)
    assert not list(home.rglob("*")), f"files left in HOME: {list(home.rglob('*'))}"
    assert not list(cwd.rglob("*")), f"files left in the working directory: {list(cwd.rglob('*'))}"
    assert not list(tmp.rglob("*")), f"files left in the temp folder: {list(tmp.rglob('*'))}"
    for call, path in _writes(trace, cwd):
        if path.startswith(("/dev/shm/sem.", "/dev/shm/plasma")) and call.startswith("open"):
            assert not Path(path).exists(), f"{path} was left behind"
    print(f"\nstarcoach {' '.join(args)}: exit {p.returncode}, no INET sockets, "
          f"{len(_writes(trace, cwd))} writes, all inside {data} or {tmp}"
          + (f" or to {', '.join(str(o) for o in outputs)}" if outputs else ""))
    return p


def _is_output(path: str, outputs: tuple[Path, ...]) -> bool:
    """``path`` is an output file the command was asked for, or the temporary file beside it that
    ``files.write_atomic`` renames over it (``.NAME.PID.tmp``)."""
    for o in outputs:
        if path == str(o) or (os.path.dirname(path) == str(o.parent)
                              and re.fullmatch(rf"\.{re.escape(o.name)}\.\d+\.tmp", os.path.basename(path))):
            return True
    return False
