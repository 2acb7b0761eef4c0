#!/usr/bin/env bash
# kafka-console-consumer.sh of the local Kafka image: org.apache.kafka.tools.consumer.ConsoleConsumer on the image's jars.
exec "$(dirname "$0")/kafka-run-class.sh" org.apache.kafka.tools.consumer.ConsoleConsumer "$@"
