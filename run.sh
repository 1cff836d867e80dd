#!/usr/bin/env bash
# Set up (first time only) and start a practice session.
# Any arguments are passed to `starcoach practice`, e.g. ./run.sh --company amazon
# With no microphone on this machine, a recorded example answer is played
# through the whole loop instead (`starcoach practice --demo`).
set -euo pipefail
cd "$(dirname "$0")"
bash scripts/bootstrap.sh
if ! .venv/bin/python -c "import sys; from starcoach.capture.portaudio import list_devices; \
sys.exit(0 if any(d.inputs for d in list_devices()) else 1)" 2>/dev/null; then
  echo "No microphone found: showing the demo (a recorded answer plays the candidate)." >&2
  exec .venv/bin/starcoach practice --demo "$@"
fi
exec .venv/bin/starcoach practice "$@"
