#!/usr/bin/env bash
# kafka-server-start.sh of the local Kafka image: kafka.Kafka on the image's jars.
exec "$(dirname "$0")/kafka-run-class.sh" kafka.Kafka "$@"
