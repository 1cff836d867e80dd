"""The hostile matrix: well over 100 bad inputs and faults against the real command, each in a fresh data folder.

    python benchmarks/fault_matrix.py [--only TEXT] [--list] [--verbose] [--fixtures DIR] [--json FILE]

Run as root on Linux (it mounts small tmpfs file systems for "disk full" and
"read-only", and runs some cases without root's capabilities to override file
permissions, with setpriv, so that chmod holds); a case that cannot be set up
here is reported as skipped, with why.
Each case runs ``python -m starcoach`` from this checkout (``src/`` first on
PYTHONPATH) in its own temporary folder: a fresh data folder
(``STARCOACH_HOME``), ``HOME`` and ``TMPDIR``, and a timeout.  Recorded per
case: exit status; a Python traceback ("Traceback (most recent call last)")
or a native crash (abort, segmentation fault) on either stream; a hang (the
timeout hit, or a process of the case still running afterwards); lost or
damaged data (``PRAGMA integrity_check`` on the database, stored sessions,
answers and recordings before and after, every stored recording present, and
what the case itself expects to be kept); whether each message on standard
error is one line; files left in ``HOME`` or ``TMPDIR``.  Prints a table and
one summary line; exits 1 if anything was found.  The cases are in
benchmarks/fault_cases.py and fault_scenarios.py, their inputs in
fault_fixtures.py, the stored-data check in fault_store.py.
Takes about 13 minutes on 2 cores (practice plays its --mic-file in real time).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shlex
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

sys.path.insert(0, str(Path(__file__).resolve().parent))
import fault_cases  # noqa: E402
import fault_fixtures  # noqa: E402
from fault_store import compare, snapshot  # noqa: E402

ROOT = fault_fixtures.ROOT
TRACEBACK = "Traceback (most recent call last)"
CRASH = re.compile(r"terminate called|Segmentation fault|Fatal Python error|core dumped|\bAborted\b")
#: Standard-error lines that start a message, or are progress rather than a message.
MESSAGE_START = re.compile(r"^(starcoach(?: [a-z]+)*: |error: |warning: |Transcribing with |Speech model ready|Stopped|"
                           r"Answer stopped|Loading the speech model|An answer being recorded by another|Questions will be shown, not spoken|\S+: \d+ transcripts? reused)")
MARK = "STARCOACH_FAULT_CASE"
#: A case whose processes hold more than this is stopped: memory growing without end is a hang too.
MAX_RSS_MB = 3000


@dataclass
class Run:
    label: str
    code: Optional[int]
    out: str
    err: str
    hung: bool
    seconds: float
    expect: Optional[frozenset]
    lines: Optional[int]


class Proc:
    """A started command: its output goes to files, so a closed or full stream on its side changes nothing here."""

    def __init__(self, ctx: "Ctx", label: str, argv: list[str], env: dict, stdin, cwd: Path,
                 expect: Optional[frozenset], lines: Optional[int]):
        n = len(ctx.runs) + len(ctx.live)
        self.outf, self.errf = ctx.tmp / f".out-{n}", ctx.tmp / f".err-{n}"
        self.ctx, self.label, self.expect, self.lines = ctx, label, expect, lines
        with open(self.outf, "wb") as o, open(self.errf, "wb") as e:
            self.p = subprocess.Popen(argv, stdout=o, stderr=e, stdin=stdin, env=env, cwd=cwd,
                                      start_new_session=True)
        self.t0 = time.monotonic()
        ctx.live.append(self)

    def text(self) -> str:
        return self.outf.read_text(errors="replace") + self.errf.read_text(errors="replace")

    def wait_for(self, pattern: str, timeout_s: float = 60) -> bool:
        """Until ``pattern`` (a regex) appears on either stream, or the process ends."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if re.search(pattern, self.text()):
                return True
            if self.p.poll() is not None:
                return bool(re.search(pattern, self.text()))
            time.sleep(0.05)
        return False

    def send(self, sig: int, group: bool = True) -> None:
        if self.p.poll() is None:
            (os.killpg if group else os.kill)(self.p.pid, sig)

    def finish(self, timeout_s: float = 60) -> Run:
        """Waits for the end; past the timeout, or past MAX_RSS_MB of memory, it is killed (a hang)."""
        hung = False
        deadline = time.monotonic() + max(0.1, timeout_s)
        while self.p.poll() is None:
            rss = _rss_mb(self.ctx.mark)
            if time.monotonic() > deadline or rss > MAX_RSS_MB:
                hung = True
                if rss > MAX_RSS_MB:
                    self.ctx.found.append(("hang", f"{self.label}: {rss:.0f} MB of memory, killed"))
                self.send(signal.SIGKILL)
                self.p.wait()
                break
            time.sleep(0.2)
        self.ctx.live.remove(self)
        run = Run(self.label, self.p.returncode, self.outf.read_text(errors="replace"),
                  self.errf.read_text(errors="replace"), hung, time.monotonic() - self.t0, self.expect, self.lines)
        self.ctx.runs.append(run)
        return run


