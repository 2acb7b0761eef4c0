#!/usr/bin/env bash
# Entrypoint of the local PostgreSQL image (docker/postgres/Dockerfile): on an empty PGDATA,
# initdb with POSTGRES_USER as the bootstrap superuser (password POSTGRES_PASSWORD, scram) and
# create POSTGRES_DB and run /docker-entrypoint-initdb.d/*.sql in it, as the public postgres
# image does; then exec the command (postgres ...).
set -euo pipefail
: "${PGDATA:=/var/lib/postgresql/data}"
user=${POSTGRES_USER:-postgres}
db=${POSTGRES_DB:-$user}
if [[ ${1:-} == postgres && ! -s $PGDATA/PG_VERSION ]]; then
  [[ -n ${POSTGRES_PASSWORD:-} ]] || { echo "postgres: POSTGRES_PASSWORD must be set" >&2; exit 1; }
  pwfile=$(mktemp)
  printf '%s\n' "$POSTGRES_PASSWORD" >"$pwfile"
  initdb -D "$PGDATA" -U "$user" --pwfile="$pwfile" --auth-local=trust --auth-host=scram-sha-256 \
    -E UTF8 >/dev/null
  rm -f "$pwfile"
  printf "listen_addresses = '*'\n" >>"$PGDATA/postgresql.conf"
  printf 'host all all all scram-sha-256\nhost replication all all scram-sha-256\n' >>"$PGDATA/pg_hba.conf"
  pg_ctl -D "$PGDATA" -o "-c listen_addresses='' -c port=5432" -w start >/dev/null
  if [[ $db != postgres ]]; then
    psql -X -q -v ON_ERROR_STOP=1 -p 5432 -U "$user" -d postgres -c "CREATE DATABASE \"$db\""
  fi
  for f in /docker-entrypoint-initdb.d/*.sql; do
    [[ -f $f ]] || continue
    echo "postgres: running $f"
    psql -X -q -v ON_ERROR_STOP=1 -p 5432 -U "$user" -d "$db" -f "$f"
  done
  pg_ctl -D "$PGDATA" -m fast -w stop >/dev/null
  echo "postgres: initialised $PGDATA (user $user, database $db)"
fi
exec "$@"
