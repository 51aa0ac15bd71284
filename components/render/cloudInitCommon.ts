// What both cloud-init documents share (components/render/runnerCloudInit.ts,
// components/render/dockerHostCloudInit.ts): paths on the machines, the error class, SSH key and
// user checks, the sshd hardening drop-in, Docker's daemon.json and the #cloud-config emitter.
// Pure: no Pulumi imports. cloud-init modules: https://cloudinit.readthedocs.io/en/latest/reference/modules.html

import { RenderInvariantError } from "./invariant";
import YAML from "yaml";
import { SSH_KEY_RE } from "../../model/hostValues";

/** A cloud-init renderer invariant failed; the message starts with `cloud-init:`. */
export class CloudInitConfigError extends RenderInvariantError {
  constructor(message: string) {
    super(message);
    this.name = "CloudInitConfigError";
  }
}

/** Throws CloudInitConfigError("cloud-init: <message>"). */
export function fail(message: string): never {
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

/** A Unix login name: `[a-z_][a-z0-9_-]{0,31}` (lower case, at most 32 characters). */
export const UNIX_USER_RE = /^[a-z_][a-z0-9_-]{0,31}$/;
// SSH_KEY_RE: model/hostValues.ts (config validation reports values with it).
export { SSH_KEY_RE };

/**
 * Checks each key is a single-line OpenSSH public key ({@link SSH_KEY_RE}).
 * @throws CloudInitConfigError naming `field[i]` of the first bad key.
 */
export function validateSshKeys(keys: string[], field: string): void {
  keys.forEach((key, i) => {
    if (!SSH_KEY_RE.test(key)) fail(`${field}[${i}] is not a single-line OpenSSH public key`);
  });
}

// Sorted before the images' own drop-ins (50-cloud-init.conf, 60-cloudimg-settings.conf):
// sshd keeps the first value it reads for each keyword.
/**
 * sshd_config drop-in: keys only (no password or keyboard-interactive login), PermitRootLogin as
 * given, no X11 forwarding. Installed as 10-… so it precedes the cloud images' own drop-ins (sshd
 * keeps the first value of each keyword, sshd_config(5)).
 */
export function sshdHardening(permitRootLogin: "no" | "prohibit-password"): string {
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

/**
 * runcmd entry that tests the sshd config (`sshd -t`) and reloads the service, named ssh.service on
 * Debian/Ubuntu and sshd.service elsewhere.
 */
export const RELOAD_SSHD = ["sh", "-c", "sshd -t && (systemctl try-reload-or-restart ssh.service || systemctl try-reload-or-restart sshd.service)"];

/**
 * /etc/docker/daemon.json: json-file logs rotated at 10 MB x 3 files, live-restore unless `swarm`
 * (Swarm mode refuses live-restore: https://docs.docker.com/engine/daemon/live-restore/).
 */
export function dockerDaemonJson(swarm: boolean): string {
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

/** `#cloud-config` + the document as YAML 1.1 (cloud-init parses with PyYAML), so "on", "yes" and "0600" stay strings. */
export function toCloudConfig(doc: Record<string, unknown>): string {
  // cloud-init parses with PyYAML (YAML 1.1): emit 1.1 so "on"/"yes"/"0600" stay strings.
  return "#cloud-config\n" + YAML.stringify(doc, { lineWidth: 0, version: "1.1" });
}
