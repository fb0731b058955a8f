#!/usr/bin/env bash
# The project's test command: starts Apache Kafka (scripts/install-kafka.sh: one KRaft node for
# the suite, and a three-node cluster for the replication and fault tests), the local model
# (scripts/install-local-model.sh), a real Schema Registry (Apicurio's Confluent-compatible API,
# scripts/install-schema-registry.sh) for the interop test, makes the Python baseline's venv
# for the bench test (scripts/bench/setup.sh, quick when done), runs every test — unit, embedded-broker,
# real-broker and real-model (feature kafka-it) — and stops what it started.
set -euo pipefail
cd "$(dirname "$0")/.."

stops=()
cleanup() { for s in "${stops[@]}"; do eval "$s" || true; done; }
trap cleanup EXIT

# A cluster under DIR is "ours to stop" only when this run started it.
single=$PWD/.cache/kafka cluster=$PWD/.cache/kafka-cluster
GALLEY_KAFKA_DIR=$single scripts/kafka-node.sh pid 1 >/dev/null 2>&1 ||
  stops+=("GALLEY_KAFKA_DIR=$single scripts/stop-kafka.sh")
GALLEY_KAFKA_DIR=$cluster scripts/kafka-node.sh pid 1 >/dev/null 2>&1 ||
  stops+=("GALLEY_KAFKA_DIR=$cluster scripts/stop-kafka.sh")
# The single node first: it resolves the jars the cluster shares; then the cluster.
out=$(GALLEY_KAFKA_DIR=$single GALLEY_KAFKA_SECURE=1 scripts/install-kafka.sh)
echo "$out"
export KAFKA_HOST="${out##*KAFKA_HOST=}" KAFKA_DIR=$single
out=$(GALLEY_KAFKA_DIR=$cluster GALLEY_KAFKA_PORT=9700 GALLEY_KAFKA_NODES=3 scripts/install-kafka.sh)
echo "$out"
export KAFKA_CLUSTER_HOST="${out##*KAFKA_HOST=}" KAFKA_CLUSTER_DIR=$cluster

[ -f .cache/local-model/llama-server.pid ] && kill -0 "$(cat .cache/local-model/llama-server.pid)" 2>/dev/null ||
  stops+=(scripts/stop-local-model.sh)
out=$(scripts/install-local-model.sh)
echo "$out"
export GALLEY_MODEL_URL="${out##*GALLEY_MODEL_URL=}"

[ -f .cache/apicurio/registry.pid ] && kill -0 "$(cat .cache/apicurio/registry.pid)" 2>/dev/null ||
  stops+=(scripts/stop-schema-registry.sh)
out=$(scripts/install-schema-registry.sh)
echo "$out"
export SCHEMA_REGISTRY_URL="${out##*SCHEMA_REGISTRY_URL=}"

scripts/bench/setup.sh

if cargo nextest --version >/dev/null 2>&1; then
  cargo nextest run --features kafka-it --no-fail-fast "$@"
else
  cargo test --features kafka-it --no-fail-fast "$@"
fi
