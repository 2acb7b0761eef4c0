#!/usr/bin/env bash
# Entrypoint of the kafka service in docker-compose.yml: formats the log dir once as a standalone
# KRaft quorum (dynamic quorum with controller.quorum.bootstrap.servers, like dev/stack; the
# image's own launcher formats without --standalone and needs a static controller.quorum.voters),
# then runs the broker with dev/stack's JVM settings.
set -euo pipefail
CONFIG=${KAFKA_CONFIG:-/etc/freshcache/kafka/server.properties}
DATA=$(sed -n 's/^log\.dirs=//p' "$CONFIG")
BIN=/opt/kafka/bin

if [[ ! -f $DATA/meta.properties ]]; then
  id=$("$BIN/kafka-storage.sh" random-uuid)
  "$BIN/kafka-storage.sh" format --config "$CONFIG" --cluster-id "$id" --standalone
  echo "kafka: storage $DATA formatted (cluster id $id)"
fi
export KAFKA_HEAP_OPTS=${KAFKA_HEAP_OPTS:--Xms128m -Xmx512m}
export KAFKA_OPTS="${KAFKA_OPTS:-} -XX:+ExitOnOutOfMemoryError"
exec "$BIN/kafka-server-start.sh" "$CONFIG"
