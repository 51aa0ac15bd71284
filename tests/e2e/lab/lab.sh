#!/usr/bin/env bash
# A multi-host lab on one machine for the e2e tests: N hosts (default 3), each a network namespace
# with its own address on one bridge, its own dockerd (Debian's docker.io) and its own sshd
# (Debian's openssh-server), so the program's ssh://root@<address> Docker hosts, its Swarm
# formation over SSH and keepalived's VRRP run for real. It installs nothing (.ci/run installs
# docker.io, openssh-server, iproute2 and iptables).
#
#   lab.sh up [DIR] [N]     create the hosts under DIR (default: $TWINSTACK_LAB_DIR, else a new
#                           mktemp dir); prints `export ...` lines for eval (LAB_DIR, LAB_HOSTS,
#                           LAB_SUBNET, LAB_GATEWAY, LAB_VIP_BASE, SSH_AUTH_SOCK, LAB_SSH_KEY)
#   lab.sh load DIR IMAGE…  copy images from the engine at $DOCKER_HOST into every host's dockerd
#                           (docker save | docker load: no registry is reachable)
#   lab.sh status [DIR]     exit 0 when every host's dockerd and sshd answer
#   lab.sh leftovers [DIR]  print the number of namespaces, links, processes and iptables rules of
#                           this lab that still exist (0 after `down`)
#   lab.sh stop-docker DIR I / start-docker DIR I
#                           stop host I's dockerd (its containers with it) / start it again
#   lab.sh down [DIR]       stop exactly what `up` started, by PID and by name: sshd, dockerd and
#                           its containerd/shims, the ssh-agent; unmount what is left under DIR;
#                           delete the namespaces, links, bridge and iptables rules; remove the
#                           hosts' keys from root's known_hosts; remove DIR
#
# Why network namespaces and nsenter: each dockerd needs its own network stack (its iptables rules,
# docker0, Swarm's ingress and overlay networks live in it) but the host's mount namespace, where
# the cgroup hierarchy is; `ip netns exec` also remounts /sys, which hides the cgroup mounts and
# dockerd refuses to start, so the daemons start through `nsenter --net=/var/run/netns/<name>`.
# Each dockerd runs with its default --iptables=true inside its own namespace (Swarm's routing mesh
# needs it); the host's FORWARD chain gets one ACCEPT rule for the lab bridge (a dockerd in the
# root namespace may have set the policy to DROP, and br_netfilter sends bridged frames through it).
# sshd's SetEnv (OpenSSH >= 8.7, sshd_config(5)) points `docker` in each SSH session at that host's
# socket, which is what `docker -H ssh://` and the remote steps run.
set -euo pipefail

START_TIMEOUT="${TWINSTACK_LAB_START_TIMEOUT:-90}"
STOP_TIMEOUT="${TWINSTACK_LAB_STOP_TIMEOUT:-40}"
MARKER=.twinstack-lab
# The program's keepalived containers persist net.ipv4.ip_nonlocal_bind in the host's /etc/sysctl.d
# (components/virtualIp.ts NONLOCAL_BIND_SYSCTL_FILE); the lab's hosts share this machine's /etc, so
# `down` removes the file again unless it was there before `up`.
SYSCTL_FILE=/etc/sysctl.d/90-twinstack-nonlocal-bind.conf
LOG_NAME=lab
DIR_VAR=TWINSTACK_LAB_DIR
# shellcheck source=tests/e2e/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"

state() {
  sed -n "s/^$2=//p" "$1/lab.env" 2>/dev/null | head -n 1
}

host_count() {
  local n
  n="$(state "$1" HOSTS)"
  printf '%s\n' "${n:-0}"
}


answers() {
  docker_cli -H "unix://$1/h$2/docker.sock" version --format '{{.Server.Version}}' >/dev/null 2>&1
}

