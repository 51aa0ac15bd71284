#!/bin/sh
# Restore a custom-format dump made by backup.sh into the target database.
#
#   restore.sh <dumpfile>
#   target: DATABASE_URL, or PGHOST PGPORT PGUSER PGPASSWORD PGDATABASE (PGDATABASE required)
#   RESTORE_LOCK_TIMEOUT  how long to wait for a table other sessions hold (default 60s)
#
# Existing objects of the dump are dropped and recreated (--clean --if-exists) in one
# transaction: on any error the target is left as it was.
#
# It runs as the env's app role, which owns the database and its tables but not its extensions:
# those are created by the admin (postgres.extensions), and only their owner may drop or comment
# on them ("must be owner of extension"). So the dump's EXTENSION entries (and their COMMENTs) are
# left out of the restore list, and every extension the dump has must already exist in the target.
set -eu

log() { printf 'restore: %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

[ "$#" -eq 1 ] || { log "usage: restore.sh <dumpfile>"; exit 2; }
file="$1"
[ -f "$file" ] || die "no such dump file: $file"
[ -r "$file" ] || die "cannot read $file"
toc="$(mktemp)"
trap 'rm -f "$toc" "$toc.all"' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
pg_restore --list "$file" >"$toc.all" || die "$file is not a readable pg_dump custom-format archive"

if [ -n "${DATABASE_URL:-}" ]; then
  target="the database named in DATABASE_URL"
  set -- --dbname="$DATABASE_URL"
else
  [ -n "${PGDATABASE:-}" ] || die "set PGDATABASE (or DATABASE_URL) to name the target database explicitly"
  target="database $PGDATABASE on ${PGHOST:-local socket}:${PGPORT:-5432} as ${PGUSER:-?}"
  set -- --dbname="$PGDATABASE"
fi

# TOC lines look like "3; 3079 16385 EXTENSION - pg_trgm" and "4250; 0 0 COMMENT - EXTENSION pg_trgm".
extension_entry='^[0-9]+; [0-9]+ [0-9]+ (EXTENSION - |COMMENT - EXTENSION )'
grep -v -E "$extension_entry" "$toc.all" >"$toc" || true
wanted="$(grep -E '^[0-9]+; [0-9]+ [0-9]+ EXTENSION - ' "$toc.all" | awk '{print $6}' | sort -u)"
if [ -n "$wanted" ]; then
  present="$(psql -X -q -t -A --no-password "$@" -c 'SELECT extname FROM pg_extension')" \
    || die "cannot list the extensions of $target"
  for ext in $wanted; do
    printf '%s\n' "$present" | grep -qx -- "$ext" \
      || die "the dump needs extension $ext, which $target lacks: add it to postgres.extensions and run pulumi up (the admin creates it), then restore again"
  done
  log "extensions $(printf '%s' "$wanted" | tr '\n' ' ')are the admin's and present in the target: not dropped or recreated"
fi

log "restoring $file into $target"
log "pg_restore --clean --if-exists --no-owner --single-transaction --exit-on-error (objects in the dump are dropped and recreated)"
# A session holding a table must not stall the restore forever: fail (and roll back) instead.
PGOPTIONS="${PGOPTIONS:-} -c lock_timeout=${RESTORE_LOCK_TIMEOUT:-60s}"
export PGOPTIONS
pg_restore --clean --if-exists --no-owner --single-transaction --exit-on-error --no-password \
  --use-list="$toc" "$@" "$file" \
  || die "pg_restore failed; the transaction was rolled back and the target is unchanged"
log "restore of $file complete"
