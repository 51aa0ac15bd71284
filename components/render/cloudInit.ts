// cloud-init user data for CI runner machines and Docker hosts. Pure: no Pulumi imports.
//
// Runner machines (RunnerFleet): cloud-init only writes files and runs one script. The
// registration token goes into a root-only file (0600) via write_files; the bootstrap script
// reads it from there, so it never appears in runcmd, in cloud-init's own logs or in the
// generated /var/lib/cloud/instance/scripts/runcmd. The user data as a whole still contains the
// token, so callers must treat the rendered string as a secret (pulumi.secret).
//
// `ephemeral: true` means one job per runner registration/run, with job containers, volumes and
// networks wiped before the next job. It deliberately does NOT power the machine off: a stopped
// DigitalOcean droplet or Hetzner server keeps billing, and Pulumi would not notice or replace
// it, so a fleet of N would silently drain to 0 usable runners. Zero cost is `count: 0`.
//   - gitea:   `act_runner register --ephemeral` before every job (the server hands that
//              registration exactly one job and then deletes it); the token file is kept for
//              the next registration. Needs an act_runner/Gitea with ephemeral support (Gitea
//              1.23+); the script checks `register --help` and fails loudly otherwise.
//   - forgejo: registered once; systemd then runs `forgejo-runner one-job` in a loop. The
//              registration itself is persistent (I found no server-side single-use
//              registration for forgejo-runner 6.x). The token file is deleted once
//              registered. The script checks that the binary has `one-job`.
// `ephemeral: false`: registered once, `daemon` under systemd, token file deleted.

import { RenderInvariantError } from "./invariant";
import YAML from "yaml";
import { LABEL_RE, SSH_KEY_RE, VERSION_RE } from "../../model/hostValues";

export type ForgeKind = "forgejo" | "gitea";

export interface RunnerCloudInitArgs {
  forge: ForgeKind;
  /** Base URL of the forge, http(s), no credentials, e.g. "https://git.example.com". */
  forgeUrl: string;
  /** Runner registration token. Secret: never echoed, written 0600, not in runcmd. */
  registrationToken: string;
  /** DNS-safe (RFC 1123 label), e.g. "ci-dev-runner-1". */
  runnerName: string;
  /** Runner labels, e.g. ["ephemeral", "ubuntu-latest:docker://node:20-bookworm"]. No whitespace or commas. */
  labels: string[];
  /** "6.3.1" (forgejo-runner) or "0.2.11" (act_runner); no leading "v". */
  runnerVersion: string;
  /** false for a golden image that already has Docker and the runner binary. */
  installDocker: boolean;
  /** One job per registration, job state wiped in between (see top of file). */
  ephemeral: boolean;
  /** Keys for the image's default user (root on DigitalOcean). */
  sshAuthorizedKeys?: string[];
}

export interface DockerHostCloudInitArgs {
  adminUser: string;
  sshAuthorizedKeys: string[];
  /** Swarm mode needs `live-restore: false`; joining/initialising is left to the caller (tokens only exist later). */
  swarm?: boolean;
}

export class CloudInitConfigError extends RenderInvariantError {
  constructor(message: string) {
    super(message);
    this.name = "CloudInitConfigError";
  }
}

function fail(message: string): never {
  throw new CloudInitConfigError(`cloud-init: ${message}`);
}

/** Where things live on the machines; exported so tests and components agree on them. */
export const CLOUD_INIT_PATHS = {
  bootstrapScript: "/usr/local/sbin/twinstack-runner-bootstrap",
  tokenFile: "/etc/twinstack-runner/registration-token",
  stateDir: "/var/lib/twinstack-runner",
  unitFile: "/etc/systemd/system/twinstack-runner.service",
  sshdDropIn: "/etc/ssh/sshd_config.d/10-twinstack-hardening.conf",
  dockerDaemonJson: "/etc/docker/daemon.json",
} as const;

const RUNNER_BINARIES: Record<ForgeKind, string> = {
  forgejo: "/usr/local/bin/forgejo-runner",
  gitea: "/usr/local/bin/act_runner",
};

