#!/bin/bash
# The body of the CI runner bootstrap script. components/render/runnerCloudInit.ts renders the
# script: a header (shebang, `set -euo pipefail`, `umask 077` and one `readonly NAME='value'` per
# setting: FORGE, FORGE_URL, RUNNER_NAME, RUNNER_LABELS, RUNNER_VERSION, RUNNER_BIN, RUNNER_USER,
# STATE_DIR, TOKEN_FILE, SERVICE, FORGEJO_SIGNING_KEY, INSTALL_RUNNER, NEEDS_DOCKER, EPHEMERAL), then
# everything after the marker line below, verbatim. cloud-init runs it once as root ('install'),
# systemd on every service start ('run'). Checked by shellcheck as this file and as rendered
# (tests/consumers/shellcheck.test.ts).
# shellcheck disable=SC2154 # the settings are the readonly lines the renderer prepends
# As rendered, for shellcheck (the renderer writes these two lines itself):
set -euo pipefail
umask 077
# ---- rendered verbatim from here ----

log() { printf 'twinstack-runner: %s\n' "$*" >&2; }
die() {
  log "error: $*"
  exit 1
}

machine_arch() {
  case "$(uname -m)" in
    x86_64) echo amd64 ;;
    aarch64 | arm64) echo arm64 ;;
    *) die "unsupported architecture $(uname -m)" ;;
  esac
}

fetch() {
  curl --fail --silent --show-error --location --proto '=https' --retry 5 --retry-delay 3 \
    --output "$2" "$1"
}

WORK_DIR=""
cleanup() {
  if [ -n "$WORK_DIR" ]; then rm -rf "$WORK_DIR"; fi
}
trap cleanup EXIT

install_runner_binary() {
  local arch url expected actual
  arch="$(machine_arch)"
  WORK_DIR="$(mktemp -d)"
  case "$FORGE" in
    forgejo)
      url="https://code.forgejo.org/forgejo/runner/releases/download/v$RUNNER_VERSION/forgejo-runner-$RUNNER_VERSION-linux-$arch"
      fetch "$url" "$WORK_DIR/runner"
      fetch "$url.asc" "$WORK_DIR/runner.asc"
      export GNUPGHOME="$WORK_DIR/gnupg"
      install -d -m 0700 "$GNUPGHOME"
      gpg --batch --quiet --keyserver hkps://keys.openpgp.org --recv-keys "$FORGEJO_SIGNING_KEY"
      gpg --batch --quiet --verify "$WORK_DIR/runner.asc" "$WORK_DIR/runner" ||
        die "signature check failed for $url"
      ;;
    gitea)
      # dl.gitea.com publishes a .sha256 beside each binary: integrity, not authenticity.
      url="https://dl.gitea.com/act_runner/$RUNNER_VERSION/act_runner-$RUNNER_VERSION-linux-$arch"
      fetch "$url" "$WORK_DIR/runner"
      fetch "$url.sha256" "$WORK_DIR/runner.sha256"
      expected="$(cut -d ' ' -f 1 "$WORK_DIR/runner.sha256")"
      actual="$(sha256sum "$WORK_DIR/runner" | cut -d ' ' -f 1)"
      if [ -z "$expected" ] || [ "$expected" != "$actual" ]; then die "checksum mismatch for $url"; fi
      ;;
    *) die "unknown forge $FORGE" ;;
  esac
  install -m 0755 -o root -g root "$WORK_DIR/runner" "$RUNNER_BIN"
  log "installed $RUNNER_BIN $RUNNER_VERSION"
}

ensure_runner_user() {
  if ! id -u "$RUNNER_USER" >/dev/null 2>&1; then
    useradd --system --create-home --home-dir "$STATE_DIR" --shell /usr/sbin/nologin "$RUNNER_USER"
  fi
  if getent group docker >/dev/null 2>&1; then
    usermod -a -G docker "$RUNNER_USER"
  fi
  install -d -m 0750 -o "$RUNNER_USER" -g "$RUNNER_USER" "$STATE_DIR"
}

