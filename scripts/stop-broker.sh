#!/usr/bin/env bash
# Stops the broker started by install-broker.sh, by its PID.
set -euo pipefail
pidfile="$(cd "$(dirname "$0")/.." && pwd)/.cache/broker/tansu.pid"
if [ -f "$pidfile" ]; then
  pid=$(cat "$pidfile")
  if kill "$pid" 2>/dev/null; then
    for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null || true
    echo "Broker $pid stopped."
  fi
  rm -f "$pidfile"
fi
