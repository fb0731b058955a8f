#!/usr/bin/env bash
# Installs and starts Apache Kafka itself (KRaft mode, no ZooKeeper) on 127.0.0.1 for the
# integration tests: one combined broker+controller node, or three (each broker AND controller,
# a static controller quorum of three) for the replication/fault tests.
#
# The broker jars are resolved once from Maven Central with scripts/kafka/pom.xml into
# .cache/kafka/libs (Maven repository .cache/kafka/m2; both shared by every cluster, nothing is
# cached outside the repo), and run as `java -cp 'libs/*' kafka.Kafka node-N/server.properties`.
# Needs Java 17+ (JAVA_HOME/bin/java, else java on PATH), mvn (first run only) and python3.
#
# Idempotent: a log dir is formatted (kafka.tools.StorageTool format) only once, so topics and
# offsets survive restarts; nodes still running from an earlier run are reused; a foreign
# process on one of the ports is refused. Waits until every node answers a Kafka Metadata request
# listing all N brokers. Everything is logged to stderr; the last line of stdout is
# KAFKA_HOST=127.0.0.1:9092 (one node) or KAFKA_HOST=127.0.0.1:9092,127.0.0.1:9192,127.0.0.1:9292.
#
# Ports, for base port P: node i (1..N) listens for clients on P+100*(i-1) and for the controller
# quorum on P+10000+100*(i-1) (P=9092: clients 9092/9192/9292, controllers 19092/19192/19292).
# A second cluster needs another GALLEY_KAFKA_DIR and a P that avoids those, e.g. 9500.
#
# Environment:
#   GALLEY_KAFKA_NODES          1 (default) or 3
#   GALLEY_KAFKA_PORT           base client port P (default 9092)
#   GALLEY_KAFKA_DIR            cluster state dir (default <repo>/.cache/kafka): node-N/{data/,
#                               server.properties,jvm.args,kafka.pid,server.log,kafka.out}
#   GALLEY_KAFKA_VERSION        Kafka version (default 4.4.0; 4.0.0 and later)
#   GALLEY_KAFKA_START_TIMEOUT  seconds to wait for the cluster (default 90)
#   GALLEY_KAFKA_SECURE         1: node i also listens with SASL_SSL on P+1+100*(i-1) (SCRAM-SHA-256
#                               and -512 user "galley", PLAIN user "galley"; SCRAM-SHA-256
#                               sessions re-authenticate every 5 s), with mTLS (SSL,
#                               client certificate required) on P+2+100*(i-1) and with SASL_SSL
#                               OAUTHBEARER on P+3+100*(i-1) (JWTs of the test key); the test PKI
#                               (scripts/kafka-tls.sh) and the password are in DIR/tls, the
#                               addresses in DIR/secure.env
#   JAVA_HOME                   JVM to run Kafka with
# Stop with scripts/stop-kafka.sh; control one node with scripts/kafka-node.sh.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
dir="${GALLEY_KAFKA_DIR:-$root/.cache/kafka}"
nodes="${GALLEY_KAFKA_NODES:-1}"
port="${GALLEY_KAFKA_PORT:-9092}"
version="${GALLEY_KAFKA_VERSION:-4.4.0}"
start_timeout_s="${GALLEY_KAFKA_START_TIMEOUT:-90}"
secure="${GALLEY_KAFKA_SECURE:-0}"
cache="$root/.cache/kafka" # jars + Maven repository, whatever GALLEY_KAFKA_DIR is
libs="$cache/libs"
node_sh="$root/scripts/kafka-node.sh"
t0=${EPOCHREALTIME/./}
# Seconds since the script started, with one decimal (EPOCHREALTIME is in microseconds).
elapsed() { local us=$((${EPOCHREALTIME/./} - t0)); printf '%d.%ds' $((us / 1000000)) $((us / 100000 % 10)); }