ssh_answers() {
  local dir="$1" i="$2" addr
  addr="$(state "$dir" "HOST$i")"
  ssh -i "$dir/id_ed25519" -o BatchMode=yes -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null \
    -o ConnectTimeout=5 -o LogLevel=ERROR "root@$addr" docker version --format '{{.Server.Version}}' >/dev/null 2>&1
}

# PIDs in a network namespace (containers' processes and anything else started in it).
pids_of_ns() {
  ip netns pids "$1" 2>/dev/null || true
}

forward_rule() {
  printf '%s\n' "FORWARD -i $1 -o $1 -m comment --comment $2 -j ACCEPT"
}

# Starts host I's dockerd in its namespace (its state and sockets under DIR/hI); $! is its PID.
start_dockerd() {
  local dir="$1" i="$2" n
  n="$(state "$dir" N)"
  nsenter --net="/var/run/netns/tslab$n-h$i" setsid dockerd \
    --data-root "$dir/h$i/data" \
    --exec-root "$dir/h$i/exec" \
    --pidfile "$dir/h$i/dockerd.pid" \
    -H "unix://$dir/h$i/docker.sock" \
    --containerd-namespace "tslab$n-h$i" \
    --containerd-plugins-namespace "tslab$n-h$i-plugins" \
    --cgroup-parent "/tslab$n-h$i" \
    --shutdown-timeout 15 \
    --log-level warn \
    </dev/null >>"$dir/h$i/dockerd.log" 2>&1 &
}

# lab.sh stop-docker DIR I: stops host I's dockerd (its containers stop with it), as a host's
# daemon crash or restart would; start-docker DIR I starts it again and waits until it answers.
cmd_stop_docker() {
  local dir="$1" i="$2" p
  p="$(cat "$dir/h$i/dockerd.pid" 2>/dev/null || true)"
  if [ -z "$p" ] || ! kill -0 "$p" 2>/dev/null; then die "h$i: no dockerd runs"; fi
  kill -TERM "$p"
  wait_gone "$STOP_TIMEOUT" "$p" || { log "h$i: dockerd $p ignored TERM; killing it"; kill -KILL "$p" 2>/dev/null || true; }
  log "h$i: dockerd stopped"
}

cmd_start_docker() {
  local dir="$1" i="$2"
  ! answers "$dir" "$i" || die "h$i: dockerd already answers"
  start_dockerd "$dir" "$i"
  local deadline=$((SECONDS + START_TIMEOUT))
  until answers "$dir" "$i"; do
    [ "$SECONDS" -lt "$deadline" ] || die "h$i: dockerd did not answer within ${START_TIMEOUT}s"
    sleep 0.5
  done
  log "h$i: dockerd answers again"
}

