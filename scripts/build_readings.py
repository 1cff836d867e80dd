"""Write src/starcoach/judge/readings.json: what ``judge.heads.read`` tells of each pattern the
judge's scanner counts (the pronoun and tense counts and the cue families not anchored to a
sentence's start, of every language in judge/cues/), and of each family's alternatives.

    python scripts/build_readings.py [--check]

Run it after changing a cue pattern.  ``--check`` compares with the file on disk instead
of writing it (exit 1 when they differ); tests/test_scan.py checks the same.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

from starcoach.judge.cues import CUES_DIR, families  # noqa: E402
from starcoach.judge.heads import READINGS_PATH, read, to_json  # noqa: E402
from starcoach.judge.pipeline import read_patterns  # noqa: E402


def languages() -> list[str]:
    """The languages with cue families: judge/cues/LANG.toml (concepts_LANG.toml is other data)."""
    return sorted(p.stem for p in CUES_DIR.glob("*.toml") if "_" not in p.stem)


def build() -> str:
    readings: dict[str, dict] = {}
    for lang in languages():
        for source in read_patterns(families(lang)):
            readings[source] = to_json(read(re.compile(source)))
    doc = {"about": "What judge.heads.read tells of each pattern the scanner counts; written by "
                    "scripts/build_readings.py, do not edit.",
           "readings": dict(sorted(readings.items()))}
    # One pattern a line: small, and a change to one pattern is a change to one line.
    lines = [f"{json.dumps(k, ensure_ascii=False)}: {json.dumps(v, ensure_ascii=False)}" for k, v in doc["readings"].items()]
    return ('{"about": ' + json.dumps(doc["about"]) + ',\n"readings": {\n' + ",\n".join(lines) + "\n}}\n")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--check", action="store_true", help="compare with the file on disk; exit 1 if it differs")
    text = build()
    if ap.parse_args().check:
        same = READINGS_PATH.exists() and READINGS_PATH.read_text(encoding="utf-8") == text
        print(f"{READINGS_PATH.name}: {'up to date' if same else 'out of date: run scripts/build_readings.py'}")
        return 0 if same else 1
    READINGS_PATH.write_text(text, encoding="utf-8")
    print(f"wrote {READINGS_PATH} ({len(json.loads(text)['readings'])} patterns)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