// Forgejo's release signing key, as published in the Forgejo runner installation docs.
const FORGEJO_SIGNING_KEY = "EB114F5E6C0DC2BCDD183550A4B61A2DC5923710";

const DNS_LABEL_RE = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;
// LABEL_RE, VERSION_RE, SSH_KEY_RE: model/hostValues.ts (config validation reports values with them).
export { LABEL_RE, SSH_KEY_RE, VERSION_RE };
// Forge tokens are hex/alphanumeric; allow printable ASCII without whitespace or quotes.
const TOKEN_RE = /^[\x21\x23-\x26\x28-\x7e]+$/;
const UNIX_USER_RE = /^[a-z_][a-z0-9_-]{0,31}$/;

function validateForgeUrl(url: string): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    fail(`forgeUrl ${JSON.stringify(url)} is not a URL`);
  }
  if (parsed.protocol !== "https:" && parsed.protocol !== "http:") {
    fail(`forgeUrl must be http(s), got ${JSON.stringify(parsed.protocol)}`);
  }
  if (parsed.username || parsed.password) fail("forgeUrl must not carry credentials");
  if (/[\s'"\\`$]/.test(url)) fail("forgeUrl must not contain whitespace, quotes, backslashes, backticks or '$'");
  if (parsed.search || parsed.hash) fail("forgeUrl must be a base URL without query or fragment");
  return url;
}

function validateSshKeys(keys: string[], field: string): void {
  keys.forEach((key, i) => {
    if (!SSH_KEY_RE.test(key)) fail(`${field}[${i}] is not a single-line OpenSSH public key`);
  });
}

function validateRunnerArgs(args: RunnerCloudInitArgs): void {
  if (args.forge !== "forgejo" && args.forge !== "gitea") {
    fail(`forge must be "forgejo" or "gitea", got ${JSON.stringify(args.forge)}`);
  }
  validateForgeUrl(args.forgeUrl);
  // Never include the token itself in an error message.
  if (typeof args.registrationToken !== "string" || args.registrationToken.length === 0) {
    fail("registrationToken is empty");
  }
  if (!TOKEN_RE.test(args.registrationToken)) {
    fail("registrationToken must be printable ASCII without whitespace or quotes (value not shown)");
  }
  if (!DNS_LABEL_RE.test(args.runnerName)) {
    fail(`runnerName ${JSON.stringify(args.runnerName)} must be DNS-safe: 1-63 of [a-z0-9-], not starting or ending with '-'`);
  }
  if (!Array.isArray(args.labels) || args.labels.length === 0) fail("labels must list at least one label");
  const seen = new Set<string>();
  args.labels.forEach((label, i) => {
    if (typeof label !== "string" || label.length === 0) fail(`labels[${i}] is empty`);
    if (!LABEL_RE.test(label)) {
      fail(`labels[${i}] ${JSON.stringify(label)} must not contain whitespace, commas or non-ASCII characters`);
    }
    const name = label.split(":")[0];
    if (seen.has(name)) fail(`labels[${i}] repeats the label name ${JSON.stringify(name)}`);
    seen.add(name);
  });
  if (!VERSION_RE.test(args.runnerVersion)) {
    fail(`runnerVersion ${JSON.stringify(args.runnerVersion)} must look like 6.3.1 (no leading "v")`);
  }
  if (typeof args.installDocker !== "boolean") fail("installDocker must be a boolean");
  if (typeof args.ephemeral !== "boolean") fail("ephemeral must be a boolean");
  if (args.sshAuthorizedKeys) validateSshKeys(args.sshAuthorizedKeys, "sshAuthorizedKeys");
}

/** POSIX single-quoting: safe for any string inside a shell script. */
function shQuote(value: string): string {
  return `'${value.replace(/'/g, `'\\''`)}'`;
}

// The body is the same for every runner; only the header (readonly settings) differs. Kept as
// one generic bash script so a single shellcheck run covers every branch.
const BOOTSTRAP_BODY = String.raw`
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
    \${extra[@]+"\${extra[@]}"}); then
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
  case "\${1:-install}" in
    install) do_install ;;
    run) do_run ;;
    *) die "usage: $0 [install|run]" ;;
  esac
}

