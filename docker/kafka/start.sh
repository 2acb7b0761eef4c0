#!/usr/bin/env bash
# Entrypoint of the kafka service in docker-compose.yml: formats the log dir once as a standalone
# KRaft quorum (dynamic quorum with controller.quorum.bootstrap.servers, like dev/stack; the
# image's own launcher formats without --standalone and needs a static controller.quorum.voters),
# then runs the broker with dev/stack's JVM settings. KAFKA_PORT and KAFKA_CONTROLLER_PORT, when
# set, move the listeners from the file's ports (9092, 9093) to those (a copy in /tmp).
set -euo pipefail
CONFIG=${KAFKA_CONFIG:-/etc/freshcache/kafka/server.properties}
if [[ ${KAFKA_PORT:-9092} != 9092 || ${KAFKA_CONTROLLER_PORT:-9093} != 9093 ]]; then
  sed -e "s/:9092\b/:${KAFKA_PORT:-9092}/g" -e "s/:9093\b/:${KAFKA_CONTROLLER_PORT:-9093}/g" \
    "$CONFIG" >/tmp/server.properties
  CONFIG=/tmp/server.properties
  echo "kafka: listeners on ports ${KAFKA_PORT:-9092} and ${KAFKA_CONTROLLER_PORT:-9093}"
fi
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
