#!/usr/bin/env bash
# Controls ONE node of the Apache Kafka (KRaft) cluster that scripts/install-kafka.sh set up, for
# fault tests: the node is restarted on the same log dir with the same generated properties.
#
# Usage: kafka-node.sh COMMAND N        (N = node id, 1..GALLEY_KAFKA_NODES)
#   pid      print the node's PID if it is running (exit 1 if not)
#   stop     SIGTERM (controlled shutdown), wait up to 30 s, SIGKILL as a last resort
#   kill     SIGKILL (kill -9): an unclean crash, the log dir is recovered at the next start
#   start    start the node if it is not running, then wait until it answers a Kafka Metadata
#            request that lists it as a live broker (GALLEY_KAFKA_START_TIMEOUT s, default 60)
#   restart  stop, then start
# Used by install-kafka.sh (not meant for tests):
#   launch   start the node without waiting;  check  fail if it is not running and a foreign
#            process holds one of its ports;  ready [all]  exit 0 when the node answers a
#            Metadata request listing itself (or, with "all", every node of the cluster)
#
# Exit code 0 on success; otherwise a message (and the node's log tail) on stderr.
# Environment: GALLEY_KAFKA_DIR (default <repo>/.cache/kafka), GALLEY_KAFKA_START_TIMEOUT.
# Node N runs as `java @node-N/jvm.args kafka.Kafka node-N/server.properties`; its files are
# $GALLEY_KAFKA_DIR/node-N/{server.properties,jvm.args,kafka.pid,server.log,kafka.out,data/};
# the cluster's ports and java binary come from $GALLEY_KAFKA_DIR/cluster.env.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
dir="${GALLEY_KAFKA_DIR:-$root/.cache/kafka}"
cmd=${1:-} n=${2:-} scope=${3:-}
start_timeout_s="${GALLEY_KAFKA_START_TIMEOUT:-60}"
stop_timeout_s=30

die() { echo "kafka-node.sh: $*" >&2; exit 1; }
case "$cmd" in pid | stop | kill | start | restart | launch | ready | check) ;;
  *) die "usage: kafka-node.sh stop|kill|start|restart|pid N" ;;
esac
[ -f "$dir/cluster.env" ] || die "no cluster under $dir (run scripts/install-kafka.sh first)"
dir=$(cd "$dir" && pwd) # absolute, as install-kafka.sh wrote it into the node files
# shellcheck source=/dev/null
. "$dir/cluster.env" # KAFKA_NODES, KAFKA_JAVA, KAFKA_CLIENT_PORTS, KAFKA_CONTROLLER_PORTS
case "$n" in '' | *[!0-9]*) die "node id must be a number, got '$n'" ;; esac
[ "$n" -ge 1 ] && [ "$n" -le "$KAFKA_NODES" ] || die "node $n does not exist (cluster has $KAFKA_NODES)"
read -r -a client_ports <<<"$KAFKA_CLIENT_PORTS"
read -r -a controller_ports <<<"$KAFKA_CONTROLLER_PORTS"
nd="$dir/node-$n"
pidfile="$nd/kafka.pid"
client_port=${client_ports[$((n - 1))]}
controller_port=${controller_ports[$((n - 1))]}

# Print the PID when the pid file names a live (not zombie) java process running this node's
# server.properties; guards against PID reuse.
node_pid() {
  local pid
  pid=$(cat "$pidfile" 2>/dev/null) || return 1
  case "$pid" in '' | *[!0-9]*) return 1 ;; esac
  [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = java ] || return 1
  grep -q '^State:[[:space:]]*Z' "/proc/$pid/status" 2>/dev/null && return 1
  tr '\0' '\n' <"/proc/$pid/cmdline" 2>/dev/null | grep -qxF "$nd/server.properties" || return 1
  echo "$pid"
}

port_open() {
  python3 -c 'import socket,sys; socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=0.5).close()' "$1" 2>/dev/null
}

# Exit 0 when 127.0.0.1:$1 answers a Kafka Metadata (v1) request whose broker list contains
# 127.0.0.1:P for every further argument P. python3 stdlib only; 2 s socket timeout.
metadata_lists() {
  python3 - "$@" <<'PY'
import socket, struct, sys
port, want = int(sys.argv[1]), {("127.0.0.1", int(p)) for p in sys.argv[2:]}
def recv_exact(s, n):
    buf = b""
    while len(buf) < n:
        chunk = s.recv(n - len(buf))
        if not chunk:
            raise OSError("connection closed")
        buf += chunk
    return buf
try:
    with socket.create_connection(("127.0.0.1", port), timeout=2) as s:
        s.settimeout(2)
        client = b"galley-ready"
        # RequestHeader v1: api_key=3 (Metadata), api_version=1, correlation_id, client_id;
        # body: topics = [] (0) -> brokers only, no topic metadata.
        req = struct.pack(">hhih", 3, 1, 4242, len(client)) + client + struct.pack(">i", 0)
        s.sendall(struct.pack(">i", len(req)) + req)
        (size,) = struct.unpack(">i", recv_exact(s, 4))
        body = recv_exact(s, size)
    corr, nbrokers = struct.unpack_from(">ii", body, 0)
    off, brokers = 8, set()
    for _ in range(nbrokers):
        node, hlen = struct.unpack_from(">ih", body, off); off += 6
        host = body[off:off + hlen].decode(); off += hlen
        (bport, rlen) = struct.unpack_from(">ih", body, off); off += 6
        off += max(rlen, 0)
        brokers.add((host, bport))
    sys.exit(0 if corr == 4242 and want <= brokers else 3)
except (OSError, struct.error, UnicodeDecodeError):
    sys.exit(1)
PY
}