main "$@"
`.replace(/\\\$\{/g, "${"); // String.raw keeps "\${" literally; turn it back into shell "${"

function labelsNeedDocker(labels: string[]): boolean {
  return labels.some((l) => l.includes(":docker://"));
}

/** The bash script that installs (unless golden image) and registers the runner. */
export function renderRunnerBootstrapScript(args: RunnerCloudInitArgs): string {
  validateRunnerArgs(args);
  const settings: [string, string][] = [
    ["FORGE", args.forge],
    ["FORGE_URL", args.forgeUrl],
    ["RUNNER_NAME", args.runnerName],
    ["RUNNER_LABELS", args.labels.join(",")],
    ["RUNNER_VERSION", args.runnerVersion],
    ["RUNNER_BIN", RUNNER_BINARIES[args.forge]],
    ["RUNNER_USER", "runner"],
    ["STATE_DIR", CLOUD_INIT_PATHS.stateDir],
    ["TOKEN_FILE", CLOUD_INIT_PATHS.tokenFile],
    ["SERVICE", "twinstack-runner.service"],
    ["FORGEJO_SIGNING_KEY", FORGEJO_SIGNING_KEY],
    ["INSTALL_RUNNER", String(args.installDocker)],
    ["NEEDS_DOCKER", String(args.installDocker || labelsNeedDocker(args.labels))],
    ["EPHEMERAL", String(args.ephemeral)],
  ];
  const header = [
    "#!/bin/bash",
    `# Installs and registers a ${args.forge} Actions runner. Rendered by twinstack`,
    "# (components/render/cloudInit.ts); cloud-init runs it once as root ('install'), systemd runs",
    "# it on every service start ('run'). The registration token is only read from TOKEN_FILE.",
    "set -euo pipefail",
    "umask 077",
    "",
    ...settings.map(([k, v]) => `readonly ${k}=${shQuote(v)}`),
  ];
  return header.join("\n") + "\n" + BOOTSTRAP_BODY;
}

/** systemd unit for the runner; Restart=always for ephemeral runners is what starts the next job. */
export function renderRunnerUnit(args: RunnerCloudInitArgs): string {
  validateRunnerArgs(args);
  const docker = args.installDocker || labelsNeedDocker(args.labels);
  return [
    "[Unit]",
    `Description=twinstack ${args.forge} Actions runner ${args.runnerName}`,
    `After=network-online.target${docker ? " docker.service" : ""}`,
    `Wants=network-online.target${docker ? " docker.service" : ""}`,
    // Never give up restarting: an ephemeral runner exits after every job by design.
    "StartLimitIntervalSec=0",
    "",
    "[Service]",
    "Type=simple",
    `ExecStart=${CLOUD_INIT_PATHS.bootstrapScript} run`,
    `Restart=${args.ephemeral ? "always" : "on-failure"}`,
    "RestartSec=10",
    "",
    "[Install]",
    "WantedBy=multi-user.target",
    "",
  ].join("\n");
}

// Sorted before the images' own drop-ins (50-cloud-init.conf, 60-cloudimg-settings.conf):
// sshd keeps the first value it reads for each keyword.
function sshdHardening(permitRootLogin: "no" | "prohibit-password"): string {
  return [
    "# Managed by twinstack cloud-init: keys only.",
    "PasswordAuthentication no",
    // The old name: OpenSSH < 8.7 (Ubuntu 20.04, Debian 11) rejects KbdInteractiveAuthentication
    // and would then refuse to start; newer releases keep this as its alias.
    "ChallengeResponseAuthentication no",
    "PubkeyAuthentication yes",
    `PermitRootLogin ${permitRootLogin}`,
    "X11Forwarding no",
    "",
  ].join("\n");
}

const RELOAD_SSHD = [
  "sh",
  "-c",
  "sshd -t && (systemctl try-reload-or-restart ssh.service || systemctl try-reload-or-restart sshd.service)",
];

function dockerDaemonJson(swarm: boolean): string {
  return (
    JSON.stringify(
      {
        "log-driver": "json-file",
        "log-opts": { "max-size": "10m", "max-file": "3" },
        // Swarm mode refuses to start with live-restore enabled.
        "live-restore": !swarm,
      },
      null,
      2,
    ) + "\n"
  );
}

