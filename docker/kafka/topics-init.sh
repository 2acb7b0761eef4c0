#!/usr/bin/env bash
# One-shot of docker-compose.yml (service kafka-topics-init): creates the freshcache topics that
# are missing (FRESHCACHE_KAFKA_PARTITIONS partitions, replication factor 1), then waits until
# every partition has a leader and answers ListOffsets(latest), as dev/kafka/KafkaReady.java does:
# an idempotent producer that sends right after the topics are created can lose its first batches
# on Kafka before 4.5 (KAFKA-15591), and waiting for ListOffsets avoids that.
set -euo pipefail
BOOTSTRAP=${BOOTSTRAP_SERVER:?BOOTSTRAP_SERVER must be host:port}
read -r -a TOPICS <<<"${FRESHCACHE_TOPICS:?FRESHCACHE_TOPICS must list the topics, space-separated}"
PARTITIONS=${FRESHCACHE_KAFKA_PARTITIONS:-6}
READY_TIMEOUT_S=${FRESHCACHE_READY_TIMEOUT_S:-60}
BIN=/opt/kafka/bin
# Short-lived tool JVMs: small and quick to start.
export KAFKA_HEAP_OPTS="-Xms32m -Xmx256m"
export KAFKA_JVM_PERFORMANCE_OPTS="-XX:TieredStopAtLevel=1 -XX:+UseSerialGC -Djava.awt.headless=true"

say() { printf 'kafka-topics-init: %s\n' "$*"; }
deadline=$((SECONDS + READY_TIMEOUT_S))
# retry WHAT CMD...: runs CMD until it succeeds or the deadline passes.
retry() {
  local what=$1 out
  shift
  until out=$("$@" 2>&1); do
    if ((SECONDS >= deadline)); then
      printf 'kafka-topics-init: error: timed out after %ss waiting for %s; last output:\n%s\n' \
        "$READY_TIMEOUT_S" "$what" "$out" >&2
      exit 1
    fi
    sleep 1
  done
}

for topic in "${TOPICS[@]}"; do
  retry "topic $topic to exist" "$BIN/kafka-topics.sh" --bootstrap-server "$BOOTSTRAP" --create \
    --if-not-exists --topic "$topic" --partitions "$PARTITIONS" --replication-factor 1
done

pattern=$(IFS='|'; printf '%s' "${TOPICS[*]//./\\.}")
leaders() {
  local unavailable
  unavailable=$("$BIN/kafka-topics.sh" --bootstrap-server "$BOOTSTRAP" --describe \
    --topic "^($pattern)\$" --unavailable-partitions) || return 1
  [[ -z $unavailable ]] || { printf '%s\n' "$unavailable"; return 1; }
}
retry "every partition to have a leader" leaders

expected=0
for topic in "${TOPICS[@]}"; do
  count=$("$BIN/kafka-topics.sh" --bootstrap-server "$BOOTSTRAP" --describe --topic "$topic" \
    | grep -c 'Partition: ' || true)
  ((count == PARTITIONS)) || say "warning: $topic exists with $count partitions, not $PARTITIONS (left as is)"
  expected=$((expected + count))
done
offsets() {
  local out lines
  out=$("$BIN/kafka-get-offsets.sh" --bootstrap-server "$BOOTSTRAP" --topic "^($pattern)\$" --time latest) || return 1
  lines=$(grep -c ':' <<<"$out" || true)
  ((lines == expected)) || { printf 'ListOffsets answered for %s of %s partitions\n' "$lines" "$expected"; return 1; }
}
retry "ListOffsets(latest) to answer for $expected partitions" offsets
say "topics ready: ${TOPICS[*]} ($PARTITIONS partitions, replication factor 1)"
