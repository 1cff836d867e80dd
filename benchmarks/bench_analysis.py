"""How long the R-STAR-L analysis takes on a long transcript (target: 5,000 words < 100 ms).

    python benchmarks/bench_analysis.py

Builds a 5,000-word transcript from the labelled answers (text you can read
in tests/data), analyses it with a company profile, and prints the median and
worst of several runs, punctuated and as unpunctuated lower-case speech.
"""

from __future__ import annotations

import re
import statistics
import time
from pathlib import Path

from starcoach.analysis import analyse
from starcoach.banks import load_catalogue
from starcoach.evaluation import load_labelled

ROOT = Path(__file__).resolve().parent.parent


def build(words: int) -> str:
    items = load_labelled(ROOT / "tests" / "data" / "answers_heldout.toml")
    parts, n = [], 0
    while n < words:
        for it in items:
            parts.append(it.text)
            n += len(it.text.split())
            if n >= words:
                break
    return " ".join(" ".join(parts).split()[:words])


def timed(text: str, company, runs: int = 15) -> list[float]:
    out = []
    for _ in range(runs):
        t0 = time.perf_counter()
        analyse(text, question="Tell me about a time you took ownership of a problem.", company=company)
        out.append((time.perf_counter() - t0) * 1000)
    return out


def main() -> None:
    company = load_catalogue().company("amazon")
    text = build(5000)
    stt = re.sub(r"[^\w\s']", "", text.lower())
    analyse(text, company=company)  # warm regex caches
    for name, t in (("punctuated", text), ("unpunctuated lower case", stt)):
        ms = timed(t, company)
        print(f"5,000 words, {name}: median {statistics.median(ms):.1f} ms, worst {max(ms):.1f} ms "
              f"(target < 100 ms)")


if __name__ == "__main__":
    main()