function toCloudConfig(doc: Record<string, unknown>): string {
  // cloud-init parses with PyYAML (YAML 1.1): emit 1.1 so "on"/"yes"/"0600" stay strings.
  return "#cloud-config\n" + YAML.stringify(doc, { lineWidth: 0, version: "1.1" });
}

/** `#cloud-config` user data for one runner machine. Secret: it contains the registration token. */
export function renderRunnerCloudInit(args: RunnerCloudInitArgs): string {
  validateRunnerArgs(args);
  const doc: Record<string, unknown> = {};
  if (args.installDocker) {
    doc.package_update = true;
    // gnupg verifies the forgejo-runner signature; docker.io from the distro, no third-party repo.
    doc.packages = ["ca-certificates", "curl", "git", "gnupg", "docker.io"];
  }
  if (args.sshAuthorizedKeys && args.sshAuthorizedKeys.length > 0) {
    doc.ssh_authorized_keys = [...args.sshAuthorizedKeys];
  }
  doc.ssh_pwauth = false;
  const files: Record<string, unknown>[] = [
    {
      path: CLOUD_INIT_PATHS.tokenFile,
      content: args.registrationToken + "\n",
      owner: "root:root",
      permissions: "0600",
    },
    {
      path: CLOUD_INIT_PATHS.bootstrapScript,
      content: renderRunnerBootstrapScript(args),
      owner: "root:root",
      permissions: "0700",
    },
    { path: CLOUD_INIT_PATHS.unitFile, content: renderRunnerUnit(args), owner: "root:root", permissions: "0644" },
    { path: CLOUD_INIT_PATHS.sshdDropIn, content: sshdHardening("prohibit-password"), owner: "root:root", permissions: "0644" },
  ];
  if (args.installDocker) {
    files.push({ path: CLOUD_INIT_PATHS.dockerDaemonJson, content: dockerDaemonJson(false), owner: "root:root", permissions: "0644" });
  }
  doc.write_files = files;
  // Packages (docker.io) are installed before runcmd's script runs (cloud_final_modules order).
  doc.runcmd = [RELOAD_SSHD, [CLOUD_INIT_PATHS.bootstrapScript, "install"]];
  return toCloudConfig(doc);
}

/** `#cloud-config` for a Docker host: distro docker.io, admin user in the docker group, keys-only sshd. */
export function renderDockerHostCloudInit(args: DockerHostCloudInitArgs): string {
  if (!UNIX_USER_RE.test(args.adminUser) || args.adminUser === "root") {
    fail(`adminUser ${JSON.stringify(args.adminUser)} must be a non-root Unix user name ([a-z_][a-z0-9_-]{0,31})`);
  }
  if (!Array.isArray(args.sshAuthorizedKeys) || args.sshAuthorizedKeys.length === 0) {
    fail("sshAuthorizedKeys must hold at least one key: password login is disabled");
  }
  validateSshKeys(args.sshAuthorizedKeys, "sshAuthorizedKeys");
  const swarm = args.swarm ?? false;
  const doc: Record<string, unknown> = {
    package_update: true,
    packages: ["ca-certificates", "docker.io"],
    // Created before users (init stage) so the admin user can join it; docker.io's postinst
    // keeps an existing docker group.
    groups: ["docker"],
    users: [
      {
        name: args.adminUser,
        groups: ["docker"],
        shell: "/bin/bash",
        // Password is locked, so sudo must not ask for one.
        sudo: "ALL=(ALL) NOPASSWD:ALL",
        lock_passwd: true,
        ssh_authorized_keys: [...args.sshAuthorizedKeys],
      },
    ],
    disable_root: true,
    ssh_pwauth: false,
    write_files: [
      { path: CLOUD_INIT_PATHS.sshdDropIn, content: sshdHardening("no"), owner: "root:root", permissions: "0644" },
      { path: CLOUD_INIT_PATHS.dockerDaemonJson, content: dockerDaemonJson(swarm), owner: "root:root", permissions: "0644" },
    ],
    runcmd: [RELOAD_SSHD, ["systemctl", "enable", "--now", "docker.service"]],
  };
  return toCloudConfig(doc);
}