die() { echo "install-kafka.sh: $*" >&2; exit 1; }
case "$nodes" in 1 | 3) ;; *) die "GALLEY_KAFKA_NODES must be 1 or 3, got '$nodes'" ;; esac
case "$port" in '' | *[!0-9]*) die "GALLEY_KAFKA_PORT must be a number, got '$port'" ;; esac
[ "$port" -ge 1024 ] && [ "$port" -le 55000 ] || die "GALLEY_KAFKA_PORT must be in 1024..55000"
case "$secure" in 0 | 1) ;; *) die "GALLEY_KAFKA_SECURE must be 0 or 1, got '$secure'" ;; esac
[[ "$version" =~ ^[0-9]+\.[0-9]+\.[0-9]+$ ]] || die "GALLEY_KAFKA_VERSION must look like 4.4.0"
java="${JAVA_HOME:+$JAVA_HOME/bin/}java"
command -v "$java" >/dev/null || die "no java ($java); install a JDK 17+ or set JAVA_HOME"
java=$(command -v "$java")
java_spec=$("$java" -XshowSettings:properties -version 2>&1 | sed -n 's/^ *java.specification.version = //p')
[ "${java_spec%%.*}" -ge 17 ] 2>/dev/null || die "Kafka $version needs Java 17+, $java is '$java_spec'"
mkdir -p "$dir" "$cache"
dir=$(cd "$dir" && pwd) # absolute: it goes into the generated files

# 1. Resolve the jars (once per version). The lock keeps two concurrent runs from racing.
if [ "$(cat "$libs/.version" 2>/dev/null)" != "$version" ]; then
  exec 9>"$cache/.resolve.lock"
  flock -w 600 9 || die "timed out waiting for another run resolving the Kafka jars"
  if [ "$(cat "$libs/.version" 2>/dev/null)" != "$version" ]; then
    command -v mvn >/dev/null || die "mvn is needed once to fetch the Kafka jars (apt-get install maven)"
    echo "Resolving Apache Kafka $version from Maven Central into $libs (first run only)..." >&2
    rm -rf "$libs.tmp"
    if ! timeout 900 mvn -B -q -f "$root/scripts/kafka/pom.xml" \
      -Dmaven.repo.local="$cache/m2" -Dkafka.version="$version" \
      dependency:copy-dependencies -DincludeScope=runtime -DoutputDirectory="$libs.tmp" \
      >"$cache/mvn.log" 2>&1; then
      tail -n 40 "$cache/mvn.log" >&2; rm -rf "$libs.tmp"
      die "resolving Kafka $version with Maven failed (output above; all of it in $cache/mvn.log)"
    fi
    [ -f "$libs.tmp/kafka_2.13-$version.jar" ] || die "Maven did not produce kafka_2.13-$version.jar"
    echo "$version" >"$libs.tmp/.version"
    rm -rf "$libs"; mv "$libs.tmp" "$libs"
    echo "Resolved $(ls "$libs"/*.jar | wc -l) jars ($(du -sh "$libs" | cut -f1)) in $(elapsed)." >&2
  fi
  exec 9>&-
fi

# 2. Cluster layout. A dir formatted for another node count or port is refused, not mixed.
client_ports=() controller_ports=() voters=()
for i in $(seq 1 "$nodes"); do
  client_ports+=($((port + 100 * (i - 1))))
  controller_ports+=($((port + 10000 + 100 * (i - 1))))
  voters+=("$i@127.0.0.1:${controller_ports[i - 1]}")
done
if [ -f "$dir/cluster.env" ] && ls "$dir"/node-*/data/meta.properties >/dev/null 2>&1; then
  old=$(grep -E '^KAFKA_(NODES|PORT)=' "$dir/cluster.env" | tr '\n' ' ')
  if [ "$old" != "KAFKA_NODES=$nodes KAFKA_PORT=$port " ]; then
    die "$dir holds a cluster made with ${old% } (now KAFKA_NODES=$nodes KAFKA_PORT=$port); stop and wipe it with scripts/stop-kafka.sh --wipe, or use another GALLEY_KAFKA_DIR"
  fi
