#!/usr/bin/env bash
# Set up (first time only) and start a practice session.
# Any arguments are passed to `starcoach practice`, e.g. ./run.sh --company amazon
set -euo pipefail
cd "$(dirname "$0")"
bash scripts/bootstrap.sh
exec .venv/bin/starcoach practice "$@"