log_tail() {
  echo "--- tail of $nd/server.log ---" >&2; tail -n 30 "$nd/server.log" >&2 2>/dev/null || true
  echo "--- tail of $nd/kafka.out ---" >&2; tail -n 15 "$nd/kafka.out" >&2 2>/dev/null || true
}

# Wait (bounded) until PID $1 has exited; exit 0 if it did.
wait_gone() {
  local pid=$1 deadline=$((SECONDS + $2))
  while [ -d "/proc/$pid" ] && ! grep -q '^State:[[:space:]]*Z' "/proc/$pid/status" 2>/dev/null; do
    [ "$SECONDS" -lt "$deadline" ] || return 1
    sleep 0.1
  done
}

# Fail unless both of the node's ports are free (call only when the node is not running).
ports_free() {
  for p in "$client_port" "$controller_port"; do
    if port_open "$p"; then
      die "port $p (node $n) is taken by another process; stop it, or use another GALLEY_KAFKA_PORT and GALLEY_KAFKA_DIR"
    fi
  done
}

launch() {
  local pid
  if pid=$(node_pid); then echo "Kafka node $n already running (pid $pid)." >&2; return 0; fi
  rm -f "$pidfile"
  [ -f "$nd/jvm.args" ] || die "node $n is not set up under $dir (run scripts/install-kafka.sh)"
  [ -f "$nd/data/meta.properties" ] || die "node $n's log dir $nd/data is not formatted (run scripts/install-kafka.sh)"
  ports_free
  # setsid: the JVM gets its own session, so it outlives the test or shell that started it
  # (and a Ctrl-C there); its PID is the one in the pid file.
  setsid "$KAFKA_JAVA" "@$nd/jvm.args" kafka.Kafka "$nd/server.properties" </dev/null >"$nd/kafka.out" 2>&1 &
  echo $! >"$pidfile"
  echo "Started Kafka node $n (pid $!, client 127.0.0.1:$client_port, controller 127.0.0.1:$controller_port, log $nd/server.log)." >&2
}

ready() {
  if [ "$scope" = all ]; then metadata_lists "$client_port" "${client_ports[@]}"
  else metadata_lists "$client_port" "$client_port"; fi
}

start() {
  local t0=${EPOCHREALTIME/./} pid deadline us
  launch
  pid=$(cat "$pidfile")
  deadline=$((SECONDS + start_timeout_s))
  until ready; do
    if ! node_pid >/dev/null; then
      echo "Kafka node $n (pid $pid) exited during start-up." >&2; log_tail; rm -f "$pidfile"; exit 1
    fi
    if [ "$SECONDS" -ge "$deadline" ]; then
      echo "Kafka node $n did not answer on 127.0.0.1:$client_port within ${start_timeout_s}s (still running as pid $pid)." >&2
      log_tail; exit 1
    fi
    sleep 0.2
  done
  us=$((${EPOCHREALTIME/./} - t0))
  printf 'Kafka node %s ready on 127.0.0.1:%s (pid %s, %d.%ds).\n' "$n" "$client_port" "$pid" \
    $((us / 1000000)) $((us / 100000 % 10)) >&2
}

stop() {
  local pid
  pid=$(node_pid) || { echo "Kafka node $n is not running." >&2; rm -f "$pidfile"; return 0; }
  kill -TERM "$pid" 2>/dev/null || true
  if ! wait_gone "$pid" "$stop_timeout_s"; then
    echo "Kafka node $n (pid $pid) did not stop within ${stop_timeout_s}s of SIGTERM; sending SIGKILL." >&2
    kill -KILL "$pid" 2>/dev/null || true
    wait_gone "$pid" 5 || die "node $n (pid $pid) survived SIGKILL"
  fi
  rm -f "$pidfile"
  echo "Kafka node $n (pid $pid) stopped." >&2
}

kill9() {
  local pid
  pid=$(node_pid) || { echo "Kafka node $n is not running." >&2; rm -f "$pidfile"; return 0; }
  kill -KILL "$pid" 2>/dev/null || true
  wait_gone "$pid" 5 || die "node $n (pid $pid) survived SIGKILL"
  rm -f "$pidfile"
  echo "Kafka node $n (pid $pid) killed." >&2
}

case "$cmd" in
  pid) node_pid || { echo "Kafka node $n is not running." >&2; exit 1; } ;;
  check) node_pid >/dev/null || ports_free ;;
  stop) stop ;;
  kill) kill9 ;;
  start) start ;;
  restart) stop; start ;;
  launch) launch ;;
  ready) ready ;;
esac