fi
# The cluster id: a random Kafka Uuid in its base64 form, not starting with "-" (as Kafka's own).
[ -s "$dir/cluster.id" ] || python3 -c 'import base64, uuid
s = "-"
while s[0] == "-": s = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
print(s)' >"$dir/cluster.id"
cat >"$dir/cluster.env" <<EOF
KAFKA_NODES=$nodes
KAFKA_PORT=$port
KAFKA_VERSION=$version
KAFKA_JAVA='$java'
KAFKA_CLIENT_PORTS='${client_ports[*]}'
KAFKA_CONTROLLER_PORTS='${controller_ports[*]}'
EOF
cat >"$dir/log4j2.properties" <<'EOF'
# Kafka's log4j2 settings for the test cluster: INFO to node-N/server.log, at most 3 x 20 MB.
status = warn
appender.file.type = RollingFile
appender.file.name = FILE
appender.file.fileName = ${sys:kafka.logs.dir}/server.log
appender.file.filePattern = ${sys:kafka.logs.dir}/server.log.%i
appender.file.layout.type = PatternLayout
appender.file.layout.pattern = [%d] %p %m (%c)%n
appender.file.policies.type = Policies
appender.file.policies.size.type = SizeBasedTriggeringPolicy
appender.file.policies.size.size = 20MB
appender.file.strategy.type = DefaultRolloverStrategy
appender.file.strategy.max = 2
rootLogger.level = INFO
rootLogger.appenderRef.file.ref = FILE
logger.request.name = kafka.request.logger
logger.request.level = WARN
EOF

# Secured listeners: the PKI first (kept while valid), then per-node listener settings.
tls="$dir/tls"
if [ "$secure" = 1 ]; then
  "$root/scripts/kafka-tls.sh" "$tls"
  scram_password=$(cat "$tls/scram.password")
fi
# The listener lines of node $1 (1-based).
listener_props() {
  local p=${client_ports[$1 - 1]} c=${controller_ports[$1 - 1]}
  if [ "$secure" = 0 ]; then
    cat <<EOF
listeners=PLAINTEXT://127.0.0.1:$p,CONTROLLER://127.0.0.1:$c
advertised.listeners=PLAINTEXT://127.0.0.1:$p
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
EOF
    return
  fi
  cat <<EOF
listeners=PLAINTEXT://127.0.0.1:$p,CONTROLLER://127.0.0.1:$c,SASL_SSL://127.0.0.1:$((p + 1)),SSL://127.0.0.1:$((p + 2)),OAUTH://127.0.0.1:$((p + 3))
advertised.listeners=PLAINTEXT://127.0.0.1:$p,SASL_SSL://127.0.0.1:$((p + 1)),SSL://127.0.0.1:$((p + 2)),OAUTH://127.0.0.1:$((p + 3))
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT,SASL_SSL:SASL_SSL,SSL:SSL,OAUTH:SASL_SSL
# Secured listeners (GALLEY_KAFKA_SECURE=1): SCRAM users live in the cluster metadata (added by
# install-kafka.sh), the PLAIN user here; TLS from the test PKI in $tls; mTLS on SSL.
sasl.enabled.mechanisms=SCRAM-SHA-256,SCRAM-SHA-512,PLAIN
listener.name.sasl_ssl.scram-sha-256.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required;
listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required;
listener.name.sasl_ssl.plain.sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required user_galley="$scram_password";
# SCRAM-SHA-256 sessions last 5 s, then the client must re-authenticate (KIP-368), as a broker
# that enforces credential rotation does: a password changed mid-run is refused within seconds.
listener.name.sasl_ssl.scram-sha-256.connections.max.reauth.ms=5000
ssl.keystore.type=PEM
ssl.keystore.location=$tls/broker-keystore.pem
ssl.truststore.type=PEM
ssl.truststore.location=$tls/ca.pem
listener.name.ssl.ssl.client.auth=required
# OAUTHBEARER on OAUTH: JWTs signed by the test identity provider, validated against its JWKS file.
listener.name.oauth.sasl.enabled.mechanisms=OAUTHBEARER
listener.name.oauth.oauthbearer.sasl.jaas.config=org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginModule required;
listener.name.oauth.oauthbearer.sasl.server.callback.handler.class=org.apache.kafka.common.security.oauthbearer.OAuthBearerValidatorCallbackHandler
sasl.oauthbearer.jwks.endpoint.url=file://$tls/oidc-jwks.json
sasl.oauthbearer.expected.audience=galley-test
sasl.oauthbearer.expected.issuer=galley-test-idp
EOF
}

