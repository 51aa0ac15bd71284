#!/usr/bin/env bash
# Builds the e2e stand-in images on the engine named by DOCKER_HOST (tests/e2e/engine.sh start).
# No registry is reachable, so everything starts FROM a Debian base made with debootstrap from
# the mirror apt uses, and imported with `docker import`.
#
#   DOCKER_HOST=unix:///... tests/e2e/images/build.sh
#
#   TWINSTACK_E2E_CACHE   where the debootstrap tarball is cached (default /var/cache/twinstack-e2e)
#   TWINSTACK_E2E_MIRROR  Debian mirror (default: the one apt's sources name for the suite)
#
# Images (stable tags, referenced by the e2e stack file and tests):
#   twinstack-e2e/debian:bookworm   the debootstrap minbase (only when something is built here)
#   twinstack-e2e/postgres:15       official postgres image interface, Debian PostgreSQL 15
#   twinstack-e2e/redis:7           official redis image interface, Debian redis 7.0
#   twinstack-e2e/caddy:2           official caddy image interface, Debian caddy 2.6
#   twinstack-e2e/busybox:1         official busybox (musl) image interface: a static /bin/busybox
#   twinstack-e2e/probe:1, :2       the probe app, build versions 1 and 2
#   twinstack-e2e/probe:bad         the probe app whose /healthz always answers 503
#   twinstack-e2e/probe:3           build version 3, needs migrations 1-2 (`probe.py migrate`)
#   twinstack-e2e/probe:migration-fails  needs migrations 1-3; the third fails on a table with rows
#   twinstack-e2e/keepalived:2      keepalived (VRRP) for the multi-host lab's VIPs, Debian keepalived 2.2
# Each is also tagged <stable>-<hash of its build context, build args and base>; an image whose
# hash tag exists is not rebuilt. Every engine starts with an empty image store, so a built image
# is also saved to $TWINSTACK_E2E_CACHE/images/<hash tag>.tar and loaded from there by the next
# engine (seconds instead of minutes). Prints one timing line per step; any failure ends the run
# with a non-zero exit.
set -euo pipefail

HERE="$(cd "$(dirname "$0")" && pwd)"
SUITE=bookworm
CACHE="${TWINSTACK_E2E_CACHE:-/var/cache/twinstack-e2e}"
# Bump when the way the base is made changes (invalidates the cached tarball).
BASE_RECIPE=1

log() { printf 'build: %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

docker_cli() {
  # The classic builder of the daemon's own (20.10) client: a newer client wants buildx.
  if [ -x /usr/bin/docker ]; then DOCKER_BUILDKIT=0 /usr/bin/docker "$@"; else DOCKER_BUILDKIT=0 docker "$@"; fi
}

# The mirror apt uses for "$SUITE" (deb822 .sources or one-line sources.list).
apt_mirror() {
  local uri
  uri="$(
    awk -v suite="$SUITE" '
      function flush() { if (!done && uris != "" && (" " suites " ") ~ (" " suite " ")) { split(uris, u, " "); print u[1]; done = 1; exit } uris = ""; suites = "" }
      /^[[:space:]]*$/ { flush(); next }
      tolower($1) == "uris:" { uris = ""; for (i = 2; i <= NF; i++) uris = uris " " $i }
      tolower($1) == "suites:" { suites = ""; for (i = 2; i <= NF; i++) suites = suites " " $i }
      END { flush() }
    ' /etc/apt/sources.list.d/*.sources 2>/dev/null || true
  )"
  if [ -z "$uri" ] && [ -f /etc/apt/sources.list ]; then
    uri="$(awk -v suite="$SUITE" '$1 == "deb" { i = 2; if ($i ~ /^\[/) { while ($i !~ /\]$/) i++; i++ } if ($(i + 1) == suite) { print $i; exit } }' /etc/apt/sources.list)"
  fi
  printf '%s\n' "${uri:-http://deb.debian.org/debian}"
}

sha() { sha256sum | cut -c1-12; }

exists() { docker_cli image inspect "$1" >/dev/null 2>&1; }

timed() {
  local what="$1" start=$SECONDS
  shift
  "$@"
  log "$what: $((SECONDS - start))s"
}

make_base_tarball() {
  local tarball="$1" mirror="$2" work
  command -v debootstrap >/dev/null || die "debootstrap not found (install it; .ci/run does)"
  mkdir -p "$CACHE"
  work="$(mktemp -d "$CACHE/.rootfs.XXXXXX")"
  # shellcheck disable=SC2064 # expand now: the path is fixed
  trap "rm -rf -- '$work'" EXIT
  log "debootstrap --variant=minbase $SUITE from $mirror (log: $work/debootstrap.log)"
  if ! debootstrap --variant=minbase "$SUITE" "$work/rootfs" "$mirror" >"$work/debootstrap.log" 2>&1; then
    tail -n 30 "$work/debootstrap.log" >&2
    die "debootstrap failed"
  fi
  # Smaller and reproducible-ish: no package cache, no apt lists (images run apt-get update).
  rm -rf "$work/rootfs/var/cache/apt/archives/"*.deb "$work/rootfs/var/lib/apt/lists/"* "$work/rootfs/debootstrap"
  # Like the debian:bookworm image: images install without recommends.
  printf 'APT::Install-Recommends "false";\nAPT::Install-Suggests "false";\n' >"$work/rootfs/etc/apt/apt.conf.d/90twinstack-e2e"
  tar --numeric-owner -C "$work/rootfs" -cf "$work/base.tar" .
  mv -f "$work/base.tar" "$tarball"
  rm -rf -- "$work"
  trap - EXIT
}

