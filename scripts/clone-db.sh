#!/bin/sh
# Copy one database into another with the privileges the program grants: dump the source as its own
# app role, restore into the target as the target's app role (restore.sh: extensions stay the
# admin's and must exist in the target; objects are recreated owned by the target role).
# Unlike CREATE DATABASE ... TEMPLATE, it works while other sessions are connected to the source
# and needs no ownership of the source database.
#
#   CLONE_SOURCE_URL   postgres://role:pw@host:port/db of the source (required)
#   target: DATABASE_URL, or PGHOST PGPORT PGUSER PGPASSWORD PGDATABASE (as restore.sh)
#   RESTORE_SCRIPT     path of restore.sh (default: next to this script)
set -eu

log() { printf 'clone: %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

[ -n "${CLONE_SOURCE_URL:-}" ] || die "set CLONE_SOURCE_URL to the source database's URL"
restore="${RESTORE_SCRIPT:-$(dirname "$0")/restore.sh}"
[ -r "$restore" ] || die "cannot read $restore"

tmp="$(mktemp "${TMPDIR:-/tmp}/twinstack-clone.XXXXXX")"
trap 'rm -f "$tmp"' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

log "dumping the source database"
# pg_dump reads one consistent snapshot; it takes only ACCESS SHARE locks, so the source's own
# sessions keep working.
pg_dump --format=custom --no-password --file="$tmp" --dbname="$CLONE_SOURCE_URL" || die "pg_dump of the source failed"
sh "$restore" "$tmp" || die "restoring into the target failed; the target is unchanged"
log "clone complete"