cmd_up() {
  [ "$(id -u)" = 0 ] || die "network namespaces and dockerd need root"
  local bin
  for bin in dockerd containerd runc ip iptables nsenter ssh ssh-keygen ssh-agent ssh-add /usr/sbin/sshd; do
    command -v "$bin" >/dev/null || die "$bin not found (install docker.io, openssh-server, openssh-client, iproute2, iptables; .ci/run does)"
  done
  local dir count="${2:-3}"
  [[ "$count" =~ ^[1-9]$ ]] || die "host count must be 1..9, got $count"
  if dir="$(run_dir "${1:-}")"; then
    [ "${#dir}" -le 40 ] || die "run dir $dir is too long for the daemons' unix sockets (max 40 chars)"
    mkdir -p "$dir"
  else
    dir="$(mktemp -d /tmp/tslab.XXXXXX)"
  fi
  [ ! -f "$dir/lab.env" ] || die "a lab already exists in $dir; take it down first"
  touch "$dir/$MARKER"

  # A 10.N.0.0/16 that no route on this machine touches and nobody else has claimed.
  local n
  n="$(claim_net "$dir")" || n=""
  [ -n "$n" ] || die "found no free 10.N.0.0/16 for the lab"

  local bridge="tslab$n" tag
  tag="twinstack-lab:$(basename "$dir")"
  {
    printf 'DIR=%s\nN=%s\nHOSTS=%s\nCLAIM=%s\nBRIDGE=%s\nTAG=%s\nSUBNET=%s\nGATEWAY=%s\n' \
      "$dir" "$n" "$count" "$CLAIMS/10.$n" "$bridge" "$tag" "10.$n.0.0/24" "10.$n.0.1"
    printf 'SYSCTL_FILE_BEFORE=%s\n' "$([ -e "$SYSCTL_FILE" ] && echo 1 || echo 0)"
  } >"$dir/lab.env"

  ip link add name "$bridge" type bridge
  ip addr add "10.$n.0.1/24" dev "$bridge"
  ip link set "$bridge" up
  # shellcheck disable=SC2046 # the rule is a word list by design
  iptables -w -I $(forward_rule "$bridge" "$tag")

  # The run's SSH identity, in an agent of its own (the program's existing-host steps use the agent).
  ssh-keygen -q -t ed25519 -N '' -C "twinstack-lab" -f "$dir/id_ed25519"
  cp "$dir/id_ed25519.pub" "$dir/authorized_keys"
  chmod 600 "$dir/authorized_keys"
  ssh-agent -a "$dir/agent.sock" >"$dir/agent.env"
  printf 'AGENT_PID=%s\n' "$(sed -n 's/^SSH_AGENT_PID=\([0-9]*\);.*/\1/p' "$dir/agent.env")" >>"$dir/lab.env"
  SSH_AUTH_SOCK="$dir/agent.sock" ssh-add -q "$dir/id_ed25519"
  mkdir -p /run/sshd

  local i ns veth addr hosts=""
  for i in $(seq 1 "$count"); do
    ns="tslab$n-h$i"
    veth="tsl${n}h$i"
    addr="10.$n.0.$((10 + i))"
    printf 'HOST%s=%s\n' "$i" "$addr" >>"$dir/lab.env"
    hosts="$hosts $addr"
    mkdir -p "$dir/h$i/data" "$dir/h$i/exec"

    ip netns add "$ns"
    ip link add "$veth" type veth peer name "${veth}p"
    ip link set "${veth}p" netns "$ns"
    ip link set "$veth" master "$bridge" up
    ip -n "$ns" link set lo up
    ip -n "$ns" link set "${veth}p" name eth0
    ip -n "$ns" addr add "$addr/24" dev eth0
    ip -n "$ns" link set eth0 up
    ip -n "$ns" route add default via "10.$n.0.1"

    ssh-keygen -q -t ed25519 -N '' -f "$dir/h$i/ssh_host_ed25519_key"
    cat >"$dir/h$i/sshd_config" <<EOF
ListenAddress $addr
HostKey $dir/h$i/ssh_host_ed25519_key
PidFile $dir/h$i/sshd.pid
AuthorizedKeysFile $dir/authorized_keys
PermitRootLogin prohibit-password
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
StrictModes no
SetEnv DOCKER_HOST=unix://$dir/h$i/docker.sock
Subsystem sftp internal-sftp
EOF
    nsenter --net="/var/run/netns/$ns" /usr/sbin/sshd -f "$dir/h$i/sshd_config" -E "$dir/h$i/sshd.log"
    # Known to root's ssh like any host an operator deploys to (`down` removes the entry again), so
    # `docker -H ssh://root@<address>` (the docker CLI runs plain ssh) verifies the host key.
    mkdir -p "$HOME/.ssh"
    printf '%s %s\n' "$addr" "$(cut -d' ' -f1,2 "$dir/h$i/ssh_host_ed25519_key.pub")" >>"$HOME/.ssh/known_hosts"

    start_dockerd "$dir" "$i"
    printf 'LAUNCHED%s=%s\n' "$i" "$!" >>"$dir/lab.env"
  done
  printf 'ADDRESSES=%s\n' "${hosts# }" >>"$dir/lab.env"

  local deadline=$((SECONDS + START_TIMEOUT))
  for i in $(seq 1 "$count"); do
    until answers "$dir" "$i" && ssh_answers "$dir" "$i"; do
      if [ "$SECONDS" -ge "$deadline" ]; then
        log "host h$i did not answer within ${START_TIMEOUT}s; the tails of its logs:"
        tail -n 30 "$dir/h$i/dockerd.log" "$dir/h$i/sshd.log" >&2 || true
        cmd_down "$dir" >/dev/null 2>&1 || true
        exit 1
      fi
      sleep 0.5
    done
  done
  log "$count hosts up:$hosts (bridge $bridge, 10.$n.0.0/24); each answers docker over ssh://root@<address>"
  printf 'export TWINSTACK_LAB_DIR=%q\n' "$dir"
  printf 'export LAB_DIR=%q\n' "$dir"
  printf 'export LAB_HOSTS=%q\n' "${hosts# }"
  printf 'export LAB_SUBNET=%q\n' "10.$n.0.0/24"
  printf 'export LAB_GATEWAY=%q\n' "10.$n.0.1"
  # Addresses from .50 on are free for the tests' VIPs.
  printf 'export LAB_VIP_BASE=%q\n' "10.$n.0.50"
  printf 'export LAB_SSH_KEY=%q\n' "$dir/id_ed25519"
  printf 'export SSH_AUTH_SOCK=%q\n' "$dir/agent.sock"
}

