#!/usr/bin/env bash
# Stops the llama-server started by scripts/install-local-model.sh, by the PID in its pid file.
# Honours GALLEY_MODEL_DIR like the install script.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
exec "$root/scripts/stop-pid.sh" llama-server "${GALLEY_MODEL_DIR:-$root/.cache/local-model}/llama-server.pid" "Model server"
