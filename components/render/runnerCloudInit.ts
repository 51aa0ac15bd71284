// cloud-init user data for CI runner machines (RunnerFleet). Pure: no Pulumi imports; the
// bootstrap script's body is scripts/runner-bootstrap.sh, read once and shipped verbatim.
//
// cloud-init only writes files and runs one script. The
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

import * as path from "path";
import { CLOUD_INIT_PATHS, RELOAD_SSHD, dockerDaemonJson, fail, sshdHardening, toCloudConfig, validateSshKeys } from "./cloudInitCommon";
import { LABEL_RE, VERSION_RE } from "../../model/hostValues";
import { SCRIPTS_DIR, renderScriptFile } from "./scriptFile";

/** The forge a runner registers with: Forgejo (forgejo-runner) or Gitea (act_runner). */
export type ForgeKind = "forgejo" | "gitea";

/** Input of the runner machine renderers ({@link renderRunnerCloudInit} and the script and unit in it). */
export interface RunnerCloudInitArgs {
  /** Which runner binary is installed and how it registers (see this file's header). */
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

const RUNNER_BINARIES: Record<ForgeKind, string> = {
  forgejo: "/usr/local/bin/forgejo-runner",
  gitea: "/usr/local/bin/act_runner",
};

// Forgejo's release signing key, as published in the Forgejo runner installation docs.
const FORGEJO_SIGNING_KEY = "EB114F5E6C0DC2BCDD183550A4B61A2DC5923710";

const DNS_LABEL_RE = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;
// LABEL_RE, VERSION_RE: model/hostValues.ts (config validation reports values with them).
export { LABEL_RE, VERSION_RE };
// Forge tokens are hex/alphanumeric; allow printable ASCII without whitespace or quotes.
const TOKEN_RE = /^[\x21\x23-\x26\x28-\x7e]+$/;
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

/** The bootstrap script's file; its body is everything after the marker line (scriptFile.ts). */
export const RUNNER_BOOTSTRAP_FILE = path.join(SCRIPTS_DIR, "runner-bootstrap.sh");

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
  // The body is the same for every runner; only the header (readonly settings) differs. Kept as
  // one generic bash script so a single shellcheck run covers every branch.
  return renderScriptFile(
    "runner-bootstrap.sh",
    [
      "#!/bin/bash",
      `# Installs and registers a ${args.forge} Actions runner. Rendered by twinstack`,
      "# (components/render/runnerCloudInit.ts, body scripts/runner-bootstrap.sh); cloud-init runs it once as root ('install'), systemd runs",
      "# it on every service start ('run'). The registration token is only read from TOKEN_FILE.",
      "set -euo pipefail",
      "umask 077",
      "",
    ],
    settings,
    "readonly ",
  );
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
