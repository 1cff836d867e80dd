"""Write src/starcoach/parsed_toml.txt: each TOML file shipped with starcoach (the built-in
question banks, company profiles and follow-up templates, the cue families, question concepts
and value themes), already parsed, so that starting the program does not parse them again.

    python scripts/build_parsed_toml.py [--check]

Run it after changing any of those files (until then they are parsed as before, only slower).
``--check`` compares with the file on disk instead of writing it (exit 1 when they differ);
tests/test_banks.py checks the same.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

from starcoach.tomlfiles import PARSED_PATH, build, shipped_files  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--check", action="store_true", help="compare with the file on disk; exit 1 if it differs")
    text = build()
    if ap.parse_args().check:
        same = PARSED_PATH.exists() and PARSED_PATH.read_text(encoding="utf-8") == text
        print(f"{PARSED_PATH.name}: {'up to date' if same else 'out of date: run scripts/build_parsed_toml.py'}")
        return 0 if same else 1
    PARSED_PATH.write_text(text, encoding="utf-8")
    print(f"wrote {PARSED_PATH} ({len(shipped_files())} files)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
