#!/usr/bin/env bash
# kafka-storage.sh of the local Kafka image: kafka.tools.StorageTool on the image's jars.
exec "$(dirname "$0")/kafka-run-class.sh" kafka.tools.StorageTool "$@"
