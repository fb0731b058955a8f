#!/usr/bin/env bash
# Stops the Apicurio Registry started by scripts/install-schema-registry.sh, by its pid file.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
exec "$root/scripts/stop-pid.sh" java "$root/.cache/apicurio/registry.pid" "Schema registry"
