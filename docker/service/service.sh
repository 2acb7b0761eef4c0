#!/usr/bin/env bash
# Entrypoint of the freshcache service images: exec's the JVM (so it is PID 1 and gets SIGTERM)
# with JAVA_OPTS and the module's jar, whose manifest names the main class and lib/.
set -euo pipefail
# shellcheck disable=SC2086 # JAVA_OPTS holds several flags
exec java ${JAVA_OPTS:-} -jar /opt/freshcache/app.jar "$@"
