"""Write the two data files made from starcoach's own TOML files, or check that they are current.

    python scripts/build_data.py [--check]

* ``src/starcoach/judge/readings.json``: what ``judge.heads.read`` tells of each pattern the
  judge's scanner counts (the pronoun and tense counts and the cue families not anchored to a
  sentence's start, of every language in judge/cues/), and of each family's alternatives.
  Stale after a cue pattern changes; tests/test_scan.py fails until it is rebuilt.
* ``src/starcoach/parsed_toml.txt``: each TOML file shipped with starcoach (the built-in
  question banks, company profiles and follow-up templates, the cue families, question concepts
  and value themes), already parsed (``starcoach.tomlfiles``).  Stale after any of those files
  changes (until then that file is parsed at every start, only slower); tests/test_banks.py
  fails until it is rebuilt.

Run it after changing any of those files; a changed cue family also needs
``scripts/fit_judge.py``.  ``--check`` compares with the files on disk instead of
writing them (exit 1 when one differs).
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

from starcoach import tomlfiles  # noqa: E402
from starcoach.judge.cues import CUES_DIR, families  # noqa: E402
from starcoach.judge.heads import read  # noqa: E402
from starcoach.judge.pipeline import read_patterns  # noqa: E402
from starcoach.judge.readings import READINGS_PATH, to_json  # noqa: E402


def languages() -> list[str]:
    """The languages with cue families: judge/cues/LANG.toml (concepts_LANG.toml is other data)."""
    return sorted(p.stem for p in CUES_DIR.glob("*.toml") if "_" not in p.stem)


def readings_text() -> str:
    readings: dict[str, dict] = {}
    for lang in languages():
        for source in read_patterns(families(lang)):
            readings[source] = to_json(read(re.compile(source)))
    about = ("What judge.heads.read tells of each pattern the scanner counts; written by "
             "scripts/build_data.py, do not edit.")
    # One pattern a line: small, and a change to one pattern is a change to one line.
    lines = [f"{json.dumps(k, ensure_ascii=False)}: {json.dumps(v, ensure_ascii=False)}"
             for k, v in sorted(readings.items())]
    return '{"about": ' + json.dumps(about) + ',\n"readings": {\n' + ",\n".join(lines) + "\n}}\n"


#: Each data file and what it should hold now.
BUILDS = ((READINGS_PATH, readings_text), (tomlfiles.PARSED_PATH, tomlfiles.build))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--check", action="store_true", help="compare with the files on disk; exit 1 if one differs")
    check = ap.parse_args().check
    stale = 0
    for path, build in BUILDS:
        text = build()
        if check:
            same = path.exists() and path.read_text(encoding="utf-8") == text
            stale += not same
            print(f"{path.name}: {'up to date' if same else 'out of date: run scripts/build_data.py'}")
        else:
            path.write_text(text, encoding="utf-8")
            print(f"wrote {path}")
    return 1 if stale else 0


if __name__ == "__main__":
    raise SystemExit(main())