class Ctx:
    """What a case works with: its folders, the command, and what it found."""

    def __init__(self, case, fix: Path, tmp: Path):
        self.case, self.fix, self.tmp = case, fix, tmp
        self.data = tmp / "data"
        self.home, self.tmpdir = tmp / "home", tmp / "tmp"
        for d in (self.home, self.tmpdir):
            d.mkdir()
        os.chmod(tmp, 0o755)
        os.chmod(self.home, 0o777)
        os.chmod(self.tmpdir, 0o1777)
        self.mark = uuid.uuid4().hex
        self.runs: list[Run] = []
        self.live: list[Proc] = []
        self.found: list[tuple[str, str]] = []  # ("loss" | "wrong", what)
        self.mounts: list[Path] = []
        self.skip: Optional[str] = None

    # -- paths and environment
    def sub(self, s: str) -> str:
        return s.replace("{F}", str(self.fix)).replace("{T}", str(self.tmp)).replace("{D}", str(self.data))

    def env(self, extra: Optional[dict] = None) -> dict:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("STARCOACH", "XDG_", "PYTHON"))}
        env.update(PYTHONPATH=str(ROOT / "src"), PYTHONDONTWRITEBYTECODE="1", HOME=str(self.home),
                   TMPDIR=str(self.tmpdir), STARCOACH_HOME=str(self.data), LANG="C.UTF-8", **{MARK: self.mark})
        for k, v in (extra or {}).items():
            if v is None:
                env.pop(k, None)
            else:
                env[k] = self.sub(v)
        return env

    # -- commands
    def start(self, args, *, stdin=None, shell: Optional[str] = None, env: Optional[dict] = None,
              user: Optional[str] = None, cwd: Optional[Path] = None, expect=..., lines: Optional[int] = 1,
              label: Optional[str] = None) -> Proc:
        cmd = [sys.executable, "-m", "starcoach", *[self.sub(a) for a in args]]
        if user:  # root without the capabilities that override file permissions: chmod then holds
            cmd = ["setpriv", "--bounding-set=-dac_override,-dac_read_search", "--", *cmd]
        argv = ["bash", "-c", self.sub(shell).replace("{cmd}", shlex.join(cmd))] if shell else cmd
        if isinstance(stdin, (bytes, str)):
            f = self.tmp / f".in-{len(self.runs) + len(self.live)}"
            f.write_bytes(stdin.encode() if isinstance(stdin, str) else stdin)
            stdin = open(f, "rb")
        elif stdin is None:
            stdin = subprocess.DEVNULL
        expect = self.case.codes if expect is ... else None if expect is None else frozenset(expect)
        return Proc(self, label or " ".join(args[:2]), argv, self.env(env), stdin, cwd or self.tmp, expect, lines)

    def run(self, args, *, timeout_s: Optional[float] = None, **kw) -> Run:
        return self.start(args, **kw).finish(timeout_s or self.case.timeout_s)

    # -- findings
    def loss(self, what: str) -> None:
        self.found.append(("loss", what))

    def wrong(self, what: str) -> None:
        self.found.append(("wrong", what))

    def note(self, what: str) -> None:
        """Shown in the table, counted nowhere (a measurement, not a fault)."""
        self.found.append(("note", what))

    def query(self, sql: str, data: Optional[Path] = None) -> list:
        con = sqlite3.connect(f"file:{(data or self.data) / 'starcoach.db'}?mode=ro", uri=True, timeout=10)
        try:
            return con.execute(sql).fetchall()
        finally:
            con.close()

    def tmpfs(self, where: Path, size: str, ro: bool = False) -> bool:
        where.mkdir(parents=True, exist_ok=True)
        p = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size},mode=0755", "tmpfs", str(where)],
                           capture_output=True, text=True)
        if p.returncode != 0:
            self.skip = f"cannot mount a tmpfs ({p.stderr.strip() or p.returncode})"
            return False
        self.mounts.append(where)
        return True

    def remount_ro(self, where: Path) -> None:
        subprocess.run(["mount", "-o", "remount,ro", str(where)], check=True, capture_output=True)

    def cleanup(self) -> None:
        for proc in list(self.live):
            proc.send(signal.SIGKILL)
            proc.finish(5)
        for m in reversed(self.mounts):
            subprocess.run(["umount", "-l", str(m)], capture_output=True)


