#!/usr/bin/env bash
# A private Docker engine for the e2e tests: one dockerd (Debian's docker.io, 20.10) with its own
# data root, exec root, socket, pidfile, bridge, address pool and cgroup parent, all under one run
# directory, so several engines (other test runs, other users of this machine) coexist with it.
# It installs nothing: .ci/run installs docker.io, iptables and debootstrap.
#
#   engine.sh start [DIR]   start a daemon in DIR (default: $TWINSTACK_E2E_DIR, else a new
#                           mktemp dir); prints `export DOCKER_HOST=...` lines for eval
#   engine.sh status [DIR]  exit 0 when that daemon answers
#   engine.sh stop [DIR]    stop exactly that daemon (TERM, then KILL after a timeout), its
#                           containerd/shims and containers, undo its network setup, unmount
#                           what is left under DIR and remove DIR
#
# Usage:  eval "$(tests/e2e/engine.sh start)"; ...; tests/e2e/engine.sh stop "$TWINSTACK_E2E_DIR"
#
# Networking (why not dockerd's own iptables rules): every dockerd with --iptables=true flushes the
# shared DOCKER and DOCKER-ISOLATION chains when it starts (libnetwork's bridge driver removes
# and recreates them), which would break another engine's rules on this machine. This daemon
# runs with --iptables=false and instead adds three rules of its own, tagged with a comment and
# limited to its own 10.N.0.0/16: FORWARD accept from/to it (the host may have br_netfilter on
# and a FORWARD policy of DROP set by another engine) and MASQUERADE out of it (so `docker
# build` containers reach the Debian mirror). `stop` deletes exactly those rules. Published ports
# work through docker-proxy (the userland proxy, dockerd's default), so `-p 127.0.0.1:X:Y`
# needs no NAT rule. Swarm's ingress routing mesh needs dockerd's iptables rules and is not
# available on this engine; containers, user networks, volumes, `docker build` are.
# dockerd starts its own containerd under the exec root unless a system containerd socket exists
# at /run/containerd/containerd.sock (then it uses that one; .ci/run stops the packaged service).
# Either way this daemon has its own containerd namespace, and `stop` kills what is left in its
# cgroup parent. dockerd sets net.ipv4.ip_forward=1 (--ip-forward) and it stays set.
# dockerd flags: https://docs.docker.com/reference/cli/dockerd/
set -euo pipefail

STOP_TIMEOUT="${TWINSTACK_E2E_STOP_TIMEOUT:-40}"
START_TIMEOUT="${TWINSTACK_E2E_START_TIMEOUT:-60}"
MARKER=.twinstack-e2e-engine
LOG_NAME=engine
DIR_VAR=TWINSTACK_E2E_DIR
# shellcheck source=tests/e2e/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# A variable from DIR/engine.env (written by start), without sourcing the file.
state() {
  sed -n "s/^$2=//p" "$1/engine.env" 2>/dev/null | head -n 1
}

answers() {
  docker_cli -H "unix://$1/docker.sock" version --format '{{.Server.Version}}' >/dev/null 2>&1
}

# PIDs inside the cgroup parent of this daemon's containers (cgroup v1 or v2 layouts).
pids_of_cgroup() {
  local parent="$1" f
  [ -n "$parent" ] || return 0
  for f in /sys/fs/cgroup/pids/"$parent" /sys/fs/cgroup/"$parent"; do
    [ -d "$f" ] || continue
    find "$f" -name cgroup.procs -exec cat {} + 2>/dev/null || true
  done
}

iptables_rules() {
  local net="$1" tag="$2"
  printf '%s\n' \
    "filter FORWARD -s $net -m comment --comment $tag -j ACCEPT" \
    "filter FORWARD -d $net -m comment --comment $tag -j ACCEPT" \
    "nat POSTROUTING -s $net ! -d $net -m comment --comment $tag -j MASQUERADE"
}

