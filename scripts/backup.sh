#!/bin/sh
# One verified PostgreSQL backup with retention, for a scheduled container built on the
# Postgres image (its pg_dump/pg_restore).
#
#   connection  PGHOST PGPORT PGUSER PGPASSWORD PGDATABASE, or DATABASE_URL
#   BACKUP_DIR        where dumps live (required)
#   BACKUP_KEEP       how many good dumps to keep (default 7)
#   BACKUP_PREFIX     file name prefix, e.g. gigi_prod (default: $PGDATABASE)
#   BACKUP_TIMESTAMP  override of the UTC timestamp, YYYYMMDDTHHMMSSZ (tests)
#
# The dump goes to a hidden temp file, is checked with pg_restore --list, and only then renamed
# to <prefix>-<timestamp>.dump. Rotation runs only after a good dump exists, so a failed run
# removes nothing but its own temp file and exits non-zero.
set -eu
# Glob expansion sorts in the collation order: fixed-width timestamps sort by time under C.
LC_ALL=C
export LC_ALL

log() { printf 'backup: %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

: "${BACKUP_DIR:?BACKUP_DIR is required}"
keep="${BACKUP_KEEP:-7}"
prefix="${BACKUP_PREFIX:-${PGDATABASE:-}}"
stamp="${BACKUP_TIMESTAMP:-$(date -u +%Y%m%dT%H%M%SZ)}"

case "$keep" in '' | *[!0-9]*) die "BACKUP_KEEP must be a positive integer, got '$keep'" ;; esac
[ "$keep" -ge 1 ] || die "BACKUP_KEEP must be at least 1"
case "$prefix" in
  '') die "BACKUP_PREFIX (or PGDATABASE) is required" ;;
  *[!A-Za-z0-9_.-]*) die "BACKUP_PREFIX may only contain letters, digits, '_', '.', '-'" ;;
esac
case "$stamp" in
  [0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9]T[0-9][0-9][0-9][0-9][0-9][0-9]Z) ;;
  *) die "timestamp must look like YYYYMMDDTHHMMSSZ, got '$stamp'" ;;
esac
[ -d "$BACKUP_DIR" ] || die "BACKUP_DIR $BACKUP_DIR is not a directory"

final="$BACKUP_DIR/$prefix-$stamp.dump"
[ ! -e "$final" ] || die "$final already exists; refusing to overwrite it"

tmp="$(mktemp "$BACKUP_DIR/.$prefix-$stamp.partial.XXXXXX")"
# Whatever happens from here on, our own temp file goes away (after a rename it no longer exists).
trap 'rm -f "$tmp"' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

if [ -n "${DATABASE_URL:-}" ]; then
  log "dumping the database named in DATABASE_URL to $final"
  set -- --dbname="$DATABASE_URL"
else
  log "dumping database ${PGDATABASE:-?} on ${PGHOST:-local socket}:${PGPORT:-5432} as ${PGUSER:-?} to $final"
  set --
fi

pg_dump --format=custom --no-password --file="$tmp" "$@" || die "pg_dump failed; older dumps left untouched"
[ -s "$tmp" ] || die "pg_dump wrote an empty file; older dumps left untouched"
entries="$(pg_restore --list "$tmp")" || die "pg_restore --list cannot read the new dump; older dumps left untouched"
[ -n "$entries" ] || die "the new dump has an empty table of contents; older dumps left untouched"

mv -f "$tmp" "$final"
log "wrote $final ($(wc -c <"$final" | tr -d ' ') bytes)"

# Rotation: only complete dumps of this prefix count; temp files never match this pattern.
pattern="$prefix-[0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9]T[0-9][0-9][0-9][0-9][0-9][0-9]Z.dump"
count=0
for f in "$BACKUP_DIR"/$pattern; do
  [ -f "$f" ] && count=$((count + 1))
done
excess=$((count - keep))
for f in "$BACKUP_DIR"/$pattern; do
  [ "$excess" -gt 0 ] || break
  [ -f "$f" ] || continue
  log "rotating out $f (keeping the newest $keep)"
  rm -f -- "$f"
  excess=$((excess - 1))
done

# Temp files of runs killed hard (OOM, host reboot) would pile up: drop ours older than a day.
find "$BACKUP_DIR" -maxdepth 1 -type f -name ".$prefix-*.partial.*" -mmin +1440 -exec rm -f {} + 2>/dev/null || true
log "done: $((count < keep ? count : keep)) dump(s) of $prefix kept in $BACKUP_DIR"