cmd_load() {
  local dir="$1"
  shift
  [ -f "$dir/lab.env" ] || die "no lab in $dir"
  [ -n "${DOCKER_HOST:-}" ] || die "DOCKER_HOST must point at the engine holding the images"
  # One archive of all images (shared layers once), loaded by every host at the same time.
  local i tar="$dir/images.tar" pids=() failed=0
  docker_cli save --output "$tar" "$@"
  for i in $(seq 1 "$(host_count "$dir")"); do
    docker_cli -H "unix://$dir/h$i/docker.sock" load -q --input "$tar" >/dev/null &
    pids+=("$!")
  done
  for i in "${pids[@]}"; do wait "$i" || failed=1; done
  rm -f "$tar"
  [ "$failed" = 0 ] || die "loading the images into the hosts failed"
  log "loaded $* into $(host_count "$dir") hosts"
}

cmd_status() {
  local dir i
  dir="$(run_dir "${1:-}")" || die "name the lab dir (argument or TWINSTACK_LAB_DIR)"
  [ -f "$dir/lab.env" ] || die "no lab in $dir"
  for i in $(seq 1 "$(host_count "$dir")"); do
    answers "$dir" "$i" || die "h$i: dockerd does not answer"
    ssh_answers "$dir" "$i" || die "h$i: docker over ssh does not answer"
  done
  log "every host of $dir answers"
}

# Counts what of this lab still exists; by name, so it also works after DIR is gone.
count_leftovers() {
  local n="$1" dir="$2" tag="$3" total=0 c
  c="$(ip netns list 2>/dev/null | grep -c "^tslab$n-h" || true)"
  total=$((total + c))
  c="$(ip -o link show 2>/dev/null | grep -cE ": (tslab$n|tsl${n}h[0-9])[:@ ]" || true)"
  total=$((total + c))
  [ -z "$dir" ] || { c="$(pids_of_dir "$dir" | wc -l)"; total=$((total + c)); }
  c="$(iptables -w -S FORWARD 2>/dev/null | grep -cF -- "$tag" || true)"
  total=$((total + c))
  printf '%s\n' "$total"
}

cmd_leftovers() {
  local dir
  dir="$(run_dir "${1:-}")" || die "name the lab dir"
  local n tag
  n="${TWINSTACK_LAB_N:-$(state "$dir" N)}"
  tag="${TWINSTACK_LAB_TAG:-$(state "$dir" TAG)}"
  [ -n "$n" ] || die "no lab state in $dir (set TWINSTACK_LAB_N and TWINSTACK_LAB_TAG)"
  count_leftovers "$n" "$dir" "$tag"
}

