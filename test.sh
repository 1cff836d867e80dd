#!/usr/bin/env bash
# Set up (first time only) and run the whole test suite. Arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")"
bash scripts/bootstrap.sh --test
# Python writes its bytecode cache as it does by default, even where the environment turns that
# off: the tests start about a hundred Python processes, and each would otherwise compile the
# program's modules again (the privacy audit turns it off for the runs it traces).
unset PYTHONDONTWRITEBYTECODE
.venv/bin/ruff check --quiet src tests benchmarks
exec .venv/bin/python -m pytest "$@"
