#!/usr/bin/env bash
# Entrypoint of the twinstack-e2e postgres stand-in. Behaves like the official image's
# docker-entrypoint.sh (docker-library/postgres, documented at https://hub.docker.com/_/postgres)
# for what twinstack uses; written from that documented behaviour, not copied:
#   - `postgres ...` (or only flags) starts the server; any other command is exec'd as is
#     (the backup job runs `/bin/sh <script>` with this image).
#   - As root: create PGDATA and /var/run/postgresql, chown them to postgres, re-exec as postgres
#     with gosu.
#   - Empty PGDATA (no PG_VERSION): initdb with POSTGRES_USER (default postgres) as superuser and
#     POSTGRES_PASSWORD as its password (required unless POSTGRES_HOST_AUTH_METHOD=trust),
#     POSTGRES_INITDB_ARGS passed on; `host all all all <password_encryption>` (scram-sha-256 on
#     15) appended to pg_hba.conf; a socket-only temporary server creates POSTGRES_DB (default
#     POSTGRES_USER) and runs /docker-entrypoint-initdb.d/* in sorted order (*.sh executed when
#     executable, else sourced; *.sql through psql; *.sql.gz too); then it stops.
#   - *_FILE variants (POSTGRES_PASSWORD_FILE, ...) read the value from a file (Docker secrets).
set -Eeo pipefail

log() { printf 'docker-entrypoint: %s\n' "$*" >&2; }

from_file() {
  local var="$1" default="${2:-}" file_var="${1}_FILE"
  if [ -n "${!var:-}" ] && [ -n "${!file_var:-}" ]; then
    log "error: both $var and $file_var are set (they are exclusive)"
    exit 1
  fi
  local value="$default"
  if [ -n "${!var:-}" ]; then
    value="${!var}"
  elif [ -n "${!file_var:-}" ]; then
    value="$(<"${!file_var}")"
  fi
  export "$var"="$value"
  unset "$file_var"
}

run_sql() {
  # Over the socket of the temporary server, as the new superuser.
  PGHOST='' PGHOSTADDR='' psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --no-password --no-psqlrc "$@"
}

run_init_files() {
  local f
  for f in /docker-entrypoint-initdb.d/*; do
    [ -e "$f" ] || continue
    case "$f" in
      *.sh)
        if [ -x "$f" ]; then
          log "running $f"
          "$f"
        else
          log "sourcing $f"
          # shellcheck disable=SC1090 # user-supplied init script
          . "$f"
        fi
        ;;
      *.sql) log "running $f"; run_sql --dbname "$POSTGRES_DB" -f "$f" ;;
      *.sql.gz) log "running $f"; gunzip -c "$f" | run_sql --dbname "$POSTGRES_DB" ;;
      *) log "ignoring $f" ;;
    esac
  done
}

initialise() {
  if [ -z "$POSTGRES_PASSWORD" ] && [ "$POSTGRES_HOST_AUTH_METHOD" != trust ]; then
    log "error: the database is uninitialised and POSTGRES_PASSWORD is not set (or set POSTGRES_HOST_AUTH_METHOD=trust)"
    exit 1
  fi
  ls /docker-entrypoint-initdb.d/ >/dev/null
  local pwfile
  pwfile="$(mktemp)"
  printf '%s\n' "$POSTGRES_PASSWORD" >"$pwfile"
  # shellcheck disable=SC2086 # POSTGRES_INITDB_ARGS is a word list, as in the official image
  initdb --username="$POSTGRES_USER" --pwfile="$pwfile" $POSTGRES_INITDB_ARGS
  rm -f "$pwfile"

  local method="$POSTGRES_HOST_AUTH_METHOD"
  [ -n "$method" ] || method="$(postgres -C password_encryption "${@:2}")"
  printf '\nhost all all all %s\n' "$method" >>"$PGDATA/pg_hba.conf"

  export PGPASSWORD="${PGPASSWORD:-$POSTGRES_PASSWORD}"
  # Temporary server: socket only, so nothing connects over TCP before init is done.
  PGUSER="${PGUSER:-$POSTGRES_USER}" pg_ctl -D "$PGDATA" -w start -o "-c listen_addresses='' -p ${PGPORT:-5432}"
  if [ -z "$(run_sql --dbname postgres --set db="$POSTGRES_DB" --tuples-only <<<"SELECT 1 FROM pg_database WHERE datname = :'db'")" ]; then
    run_sql --dbname postgres --set db="$POSTGRES_DB" <<<'CREATE DATABASE :"db"'
  fi
  run_init_files
  PGUSER="${PGUSER:-$POSTGRES_USER}" pg_ctl -D "$PGDATA" -m fast -w stop
  unset PGPASSWORD
  log "PostgreSQL init process complete; ready for start up."
}

if [ "${1:0:1}" = - ]; then set -- postgres "$@"; fi

if [ "$1" = postgres ]; then
  from_file POSTGRES_PASSWORD
  from_file POSTGRES_USER postgres
  from_file POSTGRES_DB "$POSTGRES_USER"
  from_file POSTGRES_INITDB_ARGS
  : "${POSTGRES_HOST_AUTH_METHOD:=}"
  export POSTGRES_HOST_AUTH_METHOD

  if [ "$(id -u)" = 0 ]; then
    mkdir -p "$PGDATA"
    chmod 0700 "$PGDATA" || :
    mkdir -p /var/run/postgresql
    chmod 3775 /var/run/postgresql || :
    find "$PGDATA" /var/run/postgresql \! -user postgres -exec chown postgres: {} +
    exec gosu postgres "${BASH_SOURCE[0]}" "$@"
  fi

  if [ -s "$PGDATA/PG_VERSION" ]; then
    log "PostgreSQL database directory appears to contain a database; skipping initialization"
  else
    initialise "$@"
  fi
fi

exec "$@"
