#!/usr/bin/env bash
# Set up (first time only) and run the whole test suite. Arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")"
bash scripts/bootstrap.sh --test
# Python writes its bytecode cache as it does by default, even where the environment turns that
# off: the tests start about a hundred Python processes, and each would otherwise compile the
# program's modules again (the privacy audit turns it off for the runs it traces).
unset PYTHONDONTWRITEBYTECODE
# The tests' scratch folders (pytest's tmp_path, and the temp folder of every command they start)
# on the RAM disk where there is one with room, unless TMPDIR says where: the tests commit to
# SQLite and flush WAVs hundreds of times, and each fsync on a disk waits for the device.
if [ -z "${TMPDIR:-}" ] && [ -d /dev/shm ] && [ -w /dev/shm ] \
   && [ "$(df -Pk /dev/shm 2>/dev/null | awk 'NR == 2 {print $4}')" -ge 2097152 ] 2>/dev/null; then
  export TMPDIR=/dev/shm
fi
.venv/bin/ruff check --quiet src tests benchmarks
# With no arguments, the whole suite in parallel (pytest-xdist): one worker per core and one more,
# because the tests that feed speech to the virtual microphone in real time mostly wait on the clock
# (they are marked `realtime` and start first, tests/conftest.py). Each test file stays on one
# worker, so its fixtures are made once. STARCOACH_TEST_WORKERS=1 runs it in one process;
# with arguments, they go to pytest as they are (add `-n 3` for a parallel run).
if [ "$#" -eq 0 ]; then
  workers=${STARCOACH_TEST_WORKERS:-$(( $(nproc 2>/dev/null || echo 1) + 1 ))}
  case "$workers" in
    ''|*[!0-9]*|0) echo "test.sh: STARCOACH_TEST_WORKERS must be a whole number of workers, 1 or more: '$workers'" >&2; exit 2 ;;
  esac
  [ "$workers" -gt 8 ] && workers=8
  if [ "$workers" -gt 1 ]; then
    set -- -n "$workers" --dist loadfile --no-loadscope-reorder
  fi
fi
exec .venv/bin/python -m pytest "$@"
