# shellcheck shell=bash
# Shared by tests/e2e/engine.sh and tests/e2e/lab/lab.sh (sourced, not run): logging, the Docker
# client, run directories, process lookup and the claims of a 10.N.0.0/16 per engine or lab.
# The sourcing script sets LOG_NAME (its prefix in log lines) and DIR_VAR (the environment
# variable that names its run dir by default).

# Claims of a 10.N.0.0/16 by running engines and labs, so two started at once never pick the same.
CLAIMS=/run/twinstack-e2e-nets

log() { printf '%s: %s\n' "$LOG_NAME" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

docker_cli() {
  # The 20.10 client matches the daemons; a newer client negotiates the API version down.
  if [ -x /usr/bin/docker ]; then /usr/bin/docker "$@"; else docker "$@"; fi
}

# The run dir: the argument, else $DIR_VAR; absolute, without a trailing slash. Fails when neither is set.
run_dir() {
  local dir="${1:-${!DIR_VAR:-}}"
  [ -n "$dir" ] || return 1
  case "$dir" in /*) ;; *) dir="$PWD/$dir" ;; esac
  printf '%s\n' "${dir%/}"
}

# PIDs whose command line mentions DIR/ (dockerd, containerd, shims, docker-proxy, sshd), but not
# this script or its caller. The needle goes to grep through a file, so grep never matches itself.
pids_of_dir() {
  local f p
  while IFS= read -r f; do
    p="${f#/proc/}"
    p="${p%/cmdline}"
    [ "$p" = "$$" ] || [ "$p" = "$PPID" ] || printf '%s\n' "$p"
  done < <(grep -alF -f <(printf '%s/\n' "$1") /proc/[0-9]*/cmdline 2>/dev/null || true)
}

# Waits up to SECONDS for every PID to be gone; fails if one is still alive then.
wait_gone() {
  local deadline=$((SECONDS + $1)) p alive
  shift
  while :; do
    alive=""
    for p in "$@"; do kill -0 "$p" 2>/dev/null && alive="$alive $p"; done
    [ -n "$alive" ] || return 0
    [ "$SECONDS" -lt "$deadline" ] || return 1
    sleep 0.5
  done
}

# Claims a 10.N.0.0/16 that no route or address on this machine touches and no other engine or lab
# has claimed, for OWNER (a run dir); prints N. The claim is $CLAIMS/10.N (owner inside).
claim_net() {
  local owner="$1" tries=0 candidate
  mkdir -p "$CLAIMS"
  while [ "$tries" -lt 100 ]; do
    tries=$((tries + 1))
    candidate=$((RANDOM % 180 + 60))
    ip -4 route show | grep -qE "^10\.$candidate\." && continue
    ip -4 addr show | grep -qE "inet 10\.$candidate\." && continue
    mkdir "$CLAIMS/10.$candidate" 2>/dev/null || continue
    printf '%s\n' "$owner" >"$CLAIMS/10.$candidate/owner"
    printf '%s\n' "$candidate"
    return 0
  done
  return 1
}

# Unmounts everything mounted under DIR/ (overlay layers, netns bind mounts, shm), deepest first.
umount_under() {
  local m
  while IFS= read -r m; do
    [ -n "$m" ] || continue
    umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null || log "could not unmount $m"
  done < <(awk -v d="$1/" 'index($2, d) == 1 { print $2 }' /proc/self/mounts | sort -r)
}
