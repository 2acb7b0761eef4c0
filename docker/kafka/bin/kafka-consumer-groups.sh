#!/usr/bin/env bash
# kafka-consumer-groups.sh of the local Kafka image: org.apache.kafka.tools.consumer.group.ConsumerGroupCommand on the image's jars.
exec "$(dirname "$0")/kafka-run-class.sh" org.apache.kafka.tools.consumer.group.ConsumerGroupCommand "$@"
