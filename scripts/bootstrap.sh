#!/usr/bin/env bash
# Sets up everything starcoach needs on a Debian machine, and does nothing
# that is already done (safe to run again): the system packages for audio,
# speech and PortAudio; a virtual environment in .venv; the project in it.
set -euo pipefail
cd "$(dirname "$0")/.."

SYSTEM_PACKAGES=(python3-venv libportaudio2 libsndfile1 espeak-ng alsa-utils sox tmux chromium)

missing=()
for p in "${SYSTEM_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "starcoach setup: installing system packages: ${missing[*]}" >&2
  SUDO=""
  if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
fi

PY=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  echo "starcoach setup: creating .venv" >&2
  "$PY" -m venv .venv
fi

# Reinstall only when the project's metadata changed since the last install.
stamp=.venv/.starcoach-installed
want=$(sha256sum pyproject.toml | cut -d' ' -f1)
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  echo "starcoach setup: installing the project into .venv (first time takes a minute)" >&2
  .venv/bin/python -m pip install -q --upgrade pip >&2
  .venv/bin/python -m pip install -q -e ".[test]" >&2
  echo "$want" > "$stamp"
fi
