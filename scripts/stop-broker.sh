#!/usr/bin/env bash
# Stops the broker started by scripts/install-broker.sh, by the PID in its pid file.
# Honours GALLEY_BROKER_DIR like install-broker.sh.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
exec "$root/scripts/stop-pid.sh" tansu "${GALLEY_BROKER_DIR:-$root/.cache/broker}/tansu.pid" Broker