cmd_down() {
  local dir
  dir="$(run_dir "${1:-}")" || die "name the lab dir (argument or TWINSTACK_LAB_DIR)"
  [ -f "$dir/$MARKER" ] || die "$dir is not a lab dir (no $MARKER)"
  local n bridge tag count i p pids ns addr
  n="$(state "$dir" N)"
  bridge="$(state "$dir" BRIDGE)"
  tag="$(state "$dir" TAG)"
  count="$(host_count "$dir")"

  for i in $(seq 1 "$count"); do
    # sshd first: no new sessions; then the daemon, which stops its containers and containerd.
    p="$(cat "$dir/h$i/sshd.pid" 2>/dev/null || true)"
    [ -z "$p" ] || kill "$p" 2>/dev/null || true
    p="$(cat "$dir/h$i/dockerd.pid" 2>/dev/null || state "$dir" "LAUNCHED$i")"
    if [ -n "$p" ] && kill -0 "$p" 2>/dev/null; then
      kill -TERM "$p" 2>/dev/null || true
      wait_gone "$STOP_TIMEOUT" "$p" || { log "h$i: dockerd $p ignored TERM; killing it"; kill -KILL "$p" 2>/dev/null || true; }
    fi
  done
  # Whatever is left of this lab: processes named with its dir (containerd, shims, docker-proxy,
  # sessions) and processes inside its namespaces (containers).
  for i in $(seq 1 "$count"); do
    ns="tslab$n-h$i"
    pids="$(pids_of_ns "$ns")"
    # shellcheck disable=SC2086 # a list of PIDs
    [ -z "$pids" ] || { kill -KILL $pids 2>/dev/null || true; }
  done
  pids="$(pids_of_dir "$dir")"
  if [ -n "$pids" ]; then
    # shellcheck disable=SC2086
    kill -TERM $pids 2>/dev/null || true
    # shellcheck disable=SC2086
    wait_gone 10 $pids || { kill -KILL $pids 2>/dev/null || true; }
  fi
  p="$(state "$dir" AGENT_PID)"
  [ -z "$p" ] || kill "$p" 2>/dev/null || true

  # Mounts dockerd left (overlay, shm, netns bind mounts of containers), deepest first.
  umount_under "$dir"

  for i in $(seq 1 "$count"); do
    ip netns del "tslab$n-h$i" 2>/dev/null || true
    ip link del "tsl${n}h$i" 2>/dev/null || true
    addr="$(state "$dir" "HOST$i")"
    [ -z "$addr" ] || ssh-keygen -R "$addr" >/dev/null 2>&1 || true
  done
  [ -z "$bridge" ] || ip link del "$bridge" 2>/dev/null || true
  # shellcheck disable=SC2046
  [ -z "$bridge" ] || while iptables -w -D $(forward_rule "$bridge" "$tag") 2>/dev/null; do :; done

  [ "$(state "$dir" SYSCTL_FILE_BEFORE)" != 0 ] || rm -f "$SYSCTL_FILE"

  local left claim
  left="$(count_leftovers "$n" "" "$tag")"
  claim="$(state "$dir" CLAIM)"
  [ -z "$claim" ] || rm -rf "$claim"
  rm -rf "$dir"
  log "lab $dir is down (leftovers: $left)"
  [ "$left" = 0 ] || die "$left namespaces, links or rules of the lab are left"
}

# One compound command, read whole before it runs: editing this file while a lab command runs
# cannot make bash read on into the new text.
{
case "${1:-}" in
  up) shift; cmd_up "$@" ;;
  load) shift; cmd_load "$@" ;;
  status) shift; cmd_status "$@" ;;
  leftovers) shift; cmd_leftovers "$@" ;;
  stop-docker) shift; cmd_stop_docker "$@" ;;
  start-docker) shift; cmd_start_docker "$@" ;;
  down) shift; cmd_down "$@" ;;
  *) die "usage: lab.sh up [DIR] [N] | load DIR IMAGE... | status [DIR] | leftovers [DIR] | stop-docker DIR I | start-docker DIR I | down [DIR]" ;;
esac
  exit
}
