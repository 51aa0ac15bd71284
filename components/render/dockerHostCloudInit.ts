// cloud-init user data for a provisioned Docker host (components/provisioning.ts): distro docker.io,
// a non-root admin user in the docker group, keys-only sshd, root login disabled. Pure: no Pulumi imports.

import { CLOUD_INIT_PATHS, RELOAD_SSHD, UNIX_USER_RE, dockerDaemonJson, fail, sshdHardening, toCloudConfig, validateSshKeys } from "./cloudInitCommon";

/** Input of {@link renderDockerHostCloudInit}. */
export interface DockerHostCloudInitArgs {
  /** The non-root admin login to create: in the docker group, passwordless sudo, password locked. */
  adminUser: string;
  /** OpenSSH public keys authorized for `adminUser` (at least one: password login is off). */
  sshAuthorizedKeys: string[];
  /** Swarm mode needs `live-restore: false`; joining/initialising is left to the caller (tokens only exist later). */
  swarm?: boolean;
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
