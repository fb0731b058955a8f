#!/usr/bin/env bash
# Creates the virtualenv of the Python baseline (scripts/bench/quality.py) under
# <repo>/.cache/bench-venv and installs the pinned requirements into it.
#
# Idempotent and quick when done: the venv is kept, and pip runs again only when
# requirements.txt changed since the last install (its hash is stored in the venv).
# The last line printed on success is GALLEY_BENCH_PYTHON=<path of the venv's python>.
#
# Environment:
#   GALLEY_BENCH_PYTHON_BIN  interpreter to build the venv with (default: python3.11, else python3)
set -euo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
venv="$root/.cache/bench-venv"
req="$root/scripts/bench/requirements.txt"
stamp="$venv/.requirements.sha256"

base="${GALLEY_BENCH_PYTHON_BIN:-}"
if [ -z "$base" ]; then
  if command -v python3.11 >/dev/null 2>&1; then base=python3.11; else base=python3; fi
fi
# tomllib (the rules file) needs Python 3.11.
"$base" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)' ||
  { echo "$base is older than Python 3.11; set GALLEY_BENCH_PYTHON_BIN to a 3.11+ interpreter" >&2; exit 2; }

if [ ! -x "$venv/bin/python" ]; then
  # Debian's python3 needs python3-venv for ensurepip; say so instead of leaving a broken venv.
  "$base" -m venv "$venv" || { rm -rf "$venv"; echo "creating $venv failed (Debian: apt-get install python3-venv)" >&2; exit 1; }
fi
want=$(sha256sum "$req" | cut -d' ' -f1)
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check --requirement "$req"
  echo "$want" > "$stamp"
fi
echo "GALLEY_BENCH_PYTHON=$venv/bin/python"
