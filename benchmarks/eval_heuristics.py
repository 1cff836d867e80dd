"""Precision, recall and F1 of the R-STAR-L heuristics on the labelled answers.

    python benchmarks/eval_heuristics.py [--errors]

The development set (tests/data/answers_dev.toml) is the one the cue
weights were tuned by reading; the held-out set (answers_heldout.toml) was
written separately and is only ever measured, never read for tuning.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from starcoach.evaluation import evaluate, format_report, load_labelled

ROOT = Path(__file__).resolve().parent.parent


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--errors", action="store_true", help="list each wrong presence decision (dev set only)")
    ap.add_argument("sets", nargs="*", default=["dev", "heldout"])
    args = ap.parse_args()
    for name in args.sets:
        path = ROOT / "tests" / "data" / f"answers_{name}.toml"
        if not path.exists():
            print(f"(no {path.name})", file=sys.stderr)
            continue
        items = load_labelled(path)
        t0 = time.perf_counter()
        rep = evaluate(items)
        dt = time.perf_counter() - t0
        print(format_report(name, rep))
        print(f"\n({dt * 1000 / max(1, rep.n):.1f} ms per answer)\n")
        if args.errors and name == "dev":
            for item_id, comp, kind in rep.errors:
                print(f"  {item_id}: {comp} {kind}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
