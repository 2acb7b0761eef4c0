#!/usr/bin/env bash
# HEALTHCHECK of the freshcache service images: GET /health/live on the service's own HTTP port
# (cache-writer: WRITER_HTTP_PORT, default 8081; cdc-ingest: CDC_HTTP_PORT, default 8082) with
# bash's /dev/tcp, so the image needs neither curl nor wget. Healthy on HTTP 200.
set -uo pipefail
case ${FRESHCACHE_SERVICE:-} in
  cache-writer) port=${WRITER_HTTP_PORT:-8081} ;;
  cdc-ingest) port=${CDC_HTTP_PORT:-8082} ;;
  *) echo "healthcheck: FRESHCACHE_SERVICE is '${FRESHCACHE_SERVICE:-}', not cache-writer or cdc-ingest" >&2; exit 1 ;;
esac
((port > 0)) || { echo "healthcheck: HTTP is off (port 0), nothing to probe"; exit 0; }
exec 3<>"/dev/tcp/127.0.0.1/$port" || { echo "healthcheck: nothing listens on port $port"; exit 1; }
printf 'GET /health/live HTTP/1.0\r\nHost: localhost\r\n\r\n' >&3
IFS= read -r -t 2 status <&3 || { echo "healthcheck: no answer on port $port"; exit 1; }
echo "healthcheck: ${status%$'\r'}"
[[ $status == *" 200"* ]]