# --------------------------------------------------------------------------- one case


@dataclass
class Result:
    case: object
    runs: list
    found: list
    skipped: Optional[str]
    seconds: float

    def count(self, what: str) -> int:
        return sum(1 for k, _ in self.found if k == what)


def _rss_mb(mark: str) -> float:
    """Memory resident in the case's processes, in MB."""
    total = 0
    for pid in _leftovers(mark):
        try:
            total += int(Path(f"/proc/{pid}/statm").read_text().split()[1])
        except (OSError, IndexError, ValueError):
            continue
    return total * os.sysconf("SC_PAGE_SIZE") / 1e6


def _leftovers(mark: str) -> list[int]:
    pids = []
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            try:
                if f"{MARK}={mark}".encode() in (d / "environ").read_bytes():
                    pids.append(int(d.name))
            except OSError:
                continue
    return pids


def examine(ctx: Ctx) -> None:
    for r in ctx.runs:
        text = r.out + r.err
        if TRACEBACK in text:
            ctx.found.append(("traceback", f"{r.label}: {_last_line(r.err)}"))
        if CRASH.search(text) or (r.code is not None and (r.code in (134, 139) or r.code < 0) and not r.hung
                                  and r.expect is not None and r.code not in r.expect):
            ctx.found.append(("crash", f"{r.label}: exit {r.code}"))
        if r.hung:
            ctx.found.append(("hang", f"{r.label}: still running after {r.seconds:.0f} s"))
        if r.expect is not None and not r.hung and r.code not in r.expect:
            ctx.wrong(f"{r.label}: exit {r.code}, expected {sorted(r.expect)}")
        lines = [ln for ln in r.err.split("Batch summary")[0].splitlines() if ln.strip()]  # the table is no message
        cont = [ln for ln in lines if not MESSAGE_START.match(ln)]
        said = [ln for ln in lines if MESSAGE_START.match(ln) and not ln.startswith(("Transcribing", "Speech"))]
        if r.label.startswith("practice"):  # a session says why it stopped in its own output, in one line
            stopped = [ln for ln in r.out.splitlines() if ln.startswith("Stopped: ")]
            said += stopped
            cont += [ln for ln in stopped if not ln.rstrip().endswith(".")]  # wrapped onto a next line
        if TRACEBACK not in text and (cont or (r.lines is not None and r.code in (1, 2, 3) and len(said) != r.lines)):
            ctx.found.append(("lines", f"{r.label}: {len(lines)} lines on stderr: {' | '.join(lines)[:160]}"))
    for pid in _leftovers(ctx.mark):
        ctx.found.append(("hang", f"process {pid} still running after the case"))
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass
    for name, d in (("HOME", ctx.home), ("TMPDIR", ctx.tmpdir)):
        left = [str(p.relative_to(d)) for p in d.rglob("*")] if d.exists() else []
        if ctx.case.sound:  # PulseAudio's client keeps its runtime files when a sound device is opened
            left = [p for p in left if not re.match(r"(\.config(/pulse.*)?|pulse-\w+(/.*)?)$", p)]
        if left:
            ctx.wrong(f"left in {name}: {', '.join(left[:4])}")


def _last_line(text: str) -> str:
    lines = [ln for ln in text.splitlines() if ln.strip()]
    return lines[-1][:120] if lines else ""


def run_case(case, fix: Path, workdir: Path) -> Result:
    t0 = time.monotonic()
    tmp = Path(tempfile.mkdtemp(prefix="case-", dir=workdir))
    ctx = Ctx(case, fix, tmp)
    try:
        if case.seed:
            fault_fixtures.copy_seed(fix, ctx.data)
        if case.setup:
            case.setup(ctx)
        if ctx.skip is None:
            before = snapshot(ctx.data)
            case.act(ctx)
            for proc in list(ctx.live):  # a case that left one running: that is a hang
                proc.finish(1)
            after = snapshot(ctx.data)
            compare(before, after, ctx.data, ctx)
            if case.check:
                case.check(ctx, before, after)
            examine(ctx)
    finally:
        ctx.cleanup()
        subprocess.run(["rm", "-rf", str(tmp)], capture_output=True)
    return Result(case, ctx.runs, ctx.found, ctx.skip, time.monotonic() - t0)


# --------------------------------------------------------------------------- the table


KINDS = ("traceback", "crash", "hang", "loss", "lines", "wrong")


