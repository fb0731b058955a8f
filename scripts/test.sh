#!/usr/bin/env bash
# The project's test command: starts the real broker (scripts/install-broker.sh) and the local
# model (scripts/install-local-model.sh), makes the Python baseline's venv for the bench test
# (scripts/bench/setup.sh, quick when done), runs every test — unit, embedded-broker, real-broker
# and real-model (feature kafka-it) — and stops what it started.
set -euo pipefail
cd "$(dirname "$0")/.."

running() { [ -f "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }
stops=()
cleanup() { for s in "${stops[@]}"; do "$s" || true; done; }
trap cleanup EXIT

running .cache/broker/tansu.pid || stops+=(scripts/stop-broker.sh)
out=$(scripts/install-broker.sh)
echo "$out"
export KAFKA_HOST="${out##*KAFKA_HOST=}"

running .cache/local-model/llama-server.pid || stops+=(scripts/stop-local-model.sh)
out=$(scripts/install-local-model.sh)
echo "$out"
export GALLEY_MODEL_URL="${out##*GALLEY_MODEL_URL=}"

scripts/bench/setup.sh

if cargo nextest --version >/dev/null 2>&1; then
  cargo nextest run --features kafka-it --no-fail-fast "$@"
else
  cargo test --features kafka-it --no-fail-fast "$@"
fi
