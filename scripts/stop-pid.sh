#!/usr/bin/env bash
# Stops a process started by one of the install scripts, by the PID in its pid file: SIGTERM,
# then SIGKILL after 5 s. Signals it only if /proc says it is still COMM (guards against PID
# reuse). Usage: stop-pid.sh COMM PIDFILE WHAT
set -euo pipefail
comm=$1 pidfile=$2 what=$3

[ -f "$pidfile" ] || { echo "No $what pid file at $pidfile; nothing to stop." >&2; exit 0; }
pid=$(cat "$pidfile")
case "$pid" in '' | *[!0-9]*) echo "Bad pid file $pidfile; removing it." >&2; rm -f "$pidfile"; exit 0 ;; esac

if kill -0 "$pid" 2>/dev/null && [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = "$comm" ]; then
  kill "$pid" 2>/dev/null || true
  for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  if kill -0 "$pid" 2>/dev/null; then kill -9 "$pid" 2>/dev/null || true; fi
  echo "$what $pid stopped." >&2
else
  echo "$what $pid is not running." >&2
fi
rm -f "$pidfile"