def show(results: list[Result], verbose: bool) -> str:
    rows = [f"{'#':>3}  {'group':<11} {'case':<46} {'exit':>9} {'tb':>2} {'hang':>4} {'loss':>4} {'1-line':>6} "
            f"{'s':>5}  notes"]
    for i, r in enumerate(results, 1):
        if r.skipped:
            rows.append(f"{i:>3}  {r.case.group:<11} {r.case.name:<46} {'skipped':>9}  {r.skipped}")
            continue
        codes = ",".join("hang" if x.hung else str(x.code) for x in r.runs)[:9]
        tb = r.count("traceback") + r.count("crash")
        notes = "; ".join(f"{k}: {w}" for k, w in r.found if k in ("loss", "wrong", "crash", "hang", "note"))
        rows.append(f"{i:>3}  {r.case.group:<11} {r.case.name[:46]:<46} {codes:>9} {tb or '':>2} "
                    f"{r.count('hang') or '':>4} {r.count('loss') or '':>4} {'no' if r.count('lines') else 'yes':>6} "
                    f"{r.seconds:5.1f}  {notes[:200]}")
        if verbose and r.found:
            for k, w in r.found:
                rows.append(f"       {k}: {w}")
    return "\n".join(rows)


def summary(results: list[Result]) -> dict:
    ran = [r for r in results if not r.skipped]
    return {"cases": len(ran), "skipped": len(results) - len(ran),
            "tracebacks": sum(1 for r in ran if r.count("traceback") or r.count("crash")),
            "hangs": sum(1 for r in ran if r.count("hang")), "losses": sum(1 for r in ran if r.count("loss")),
            "multi_line_errors": sum(1 for r in ran if r.count("lines")),
            "unexpected": sum(1 for r in ran if r.count("wrong"))}


def main(argv: Optional[list[str]] = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--only", action="append", default=[], help="run cases whose group or name contains this")
    ap.add_argument("--list", action="store_true", help="list the cases and exit")
    ap.add_argument("--verbose", "-v", action="store_true", help="print every finding under its case")
    ap.add_argument("--fixtures", type=Path, help="keep the inputs here and reuse them (default: made afresh)")
    ap.add_argument("--json", type=Path, help="also write every case's result here")
    a = ap.parse_args(argv)
    # Each command gets Ctrl-C as from a terminal, even when the matrix itself runs in the background
    # (where the shell starts it with SIGINT ignored, and an ignored signal is inherited).
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    cases = [c for c in fault_cases.CASES if not a.only or any(o in f"{c.group}/{c.name}" for o in a.only)]
    if a.list:
        for c in cases:
            print(f"{c.group:<11} {c.name}")
        print(f"{len(cases)} cases")
        return 0
    with tempfile.TemporaryDirectory(prefix="starcoach-faults-") as work:
        fix = a.fixtures.resolve() if a.fixtures else Path(work) / "fixtures"
        print(f"making the inputs in {fix} ...", file=sys.stderr, flush=True)
        fault_fixtures.build(fix)
        os.chmod(work, 0o755)  # readable to every case, whatever its rights
        subprocess.run(["chmod", "-R", "a+rX", str(fix)], check=True)
        results = []
        for i, c in enumerate(cases, 1):
            r = run_case(c, fix, Path(work))
            flags = [k for k in KINDS if r.count(k)]
            print(f"[{i}/{len(cases)}] {c.group}/{c.name}: {r.skipped or ', '.join(flags) or 'clean'} "
                  f"({r.seconds:.1f} s)", file=sys.stderr, flush=True)
            results.append(r)
    print(show(results, a.verbose))
    s = summary(results)
    print(f"\n{s['cases']} cases ({s['skipped']} skipped): {s['tracebacks']} with a traceback or crash, "
          f"{s['hangs']} hangs, {s['losses']} with data lost or damaged, {s['multi_line_errors']} with a message "
          f"of more than one line, {s['unexpected']} otherwise unexpected; load {os.getloadavg()[0]:.1f}")
    if a.json:
        a.json.write_text(json.dumps({"summary": s, "cases": [
            {"group": r.case.group, "case": r.case.name, "skipped": r.skipped, "seconds": round(r.seconds, 2),
             "exits": [x.code for x in r.runs], "found": r.found,
             "stderr": [x.err[-2000:] for x in r.runs]} for r in results]}, indent=1))
    return 1 if any(s[k] for k in ("tracebacks", "hangs", "losses", "multi_line_errors", "unexpected")) else 0


if __name__ == "__main__":
    sys.exit(main())
