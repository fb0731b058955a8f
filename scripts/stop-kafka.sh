#!/usr/bin/env bash
# Stops every node of the Kafka cluster started by scripts/install-kafka.sh, by the PIDs in its
# node-N/kafka.pid files. All nodes get SIGTERM at once (a controlled shutdown while the
# controller quorum is still there) and up to 20 s to exit; a node still running then is left to
# scripts/stop-pid.sh (SIGTERM, SIGKILL 5 s later).
# The log dirs are kept (topics survive); `--wipe` also deletes the cluster's node dirs, cluster
# id and settings. The resolved jars (.cache/kafka/libs, .cache/kafka/m2) are always kept.
# Honours GALLEY_KAFKA_DIR like install-kafka.sh.  Usage: stop-kafka.sh [--wipe]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
dir="${GALLEY_KAFKA_DIR:-$root/.cache/kafka}"
wipe=false
case "${1:-}" in
  '') ;;
  --wipe) wipe=true ;;
  *) echo "usage: stop-kafka.sh [--wipe]" >&2; exit 2 ;;
esac
[ -d "$dir" ] || { echo "No Kafka cluster under $dir; nothing to stop." >&2; exit 0; }
dir=$(cd "$dir" && pwd) # absolute, as install-kafka.sh wrote it into the node files

alive() { [ -d "/proc/$1" ] && ! grep -q '^State:[[:space:]]*Z' "/proc/$1/status" 2>/dev/null; }
pids=() pidfiles=()
for pidfile in "$dir"/node-*/kafka.pid; do
  [ -f "$pidfile" ] || continue
  pid=$(cat "$pidfile" 2>/dev/null || true)
  # Only a java process running this node's server.properties (guards against PID reuse).
  if [ -n "$pid" ] && [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = java ] && alive "$pid" &&
    tr '\0' '\n' <"/proc/$pid/cmdline" 2>/dev/null | grep -qxF "$(dirname "$pidfile")/server.properties"; then
    kill -TERM "$pid" 2>/dev/null || true
    pids+=("$pid") pidfiles+=("$pidfile")
  else
    echo "Kafka $(basename "$(dirname "$pidfile")") is not running." >&2
    rm -f "$pidfile"
  fi
done
deadline=$((SECONDS + 20))
for k in "${!pids[@]}"; do
  while alive "${pids[k]}" && [ "$SECONDS" -lt "$deadline" ]; do sleep 0.1; done
  node=$(basename "$(dirname "${pidfiles[k]}")")
  if alive "${pids[k]}"; then # still up after 20 s: stop-pid.sh escalates to SIGKILL
    "$root/scripts/stop-pid.sh" java "${pidfiles[k]}" "Kafka $node"
  else
    echo "Kafka $node (pid ${pids[k]}) stopped." >&2
    rm -f "${pidfiles[k]}"
  fi
done

if $wipe; then
  case "$dir" in / | "$root" | "$HOME") echo "Refusing to wipe $dir" >&2; exit 1 ;; esac
  rm -rf "$dir"/node-* "$dir/cluster.id" "$dir/cluster.env" "$dir/log4j2.properties"
  echo "Wiped the Kafka cluster state under $dir (jars kept)." >&2
fi