# Heap for a 2-core 24 GB machine shared with the tests: 768 MB for one node, 512 MB each for
# three. G1 with short pauses as in Kafka's own kafka-run-class.sh; C1 only
# (TieredStopAtLevel=1) starts the JVMs faster on 2 cores (see the report); a JVM that runs out
# of memory exits instead of limping on.
if [ "$nodes" = 1 ]; then heap=768m min_isr=1; else heap=512m min_isr=2; fi
for i in $(seq 1 "$nodes"); do
  nd="$dir/node-$i"
  mkdir -p "$nd/data"
  cat >"$nd/server.properties" <<EOF
# Generated by scripts/install-kafka.sh; rewritten on every run.
process.roles=broker,controller
node.id=$i
controller.quorum.voters=$(IFS=,; echo "${voters[*]}")
$(listener_props "$i")
inter.broker.listener.name=PLAINTEXT
controller.listener.names=CONTROLLER
log.dirs=$nd/data
# Replication: every topic, internal ones too, on all N nodes; acks=all needs $min_isr in sync.
num.partitions=1
default.replication.factor=$nodes
min.insync.replicas=$min_isr
offsets.topic.replication.factor=$nodes
transaction.state.log.replication.factor=$nodes
transaction.state.log.min.isr=$min_isr
share.coordinator.state.topic.replication.factor=$nodes
share.coordinator.state.topic.min.isr=$min_isr
# 10 partitions instead of 50 for __consumer_offsets/__transaction_state: created faster.
offsets.topic.num.partitions=10
transaction.state.log.num.partitions=10
auto.create.topics.enable=true
# Groups: no 3 s wait for more members before the first rebalance; allow the short session
# timeouts the tests use (3 s; the default floor is 6 s); KIP-848 consumer groups heartbeat
# every second and evict a dead member after 10 s instead of 45 s.
group.initial.rebalance.delay.ms=0
group.min.session.timeout.ms=1000
group.consumer.min.heartbeat.interval.ms=500
group.consumer.heartbeat.interval.ms=1000
group.consumer.min.session.timeout.ms=3000
group.consumer.session.timeout.ms=10000
# Transactions: abort a transaction past its transaction.timeout.ms within 1 s, not 10 s.
transaction.abort.timed.out.transaction.cleanup.interval.ms=1000
# Faults: a killed node is fenced (dropped from ISR and leadership) after 4 s, not 9 s.
broker.heartbeat.interval.ms=1000
broker.session.timeout.ms=4000
# Leadership moves only when a test causes it, never by a 5-minute background rebalance.
auto.leader.rebalance.enable=false
# Small footprint: 16 MB segments, a 32 MB compaction buffer (default 128 MB), fewer threads.
log.segment.bytes=16777216
log.cleaner.dedupe.buffer.size=33554432
num.network.threads=2
num.io.threads=4
EOF
  cat >"$nd/jvm.args" <<EOF
-Xms256m
-Xmx$heap
-XX:+UseG1GC
-XX:MaxGCPauseMillis=20
-XX:InitiatingHeapOccupancyPercent=35
-XX:+ExplicitGCInvokesConcurrent
-XX:TieredStopAtLevel=1
-XX:+ExitOnOutOfMemoryError
-Djava.awt.headless=true
-Dlog4j2.configurationFile="$dir/log4j2.properties"
-Dkafka.logs.dir="$nd"
$([ "$secure" = 1 ] && printf '%s\n' "-Dorg.apache.kafka.sasl.oauthbearer.allowed.urls=file://$tls/oidc-jwks.json" "-Dorg.apache.kafka.sasl.oauthbearer.allowed.files=$tls/oidc-jwks.json")
-cp
"$libs/*"
EOF
done

# Refuse before formatting or starting anything if a foreign process holds a port of a node.
export GALLEY_KAFKA_DIR="$dir"
for i in $(seq 1 "$nodes"); do "$node_sh" check "$i"; done

# 3. Format each log dir that is not formatted yet (in parallel: one JVM start each).
fmt_pids=() fmt_nodes=()
for i in $(seq 1 "$nodes"); do
  nd="$dir/node-$i"
  [ -f "$nd/data/meta.properties" ] && continue
  echo "Formatting $nd/data (cluster id $(cat "$dir/cluster.id"))..." >&2
  "$java" -Xmx256m -XX:TieredStopAtLevel=1 -Dlog4j2.configurationFile="$dir/log4j2.properties" \
    -Dkafka.logs.dir="$nd" -cp "$libs/*" kafka.tools.StorageTool format \
    -t "$(cat "$dir/cluster.id")" -c "$nd/server.properties" >"$nd/format.out" 2>&1 &
  fmt_pids+=($!) fmt_nodes+=("$i")
