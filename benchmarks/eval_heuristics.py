"""How right the R-STAR-L judge is, measured on answers that did not shape it.

    python benchmarks/eval_heuristics.py [--ablation] [--errors] [--folds K]

(a) The project's held-out sets (tests/data/answers_heldout*.toml), judged
    with the shipped weights; these sets are never used for fitting.
(b) The real published answers (../shared/answers/real_dev.jsonl) by
    cross-validation grouped by source: each fold's web sites are judged by
    weights fitted on the project's training sets and the other sites.
(c) Weights fitted on the project's own training sets only, judged on the
    real answers.
--ablation refits (b) without each cue family and each signal, and prints
what each one adds to the F1.  --errors lists the wrong presence decisions
of (b).  The figures are copied into docs/heuristics.md.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from starcoach.catalogue.banks import load_catalogue
from starcoach.judge import fit as F
from starcoach.judge.core import calibrated
from starcoach.judge.cues import families
from starcoach.judge.emissions import WEIGHTS_PATH, load_weights
from starcoach.judge.evaluation import evaluate, format_report, load_labelled
from starcoach.judge.features import SIGNALS
from starcoach.model import COMPONENTS

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "tests" / "data"
REAL = ROOT.parent / "shared" / "answers" / "real_dev.jsonl"
HELD_OUT = ("answers_heldout.toml", "answers_heldout_styles.toml", "answers_heldout_fresh.toml")


def table(title: str, f1: dict) -> str:
    lines = [f"### {title}", "", "| component | precision | recall | F1 |", "| --- | --- | --- | --- |"]
    for c in COMPONENTS:
        p, r, f = f1[c]
        lines.append(f"| {c} | {p:.2f} | {r:.2f} | {f:.2f} |")
    return "\n".join(lines)


def reliability(real, preds, w) -> str:
    """Of the decisions shown at each confidence, how many were right."""
    bins = [(0.5, 0.7), (0.7, 0.9), (0.9, 1.01)]
    rows = {b: [0, 0] for b in bins}
    for ex, pr in zip(real, preds):
        for c in COMPONENTS:
            p = calibrated(pr.probabilities[c], w.calibration.get(c, (1.0, 0.0)))
            present = c in pr.present
            conf = p if present else 1.0 - p
            right = present == (c in ex.present)
            for lo, hi in bins:
                if lo <= conf < hi:
                    rows[(lo, hi)][0] += 1
                    rows[(lo, hi)][1] += right
    lines = ["| confidence shown | decisions | right |", "| --- | --- | --- |"]
    for (lo, hi), (n, k) in rows.items():
        lines.append(f"| {lo:.1f}-{min(hi, 1.0):.1f} | {n} | {k / n:.2f} |" if n else f"| {lo:.1f}-{min(hi, 1.0):.1f} | 0 | - |")
    below = sum(1 for ex, pr in zip(real, preds) for c in COMPONENTS
                if (c in pr.present) != (c in ex.present))
    lines.append(f"\n(wrong decisions in all: {below} of {len(real) * len(COMPONENTS)})")
    return "\n".join(lines)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--ablation", action="store_true", help="refit (b) without each cue family and signal")
    ap.add_argument("--errors", action="store_true", help="list the wrong presence decisions of (b)")
    ap.add_argument("--folds", type=int, default=8, help="folds of the grouped cross-validation (default 8)")
    args = ap.parse_args()
    cat = load_catalogue()
    w = load_weights()
    hyper = json.loads(WEIGHTS_PATH.read_text(encoding="utf-8")).get("fitted_with", {})
    fargs = F.fit_args(hyper)
    print(f"weights {w.version}, fitted with {hyper}, trained on {', '.join(w.trained_on)}\n")

    print("## (a) held-out sets, shipped weights\n")
    for name in HELD_OUT:
        path = DATA / name
        if path.exists():
            t0 = time.perf_counter()
            rep = evaluate(load_labelled(path), cat)
            print(format_report(path.stem, rep))
            print(f"\n({(time.perf_counter() - t0) * 1000 / max(1, rep.n):.1f} ms per answer)\n")
    if not REAL.exists():
        print(f"(no {REAL}: (b) and (c) need the real answers)")
        return 0
    own, real = F.training_examples(DATA, REAL, cat)
    sources = len({ex.group for ex in real})
    preds_b = F.cross_validate(own, real, args.folds, **fargs)
    f1_b = F.presence_f1(real, preds_b)
    print(table(f"(b) real answers ({len(real)}, {sources} sources), {args.folds}-fold cross-validation grouped by "
                "source", f1_b))
    w_own = F.fit(own, **fargs)
    f1_c = F.presence_f1(real, F.predict(real, w_own))
    print()
    print(table("(c) fitted on the project's own training sets only, judged on the real answers", f1_c))
    print("\n### confidence on (b), out of fold, with the shipped calibration\n")
    print(reliability(real, preds_b, w))
    if args.errors:
        print("\n### wrong decisions of (b)\n")
        for ex, pr in zip(real, preds_b):
            for c in COMPONENTS:
                if (c in pr.present) != (c in ex.present):
                    print(f"- {ex.id} ({ex.group}): {c} {'false alarm' if c in pr.present else 'missed'}")
    if args.ablation:
        # Two views: the real answers (b), and the project's training sets judged out of
        # fold (grouped by answer), which have many more play-backs and link backs.
        def mean_f1(f1: dict) -> float:
            return sum(f1[c][2] for c in COMPONENTS) / len(COMPONENTS)

        base_b = mean_f1(f1_b)
        f1_own = F.presence_f1(own, F.cross_validate([], own, args.folds, **fargs))
        base_own = mean_f1(f1_own)
        print("\n## ablation: mean F1 change when a cue family or signal is left out (negative: it earns its place)\n")
        print(f"(b) baseline {base_b:.3f}; project training sets out of fold: baseline {base_own:.3f}\n")
        print("| left out | (b) mean F1 | " + " | ".join(f"(b) {c}" for c in COMPONENTS) + " | own sets mean F1 |")
        print("| --- | --- | " + " | ".join("---" for _ in COMPONENTS) + " | --- |")
        drops = [(f"cue:{f.id}", f"cue family `{f.id}`") for f in families()] + [(s, f"signal `{s}*`") for s in SIGNALS]
        for key, name in drops:
            f1 = F.presence_f1(real, F.cross_validate(own, real, args.folds, drop=(key,), **fargs))
            f1o = F.presence_f1(own, F.cross_validate([], own, args.folds, drop=(key,), **fargs))
            print(f"| {name} | {mean_f1(f1) - base_b:+.3f} | "
                  + " | ".join(f"{f1[c][2] - f1_b[c][2]:+.2f}" for c in COMPONENTS)
                  + f" | {mean_f1(f1o) - base_own:+.3f} |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