# Names the base image (BASE_IMAGE); it is only made (ensure_base) when something must be built.
name_base() {
  local key
  BASE_MIRROR="${TWINSTACK_E2E_MIRROR:-$(apt_mirror)}"
  key="$(printf '%s\n' "$SUITE" minbase "$BASE_MIRROR" "$BASE_RECIPE" | sha)"
  BASE_TARBALL="$CACHE/debian-$SUITE-minbase-$key.tar"
  BASE_IMAGE="twinstack-e2e/debian:$SUITE-$key"
}

ensure_base() {
  if exists "$BASE_IMAGE"; then
    return 0
  fi
  mkdir -p "$CACHE"
  # One debootstrap per cache at a time; a second run waits and then finds the tarball.
  exec 9>"$CACHE/.lock"
  flock 9
  if [ -s "$BASE_TARBALL" ]; then
    log "base tarball cached: $BASE_TARBALL"
  else
    timed "debootstrap $SUITE" make_base_tarball "$BASE_TARBALL" "$BASE_MIRROR"
  fi
  flock -u 9
  timed "import $BASE_IMAGE" docker_cli import --change 'CMD ["/bin/bash"]' "$BASE_TARBALL" "$BASE_IMAGE" >/dev/null
  docker_cli tag "$BASE_IMAGE" "twinstack-e2e/debian:$SUITE"
}

# Hash of a build: the base it starts from, the build args and every file of the context.
context_hash() {
  local dir="$1"
  shift
  {
    printf 'base %s\n' "$BASE_IMAGE"
    printf 'arg %s\n' "$@"
    (cd "$dir" && find . -type f -print0 | LC_ALL=C sort -z | xargs -0 sha256sum)
    # Modes matter too (an entrypoint must stay executable).
    (cd "$dir" && find . -type f -printf '%m %p\n' | LC_ALL=C sort)
  } | sha
}

# build_image NAME TAG CONTEXT_DIR [KEY=VALUE build args...]
build_image() {
  local name="$1" tag="$2" dir="$HERE/$3"
  shift 3
  local hash stable content
  hash="$(context_hash "$dir" "$@")"
  stable="twinstack-e2e/$name:$tag"
  content="$stable-$hash"
  local saved="$CACHE/images/$name-$tag-$hash.tar"
  if exists "$content"; then
    log "$stable: up to date ($content)"
  elif [ -s "$saved" ] && timed "$stable: loaded from $saved" docker_cli load --quiet --input "$saved" >/dev/null && exists "$content"; then
    :
  else
    ensure_base
    local args=(--build-arg "BASE=$BASE_IMAGE" --label "org.twinstack.e2e.context-hash=$hash" -t "$content")
    local a
    for a in "$@"; do args+=(--build-arg "$a"); done
    log "$stable: building $content"
    local logfile
    logfile="$(mktemp)"
    local start=$SECONDS
    if ! docker_cli build "${args[@]}" "$dir" >"$logfile" 2>&1; then
      tail -n 60 "$logfile" >&2
      rm -f "$logfile"
      die "building $stable from $dir failed"
    fi
    rm -f "$logfile"
    log "$stable: built in $((SECONDS - start))s"
  fi
  if [ ! -s "$saved" ]; then
    mkdir -p "$CACHE/images"
    timed "$stable: saved to $saved" docker_cli save --output "$saved.partial" "$content"
    mv -f "$saved.partial" "$saved"
    # Saves of older contexts of this tag are never loaded again.
    find "$CACHE/images" -maxdepth 1 -name "$name-$tag-*.tar" ! -name "$(basename "$saved")" -delete
  fi
  docker_cli tag "$content" "$stable"
}

main() {
  [ -n "${DOCKER_HOST:-}" ] || die "DOCKER_HOST is not set (eval \"\$(tests/e2e/engine.sh start)\" first)"
  docker_cli version >/dev/null 2>&1 || die "no Docker engine answers at $DOCKER_HOST"
  local start=$SECONDS
  name_base
  build_image postgres 15 postgres
  build_image redis 7 redis
  build_image caddy 2 caddy
  build_image busybox 1 busybox
  build_image probe 1 probe PROBE_BUILD_VERSION=1
  build_image probe 2 probe PROBE_BUILD_VERSION=2
  build_image probe bad probe PROBE_BUILD_VERSION=bad PROBE_HEALTHY=0
  build_image probe 3 probe PROBE_BUILD_VERSION=3 PROBE_SCHEMA=2
  build_image probe migration-fails probe PROBE_BUILD_VERSION=migration-fails PROBE_SCHEMA=3
  build_image keepalived 2 keepalived
  log "all images ready in $((SECONDS - start))s"
}

main "$@"
