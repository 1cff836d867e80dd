"""How long ``starcoach`` takes to start and finish, as a new process: ``analyse`` of a
text transcript (no speech model) and ``--help``, against an older tree in the same run.

    python benchmarks/bench_startup.py --baseline DIR [--baseline DIR2 ...] [--rounds 15]

DIR is the ``src`` folder of another version (``git archive REV | tar -x -C /tmp/base``,
then ``--baseline /tmp/base/src``).  Each round runs every command once with this
tree and once with each baseline, in an order that turns round every round, and
the medians and the ratios this/baseline are printed: on a shared machine the
ratio of the same run is the figure that holds.  Bytecode is compiled first for both trees, and the timed
processes may write it (``PYTHONDONTWRITEBYTECODE`` is removed), as an installed
package would run.  Results go to a data folder in a temporary directory, one per
tree, created before the first timed round.
"""

from __future__ import annotations

import argparse
import compileall
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
#: What the console script runs (``starcoach = starcoach.cli:run``).
LAUNCH = "import sys; sys.argv[0] = 'starcoach'; from starcoach.cli import run; sys.exit(run())"
#: Name -> the arguments: ``analyse`` of the example transcript as a report and as JSON, and ``--help``.
COMMANDS = {
    "analyse": ["analyse", str(ROOT / "examples" / "answer-transcript.txt")],
    "analyse-json": ["analyse", str(ROOT / "examples" / "answer-transcript.txt"), "--json"],
    "help": ["--help"],
}


def _env(src: Path, home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env["PYTHONPATH"] = str(src)
    env["STARCOACH_HOME"] = str(home)
    env["COLUMNS"] = "100"
    return env


def _run(argv: list[str], env: dict[str, str]) -> float:
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-c", LAUNCH, *argv], env=env, check=True, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL)
    return (time.perf_counter() - t0) * 1000


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--baseline", type=Path, required=True, action="append",
                    help="the src folder of a version to compare with (may be given more than once)")
    ap.add_argument("--rounds", type=int, default=15)
    ap.add_argument("--only", choices=sorted(COMMANDS), action="append", help="time only these commands")
    opts = ap.parse_args()
    trees = {"this": ROOT / "src"} | {f"base{i + 1}": b.resolve() for i, b in enumerate(opts.baseline)}
    for src in trees.values():
        compileall.compile_dir(str(src), quiet=1)
    names = opts.only or list(COMMANDS)
    with tempfile.TemporaryDirectory(prefix="starcoach-bench-") as tmp:
        envs = {t: _env(src, Path(tmp) / t) for t, src in trees.items()}
        for t in trees:  # the data folder made, and anything the first run writes written, before timing
            for name in names:
                _run(COMMANDS[name], envs[t])
        ms: dict[tuple[str, str], list[float]] = {(t, n): [] for t in trees for n in names}
        for r in range(opts.rounds):
            order = list(trees)[r % len(trees):] + list(trees)[:r % len(trees)]
            order = order if r % 2 == 0 else order[::-1]
            for name in names:
                for t in order:
                    ms[t, name].append(_run(COMMANDS[name], envs[t]))
    try:
        load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:
        load = "?"
    print(f"{opts.rounds} rounds, {os.cpu_count()} cores, load average {load} (after)")
    bases = [t for t in trees if t != "this"]
    for t in bases:
        print(f"{t}: {trees[t]}")
    print(f"{'command':<16} {'this ms':>9}" + "".join(f" {t + ' ms':>10} {'ratio':>6}" for t in bases))
    for name in names:
        a = statistics.median(ms["this", name])
        cells = []
        for t in bases:
            b = statistics.median(ms[t, name])
            cells.append(f" {b:>10.1f} {a / b:>6.3f}")
        print(f"{name:<16} {a:>9.1f}" + "".join(cells))


if __name__ == "__main__":
    main()
