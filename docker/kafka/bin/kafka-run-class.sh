#!/usr/bin/env bash
# kafka-run-class.sh CLASS [args]: runs a Kafka main class on the image's jars with the same
# variables as Kafka's own script (KAFKA_HEAP_OPTS, KAFKA_JVM_PERFORMANCE_OPTS, KAFKA_OPTS).
# Tools (every class but kafka.Kafka) log at WARN to stderr, as Kafka's tools-log4j does.
set -euo pipefail
class=${1:?usage: kafka-run-class.sh CLASS [args]}
shift
log=(-Dlog4j2.configurationFile=/opt/kafka/config/log4j2.xml)
if [[ $class != kafka.Kafka ]]; then
  log+=(-Dfreshcache.log.level=WARN -Dfreshcache.log.target=SYSTEM_ERR)
  : "${KAFKA_HEAP_OPTS:=-Xmx256m}"
fi
# shellcheck disable=SC2086 # the *_OPTS variables hold several words
exec java ${KAFKA_HEAP_OPTS:--Xmx1G -Xms1G} \
  ${KAFKA_JVM_PERFORMANCE_OPTS:--XX:+UseG1GC -XX:MaxGCPauseMillis=20 -Djava.awt.headless=true} \
  ${KAFKA_OPTS:-} "${log[@]}" -cp '/opt/kafka/libs/*' "$class" "$@"