cmd_start() {
  [ "$(id -u)" = 0 ] || die "dockerd needs root"
  local bin
  for bin in dockerd containerd runc ip iptables; do
    command -v "$bin" >/dev/null || die "$bin not found (install docker.io, iptables and iproute2; .ci/run does)"
  done
  local dir
  if dir="$(run_dir "${1:-}")"; then
    # The containerd socket lives under the exec root; a unix socket path has at most 107 bytes.
    [ "${#dir}" -le 60 ] || die "run dir $dir is too long for the daemon's unix sockets (max 60 chars)"
    mkdir -p "$dir"
  else
    dir="$(mktemp -d /tmp/twinstack-e2e.XXXXXX)"
  fi
  if [ -f "$dir/dockerd.pid" ] && kill -0 "$(cat "$dir/dockerd.pid")" 2>/dev/null; then
    die "an engine already runs in $dir (pid $(cat "$dir/dockerd.pid")); stop it first"
  fi
  touch "$dir/$MARKER"

  # Pick a 10.N.0.0/16 that no route on this host touches and no other engine has claimed.
  local n
  n="$(claim_net "$dir")" || n=""
  [ -n "$n" ] || die "found no free 10.N.0.0/16 for the engine's networks"

  local net="10.$n.0.0/16" bridge="tse2e$n" tag
  tag="twinstack-e2e:$(basename "$dir")"
  {
    printf 'DIR=%s\nNET=%s\nCLAIM=%s\nBRIDGE=%s\nTAG=%s\nCGROUP_PARENT=%s\n' \
      "$dir" "$net" "$CLAIMS/10.$n" "$bridge" "$tag" "twinstack-e2e-$n"
  } >"$dir/engine.env"

  # The default bridge: a name of our own (dockerd would otherwise create/reuse docker0, which
  # another engine may own). User-defined networks come from 10.N.0.0/17 in /24s; the default
  # bridge sits outside that range.
  ip link add name "$bridge" type bridge
  ip addr add "10.$n.255.1/24" dev "$bridge"
  ip link set "$bridge" up

  local rule table spec
  while IFS= read -r rule; do
    table="${rule%% *}"
    spec="${rule#* }"
    # shellcheck disable=SC2086 # the rule is a word list by design
    iptables -w -t "$table" -I $spec
  done < <(iptables_rules "$net" "$tag")

  log "starting dockerd in $dir (networks $net, bridge $bridge)"
  mkdir -p "$dir/data" "$dir/exec"
  # setsid: the daemon outlives this script and is not in the caller's process group.
  setsid dockerd \
    --data-root "$dir/data" \
    --exec-root "$dir/exec" \
    --pidfile "$dir/dockerd.pid" \
    -H "unix://$dir/docker.sock" \
    --bridge "$bridge" \
    --default-address-pool "base=10.$n.0.0/17,size=24" \
    --iptables=false \
    --ip-forward=true \
    --cgroup-parent "/twinstack-e2e-$n" \
    --containerd-namespace "twinstack-e2e-$n" \
    --containerd-plugins-namespace "twinstack-e2e-$n-plugins" \
    --shutdown-timeout 15 \
    --log-level warn \
    </dev/null >"$dir/dockerd.log" 2>&1 &
  local launched=$!
  printf 'LAUNCHED=%s\n' "$launched" >>"$dir/engine.env"

  local deadline=$((SECONDS + START_TIMEOUT))
  until answers "$dir"; do
    if ! kill -0 "$launched" 2>/dev/null || [ "$SECONDS" -ge "$deadline" ]; then
      log "dockerd did not answer within ${START_TIMEOUT}s; the tail of $dir/dockerd.log:"
      tail -n 40 "$dir/dockerd.log" >&2 || true
      cmd_stop "$dir" >/dev/null 2>&1 || true
      exit 1
    fi
    sleep 0.5
  done
  log "dockerd $(docker_cli -H "unix://$dir/docker.sock" version --format '{{.Server.Version}}') answers (pid $(cat "$dir/dockerd.pid"))"
  printf 'export DOCKER_HOST=%q\n' "unix://$dir/docker.sock"
  printf 'export TWINSTACK_E2E_DIR=%q\n' "$dir"
}

cmd_status() {
  local dir
  dir="$(run_dir "${1:-}")" || die "name the run dir (argument or TWINSTACK_E2E_DIR)"
  if answers "$dir"; then
    log "engine in $dir answers at unix://$dir/docker.sock (pid $(cat "$dir/dockerd.pid" 2>/dev/null))"
  else
    log "no engine answers in $dir"
    return 1
  fi
}

