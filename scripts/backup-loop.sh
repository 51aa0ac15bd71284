#!/bin/sh
# Scheduler for a plain long-running container: runs backup.sh now and then every
# BACKUP_INTERVAL_SECONDS (default 86400). A failed backup is logged and retried next interval;
# the loop itself keeps running. Stops promptly on SIGTERM (docker stop).
set -eu

log() { printf 'backup-loop: %s\n' "$*" >&2; }

interval="${BACKUP_INTERVAL_SECONDS:-86400}"
case "$interval" in '' | *[!0-9]*) log "ERROR: BACKUP_INTERVAL_SECONDS must be a positive integer"; exit 1 ;; esac
[ "$interval" -ge 1 ] || { log "ERROR: BACKUP_INTERVAL_SECONDS must be at least 1"; exit 1; }
backup="${BACKUP_SCRIPT:-$(dirname "$0")/backup.sh}"
[ -r "$backup" ] || { log "ERROR: cannot read $backup"; exit 1; }

child=""
stop() {
  log "stopping"
  [ -z "$child" ] || kill "$child" 2>/dev/null || true
  exit 0
}
trap stop INT TERM

log "running $backup every ${interval}s"
while :; do
  # In the background + wait, so a TERM is handled at once instead of after the child ends.
  sh "$backup" &
  child=$!
  if wait "$child"; then
    log "backup succeeded; next in ${interval}s"
  else
    log "backup FAILED (exit $?); next attempt in ${interval}s"
  fi
  sleep "$interval" &
  child=$!
  wait "$child" || true
  child=""
done
