#!/usr/bin/env bash
# Stops the llama-server started by scripts/install-local-model.sh, by the PID in its pid file
# (SIGTERM, then SIGKILL after 5 s). Honours GALLEY_MODEL_DIR like the install script.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
dir="${GALLEY_MODEL_DIR:-$root/.cache/local-model}"
pidfile="$dir/llama-server.pid"

[ -f "$pidfile" ] || { echo "No model server pid file at $pidfile; nothing to stop." >&2; exit 0; }
pid=$(cat "$pidfile")
case "$pid" in '' | *[!0-9]*) echo "Bad pid file $pidfile; removing it." >&2; rm -f "$pidfile"; exit 0 ;; esac

# Only signal the PID if it is still llama-server (guards against PID reuse).
if kill -0 "$pid" 2>/dev/null && [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = "llama-server" ]; then
  kill "$pid" 2>/dev/null || true
  for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  if kill -0 "$pid" 2>/dev/null; then kill -9 "$pid" 2>/dev/null || true; fi
  echo "Model server $pid stopped." >&2
else
  echo "Model server $pid is not running." >&2
fi
rm -f "$pidfile"