check_ephemeral_support() {
  local help
  case "$FORGE" in
    gitea)
      help="$("$RUNNER_BIN" register --help 2>&1 || true)"
      case "$help" in
        *--ephemeral*) ;;
        *) die "this act_runner has no 'register --ephemeral' (needs a release with ephemeral runners and Gitea 1.23+); upgrade it or set ephemeral: false" ;;
      esac
      ;;
    forgejo)
      help="$("$RUNNER_BIN" --help 2>&1 || true)"
      case "$help" in
        *one-job*) ;;
        *) die "this forgejo-runner has no 'one-job' command; upgrade it or set ephemeral: false" ;;
      esac
      ;;
  esac
}

# The token is read into a variable and handed to the runner's register command; it is never
# printed (no set -x, no echo). It is in that process's argv while it runs: the machine has no
# other users.
register() {
  local token
  local -a extra=()
  [ -s "$TOKEN_FILE" ] || die "registration token file $TOKEN_FILE is missing or empty"
  token="$(tr -d '\r\n' <"$TOKEN_FILE")"
  if [ "$EPHEMERAL" = true ] && [ "$FORGE" = gitea ]; then extra+=(--ephemeral); fi
  rm -f "$STATE_DIR/.runner"
  if ! (cd "$STATE_DIR" && runuser -u "$RUNNER_USER" -- "$RUNNER_BIN" register --no-interactive \
    --instance "$FORGE_URL" --token "$token" --name "$RUNNER_NAME" --labels "$RUNNER_LABELS" \
    ${extra[@]+"${extra[@]}"}); then
    die "registration with $FORGE_URL failed (runner output above)"
  fi
  # The runner exits 0 on some invalid input without registering; trust only the file.
  [ -s "$STATE_DIR/.runner" ] || die "registration wrote no $STATE_DIR/.runner"
  log "registered $RUNNER_NAME with $FORGE_URL"
}

# Job containers could otherwise read the user data (and so the token) from the cloud
# metadata service. Host-mode jobs still can: prefer docker:// labels.
block_metadata_from_containers() {
  command -v iptables >/dev/null 2>&1 || return 0
  iptables -n -L DOCKER-USER >/dev/null 2>&1 || return 0
  iptables -C DOCKER-USER -d 169.254.169.254/32 -j REJECT 2>/dev/null ||
    iptables -I DOCKER-USER -d 169.254.169.254/32 -j REJECT
}

# The machine runs nothing but the runner, so every container, volume and network is job state.
clean_job_state() {
  command -v docker >/dev/null 2>&1 || return 0
  docker ps -a -q | xargs -r docker rm -f >/dev/null
  docker volume ls -q | xargs -r docker volume rm -f >/dev/null
  docker network prune -f >/dev/null
}

do_install() {
  if [ "$INSTALL_RUNNER" = true ]; then install_runner_binary; fi
  [ -x "$RUNNER_BIN" ] || die "$RUNNER_BIN is missing: the golden image must ship it (or set installDocker: true)"
  if [ "$NEEDS_DOCKER" = true ]; then
    command -v docker >/dev/null 2>&1 || die "docker is missing but a label runs jobs in docker://"
  fi
  ensure_runner_user
  if [ "$EPHEMERAL" = true ]; then check_ephemeral_support; fi
  if [ "$EPHEMERAL" = true ] && [ "$FORGE" = gitea ]; then
    log "ephemeral act_runner: registering before every job, token file kept"
  else
    register
    rm -f "$TOKEN_FILE"
  fi
  systemctl daemon-reload
  systemctl enable --now "$SERVICE"
  log "service $SERVICE started"
}

# Run by systemd (as root) for every start of the service.
do_run() {
  block_metadata_from_containers
  if [ "$EPHEMERAL" = true ]; then
    clean_job_state
    if [ "$FORGE" = gitea ]; then register; fi
  fi
  [ -s "$STATE_DIR/.runner" ] || die "$STATE_DIR/.runner is missing: run '$0 install' first"
  cd "$STATE_DIR"
  if [ "$EPHEMERAL" = true ] && [ "$FORGE" = forgejo ]; then
    exec runuser -u "$RUNNER_USER" -- "$RUNNER_BIN" one-job
  fi
  exec runuser -u "$RUNNER_USER" -- "$RUNNER_BIN" daemon
}

main() {
  [ "$(id -u)" -eq 0 ] || die "must run as root"
  case "${1:-install}" in
    install) do_install ;;
    run) do_run ;;
    *) die "usage: $0 [install|run]" ;;
  esac
}

main "$@"
