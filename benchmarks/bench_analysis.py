"""How long the R-STAR-L judge takes: a 5,000-word transcript (target < 50 ms median)
and 100 typical answers in one process (target < 1 s).

    python benchmarks/bench_analysis.py [--baseline DIR]

Builds a 5,000-word transcript from the labelled held-out answers, analyses
it with a company profile punctuated and as unpunctuated lower-case speech,
and prints the median and worst of several runs.  With ``--baseline DIR``
(a checkout of an earlier version, e.g. ``git worktree add /tmp/base
HEAD~1``) the same text is timed with that version's analyser in alternating
rounds, and the ratio is printed: on a shared machine the ratio is the
figure that holds.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
QUESTION = "Tell me about a time you took ownership of a problem."

#: Times the analyser of whatever ``starcoach`` is importable (a baseline checkout's).
_TIMER = r"""
import json, re, statistics, sys, time
try:
    from starcoach.judge import analyse
except ImportError:
    from starcoach.analysis import analyse
from starcoach.catalogue.banks import load_catalogue
text = sys.stdin.read()
company = load_catalogue().company("amazon")
stt = re.sub(r"[^\w\s']", "", text.lower())
analyse(text, company=company)
out = {}
for name, t in (("punctuated", text), ("unpunctuated", stt)):
    ms = []
    for _ in range(int(sys.argv[1])):
        t0 = time.perf_counter()
        analyse(t, question=sys.argv[2], company=company)
        ms.append((time.perf_counter() - t0) * 1000)
    out[name] = ms
print(json.dumps(out))
"""


def build(words: int) -> str:
    from starcoach.judge.evaluation import load_labelled

    items = load_labelled(ROOT / "tests" / "data" / "answers_heldout.toml")
    parts, n = [], 0
    while n < words:
        for it in items:
            parts.append(it.text)
            n += len(it.text.split())
            if n >= words:
                break
    return " ".join(" ".join(parts).split()[:words])


def timed(src: Path, text: str, runs: int) -> dict[str, list[float]]:
    env = dict(os.environ, PYTHONPATH=str(src))
    r = subprocess.run([sys.executable, "-c", _TIMER, str(runs), QUESTION], input=text, capture_output=True,
                       text=True, env=env, check=True)
    return json.loads(r.stdout)


def typical(n: int = 100) -> float:
    from starcoach.catalogue.banks import load_catalogue
    from starcoach.judge import analyse
    from starcoach.judge.evaluation import load_labelled

    cat = load_catalogue()
    items = [i for name in ("answers_heldout.toml", "answers_heldout_styles.toml")
             for i in load_labelled(ROOT / "tests" / "data" / name)][:n]
    t0 = time.perf_counter()
    for i in items:
        analyse(i.text, question=i.question, company=cat.company(i.company) if i.company else None)
    return time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--baseline", type=Path, help="a checkout of an earlier version to time in the same run")
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    text = build(5000)
    load = os.getloadavg()[0]
    here: dict[str, list[float]] = {"punctuated": [], "unpunctuated": []}
    base: dict[str, list[float]] = {"punctuated": [], "unpunctuated": []}
    for _ in range(args.rounds):
        for k, v in timed(ROOT / "src", text, 7).items():
            here[k] += v
        if args.baseline:
            for k, v in timed(args.baseline / "src", text, 7).items():
                base[k] += v
    print(f"machine: {os.cpu_count()} cores, load {load:.1f} at the start")
    for k in here:
        line = f"5,000 words, {k}: median {statistics.median(here[k]):.1f} ms, worst {max(here[k]):.1f} ms"
        if args.baseline:
            b = statistics.median(base[k])
            line += f"; baseline median {b:.1f} ms; ratio {statistics.median(here[k]) / b:.2f}"
        print(line + " (target < 50 ms)")
    print(f"100 typical answers in one process: {typical():.2f} s (target < 1 s)")


if __name__ == "__main__":
    main()
