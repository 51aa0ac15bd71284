#!/bin/sh
# Restore a custom-format dump made by backup.sh into the target database.
#
#   restore.sh <dumpfile>
#   target: DATABASE_URL, or PGHOST PGPORT PGUSER PGPASSWORD PGDATABASE (PGDATABASE required)
#
# Existing objects of the dump are dropped and recreated (--clean --if-exists) in one
# transaction: on any error the target is left as it was.
set -eu

log() { printf 'restore: %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

[ "$#" -eq 1 ] || { log "usage: restore.sh <dumpfile>"; exit 2; }
file="$1"
[ -f "$file" ] || die "no such dump file: $file"
[ -r "$file" ] || die "cannot read $file"
pg_restore --list "$file" >/dev/null || die "$file is not a readable pg_dump custom-format archive"

if [ -n "${DATABASE_URL:-}" ]; then
  target="the database named in DATABASE_URL"
  set -- --dbname="$DATABASE_URL"
else
  [ -n "${PGDATABASE:-}" ] || die "set PGDATABASE (or DATABASE_URL) to name the target database explicitly"
  target="database $PGDATABASE on ${PGHOST:-local socket}:${PGPORT:-5432} as ${PGUSER:-?}"
  set -- --dbname="$PGDATABASE"
fi

log "restoring $file into $target"
log "pg_restore --clean --if-exists --no-owner --single-transaction --exit-on-error (objects in the dump are dropped and recreated)"
pg_restore --clean --if-exists --no-owner --single-transaction --exit-on-error --no-password "$@" "$file" \
  || die "pg_restore failed; the transaction was rolled back and the target is unchanged"
log "restore of $file complete"
