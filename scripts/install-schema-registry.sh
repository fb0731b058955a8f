#!/usr/bin/env bash
# Installs and starts Apicurio Registry, a real Schema Registry serving the Confluent-compatible
# REST API (under /apis/ccompat/v7), on 127.0.0.1 for the interop test
# (tests/schema_registry_interop.rs). Storage is Apicurio's default, an in-memory H2 database:
# every start is an empty registry.
#
# The distribution is Maven Central's io.apicurio:apicurio-registry-app:VERSION:tar.gz:all,
# fetched with `mvn dependency:copy` into .cache/apicurio/m2 and unpacked under .cache/apicurio
# (nothing is cached outside the repo). Apicurio 3.1+ needs Java 21+: with one (JAVA_HOME, else
# the first of /usr/lib/jvm/*, else java on PATH) version 3.3.3 runs; with only Java 17, 3.0.9.
#
# Idempotent: a registry already answering on the port is reused. Everything is logged to
# stderr; the last line of stdout is SCHEMA_REGISTRY_URL=http://127.0.0.1:PORT/apis/ccompat/v7.
#
# Environment:
#   GALLEY_APICURIO_PORT     API port (default 18081; the management port is the next one)
#   GALLEY_APICURIO_VERSION  Apicurio version (default: 3.3.3 on Java 21+, 3.0.9 on Java 17)
#   JAVA_HOME                JVM to run it with
# Stop with scripts/stop-schema-registry.sh.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
cache="$root/.cache/apicurio"
port="${GALLEY_APICURIO_PORT:-18081}"
die() { echo "install-schema-registry.sh: $*" >&2; exit 1; }
case "$port" in '' | *[!0-9]*) die "GALLEY_APICURIO_PORT must be a number, got '$port'" ;; esac
url="http://127.0.0.1:$port/apis/ccompat/v7"
mkdir -p "$cache"

if curl -fs -o /dev/null "$url/subjects"; then
  echo "Schema registry already answering at $url." >&2
  echo "SCHEMA_REGISTRY_URL=$url"
  exit 0
fi

spec() { "$1" -XshowSettings:properties -version 2>&1 | sed -n 's/^ *java.specification.version = //p' | cut -d. -f1; }
java=""
for j in ${JAVA_HOME:+"$JAVA_HOME/bin/java"} /usr/lib/jvm/*/bin/java "$(command -v java || true)"; do
  [ -x "$j" ] || continue
  s=$(spec "$j")
  [ "${s:-0}" -ge 21 ] 2>/dev/null && { java=$j; break; }
  [ -z "$java" ] && [ "${s:-0}" -ge 17 ] 2>/dev/null && java=$j
done
[ -n "$java" ] || die "no Java 17+ found; install a JDK or set JAVA_HOME"
default_version=3.0.9
[ "$(spec "$java")" -ge 21 ] && default_version=3.3.3
version="${GALLEY_APICURIO_VERSION:-$default_version}"
dist="$cache/apicurio-registry-$version"

if [ ! -d "$dist" ]; then
  command -v mvn >/dev/null || die "mvn is needed once to fetch Apicurio Registry (apt-get install maven)"
  exec 9>"$cache/.resolve.lock"
  flock -w 600 9 || die "timed out waiting for another run fetching Apicurio Registry"
  if [ ! -d "$dist" ]; then
    echo "Fetching Apicurio Registry $version from Maven Central..." >&2
    timeout 900 mvn -B -q -Dmaven.repo.local="$cache/m2" dependency:copy \
      -Dartifact="io.apicurio:apicurio-registry-app:$version:tar.gz:all" -Dmdep.useBaseVersion=true \
      -DoutputDirectory="$cache" >"$cache/mvn.log" 2>&1 ||
      { tail -n 40 "$cache/mvn.log" >&2; die "fetching Apicurio Registry $version failed (all of it in $cache/mvn.log)"; }
    rm -rf "$dist.tmp" && mkdir -p "$dist.tmp"
    tar -xzf "$cache/apicurio-registry-app-$version-all.tar.gz" -C "$dist.tmp"
    rm -f "$cache/apicurio-registry-app-$version-all.tar.gz"
    mv "$dist.tmp" "$dist"
  fi
fi
# 3.1 and later ship Quarkus' fast-jar layout, 3.0 and earlier a runner jar.
jar=$(ls "$dist"/quarkus-run.jar "$dist"/*-runner.jar 2>/dev/null | head -n 1 || true)
[ -n "$jar" ] || die "no quarkus-run.jar or *-runner.jar in $dist"

log="$cache/registry.log"
# use-canonical-hash: a lookup matches a schema written with other whitespace or key order, as
# Confluent's registry does.
nohup "$java" -Xms64m -Xmx384m \
  -Dquarkus.http.host=127.0.0.1 -Dquarkus.http.port="$port" \
  -Dquarkus.management.host=127.0.0.1 -Dquarkus.management.port=$((port + 1)) \
  -Dapicurio.ccompat.use-canonical-hash=true \
  -jar "$jar" >"$log" 2>&1 &
pid=$!
echo "$pid" >"$cache/registry.pid"
for _ in $(seq 1 900); do
  if curl -fs -o /dev/null "$url/subjects"; then
    echo "Apicurio Registry $version (pid $pid, $java) answering at $url." >&2
    echo "SCHEMA_REGISTRY_URL=$url"
    exit 0
  fi
  kill -0 "$pid" 2>/dev/null || { tail -n 30 "$log" >&2; die "Apicurio Registry exited (log above, all of it in $log)"; }
  sleep 0.1
done
tail -n 30 "$log" >&2
die "Apicurio Registry did not answer within 90 s (log in $log)"