cmd_stop() {
  local dir
  dir="$(run_dir "${1:-}")" || die "name the run dir (argument or TWINSTACK_E2E_DIR)"
  [ -d "$dir" ] || { log "$dir does not exist; nothing to stop"; return 0; }
  [ -f "$dir/$MARKER" ] || die "$dir was not made by engine.sh start (no $MARKER); refusing to touch it"

  local pid="" launched
  pid="$(cat "$dir/dockerd.pid" 2>/dev/null || true)"
  launched="$(state "$dir" LAUNCHED)"
  [ -n "$pid" ] || pid="$launched"
  if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
    # Only a dockerd of this run dir: a reused PID would not carry our data root.
    if tr '\0' ' ' 2>/dev/null <"/proc/$pid/cmdline" | grep -qF -- "--data-root $dir/data"; then
      log "stopping dockerd $pid"
      kill -TERM "$pid" 2>/dev/null || true
      if ! wait_gone "$STOP_TIMEOUT" "$pid"; then
        log "dockerd $pid still runs after ${STOP_TIMEOUT}s; killing it"
        kill -KILL "$pid" 2>/dev/null || true
        wait_gone 10 "$pid" || log "dockerd $pid did not die"
      fi
    else
      log "pid $pid is not this run dir's dockerd; leaving it alone"
    fi
  fi

  # containerd, shims and docker-proxy of this daemon (they name the exec/data root), then the
  # processes of its containers (in its cgroup parent), if any outlived dockerd.
  local cgroup left
  cgroup="$(state "$dir" CGROUP_PARENT)"
  # shellcheck disable=SC2046 # PID lists
  left="$( { pids_of_dir "$dir"; pids_of_cgroup "$cgroup"; } | sort -u | tr '\n' ' ')"
  if [ -n "${left// /}" ]; then
    log "terminating leftover processes: $left"
    # shellcheck disable=SC2086 # PID list
    kill -TERM $left 2>/dev/null || true
    # shellcheck disable=SC2086
    if ! wait_gone 10 $left; then
      # shellcheck disable=SC2086
      kill -KILL $left 2>/dev/null || true
      # shellcheck disable=SC2086
      wait_gone 5 $left || log "some processes survived KILL: $left"
    fi
  fi
  if [ -n "$cgroup" ]; then
    # Children first (depth-first order), then the parent itself, in every hierarchy.
    find /sys/fs/cgroup -depth -type d \( -path "*/$cgroup" -o -path "*/$cgroup/*" \) -exec rmdir {} \; 2>/dev/null || true
  fi

  # Mounts under the run dir (overlay layers, netns bind mounts, shm), deepest first.
  umount_under "$dir"

  # Network setup: the rules, the default bridge, and bridges of user networks left behind
  # by a daemon that did not get to clean up (their addresses are in our /16).
  local net tag bridge rule table spec
  net="$(state "$dir" NET)"
  tag="$(state "$dir" TAG)"
  bridge="$(state "$dir" BRIDGE)"
  if [ -n "$net" ] && [ -n "$tag" ]; then
    while IFS= read -r rule; do
      table="${rule%% *}"
      spec="${rule#* }"
      # shellcheck disable=SC2086 # the rule is a word list by design
      while iptables -w -t "$table" -C $spec 2>/dev/null; do iptables -w -t "$table" -D $spec; done
    done < <(iptables_rules "$net" "$tag")
    local prefix="${net%.0.0/16}." link
    for link in $(ip -4 -o addr show | awk -v p="$prefix" 'index($4, p) == 1 { print $2 }' | sort -u); do
      case "$link" in br-* | "$bridge" | docker_gwbridge) ip link del "$link" 2>/dev/null || true ;; esac
    done
  fi
  if [ -n "$bridge" ] && ip link show "$bridge" >/dev/null 2>&1; then ip link del "$bridge" 2>/dev/null || true; fi
  local claim
  claim="$(state "$dir" CLAIM)"
  if [ -n "$claim" ] && [ "$(cat "$claim/owner" 2>/dev/null)" = "$dir" ]; then rm -rf -- "$claim"; fi

  if awk -v d="$dir/" 'index($2, d) == 1 { found = 1 } END { exit !found }' /proc/self/mounts; then
    die "mounts remain under $dir; not removing it"
  fi
  rm -rf -- "$dir"
  log "engine in $dir stopped and removed"
}

case "${1:-}" in
  start) cmd_start "${2:-}" ;;
  stop) cmd_stop "${2:-}" ;;
  status) cmd_status "${2:-}" ;;
  *) printf 'usage: %s start|stop|status [RUN_DIR]\n' "$0" >&2; exit 2 ;;
esac