done
for k in "${!fmt_pids[@]}"; do
  if ! wait "${fmt_pids[k]}"; then
    cat "$dir/node-${fmt_nodes[k]}/format.out" >&2
    die "formatting node ${fmt_nodes[k]} failed (output above)"
  fi
done

# 4. Start the nodes that are not running, all at once (kafka-node.sh refuses a foreign process
#    on a port; if one node cannot start, the ones started here are killed again).
started=() launchers=()
for i in $(seq 1 "$nodes"); do
  if pid=$("$node_sh" pid "$i" 2>/dev/null); then
    echo "Kafka node $i already running (pid $pid)." >&2
  else
    "$node_sh" launch "$i" & launchers+=($!) started+=("$i")
  fi
done
abort() {
  for s in "${started[@]}"; do "$node_sh" kill "$s" >/dev/null 2>&1 || true; done
  [ "${#started[@]}" -eq 0 ] || echo "Killed the node(s) this run started: ${started[*]}." >&2
  exit 1
}
for l in "${launchers[@]}"; do wait "$l" || abort; done

# 5. Wait (bounded) until every node answers and lists all N brokers.
fail() {
  echo "Kafka node $1 $2; log follows (stop the cluster with scripts/stop-kafka.sh):" >&2
  tail -n 40 "$dir/node-$1/server.log" "$dir/node-$1/kafka.out" >&2 2>/dev/null || true
  abort
}
deadline=$((SECONDS + start_timeout_s))
for i in $(seq 1 "$nodes"); do
  until "$node_sh" ready "$i" all; do
    "$node_sh" pid "$i" >/dev/null 2>&1 || fail "$i" "exited during start-up"
    [ "$SECONDS" -lt "$deadline" ] || fail "$i" "did not list all $nodes brokers within ${start_timeout_s}s"
    sleep 0.2
  done
done

# 6. Secured: the SCRAM user (once per log dir; SCRAM credentials live in the cluster metadata,
#    so they are added through a running broker), and where the tests find the listeners.
if [ "$secure" = 1 ]; then
  marker="$dir/node-1/data/.galley-scram"
  if [ "$(cat "$marker" 2>/dev/null)" != "$scram_password" ]; then
    # One mechanism per request: the broker refuses two credentials of a user in one.
    for mechanism in SCRAM-SHA-256 SCRAM-SHA-512; do
      "$java" -Xmx256m -XX:TieredStopAtLevel=1 -Dlog4j2.configurationFile="$dir/log4j2.properties" \
        -Dkafka.logs.dir="$dir/node-1" -cp "$libs/*" org.apache.kafka.tools.ConfigCommand \
        --bootstrap-server "127.0.0.1:${client_ports[0]}" --alter --entity-type users --entity-name galley \
        --add-config "$mechanism=[password=$scram_password]" >"$dir/scram.out" 2>&1 || {
        cat "$dir/scram.out" >&2; echo "install-kafka.sh: adding the $mechanism user failed (output above)" >&2; abort
      }
    done
    echo "$scram_password" >"$marker"
  fi
  sasl_hosts=() mtls_hosts=() oauth_hosts=()
  for p in "${client_ports[@]}"; do
    sasl_hosts+=("127.0.0.1:$((p + 1))") mtls_hosts+=("127.0.0.1:$((p + 2))") oauth_hosts+=("127.0.0.1:$((p + 3))")
  done
  cat >"$dir/secure.env" <<EOF
KAFKA_SASL_SSL_HOST=$(IFS=,; echo "${sasl_hosts[*]}")
KAFKA_MTLS_HOST=$(IFS=,; echo "${mtls_hosts[*]}")
KAFKA_OAUTH_HOST=$(IFS=,; echo "${oauth_hosts[*]}")
KAFKA_TLS_DIR=$tls
KAFKA_SCRAM_USER=galley
EOF
fi
echo "Kafka $version ready: $nodes node(s) under $dir in $(elapsed)." >&2
echo "KAFKA_HOST=$(printf '127.0.0.1:%s,' "${client_ports[@]}" | sed 's/,$//')"
