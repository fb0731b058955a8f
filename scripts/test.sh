#!/usr/bin/env bash
# The project's test command: starts the real broker (scripts/install-broker.sh), runs every test
# — unit, embedded-broker and real-broker (feature kafka-it) — and stops the broker it started.
set -euo pipefail
cd "$(dirname "$0")/.."

pidfile=.cache/broker/tansu.pid
already_running=no
if [ -f "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null; then already_running=yes; fi
out=$(scripts/install-broker.sh)
echo "$out"
export KAFKA_HOST="${out##*KAFKA_HOST=}"
if [ "$already_running" = no ]; then trap 'scripts/stop-broker.sh' EXIT; fi

if cargo nextest --version >/dev/null 2>&1; then
  cargo nextest run --features kafka-it --no-fail-fast "$@"
else
  cargo test --features kafka-it --no-fail-fast "$@"
fi
