// Gitea or Forgejo (rootless image) and its Actions runner.
import * as pulumi from "@pulumi/pulumi";
import { FORGE_IMAGES, FORGE_RUNNER_IMAGES } from "../images";
import { InstanceContext } from "./context";
import { FORGE_HTTP_PORT } from "../../model/ports";

/**
 * Forgejo runner start: register once from the environment (`forgejo-runner register
 * --no-interactive`, which writes .runner in the working directory /data), then run the daemon.
 * https://forgejo.org/docs/latest/admin/actions/registration/
 */
export const FORGEJO_RUNNER_START = [
  "cd /data",
  '[ -s .runner ] || forgejo-runner register --no-interactive --instance "$GITEA_INSTANCE_URL" --token "$GITEA_RUNNER_REGISTRATION_TOKEN" --name "$GITEA_RUNNER_NAME" --labels "$GITEA_RUNNER_LABELS"',
  "unset GITEA_RUNNER_REGISTRATION_TOKEN",
  "exec forgejo-runner daemon",
].join(" && ");

/**
 * Children: `${name}-gitea-data`, `${name}-gitea-config` (volumes), `${name}-gitea` (workload); with a
 * runner also `${name}-gitea-runner-data` (volume) and `${name}-gitea-runner`. Nothing without `gitea`.
 */
export function declareForge(ctx: InstanceContext): void {
  const { args, prefix, runtime } = ctx;
  const gitea = args.gitea;
  if (!gitea) return;
  // Rootless Gitea/Forgejo: data in /var/lib/gitea, config in /etc/gitea, SSH on 2222 (model/images.ts).
  const forge = FORGE_IMAGES[gitea.kind];
  const data = ctx.volume("gitea-data");
  const config = ctx.volume("gitea-config");
  const rootDomain = args.proxy?.domains[0] ?? "localhost";
  const vipAddress = args.vip?.mode === "keepalived" ? args.vip.address : undefined;
  ctx.put("gitea", {
    name: `${prefix}-gitea`,
    role: "gitea",
    image: gitea.image,
    env: [
      `GITEA__server__ROOT_URL=https://${rootDomain}/gitea/`,
      `GITEA__server__SSH_DOMAIN=${rootDomain}`,
      `GITEA__server__SSH_PORT=${gitea.sshPort}`,
      `GITEA__server__SSH_LISTEN_PORT=${forge.ports.ssh}`,
      "GITEA__actions__ENABLED=true",
    ],
    network: ctx.onNet(["gitea"]),
    // Git over SSH is published beside the proxy, not through it: standalone on the env's VIP; in a
    // Swarm through the ingress mesh on every node (a service port has no address), so the VIP
    // reaches it wherever the VIP is held.
    ports: [{ internal: forge.ports.ssh, external: gitea.sshPort, ip: runtime === "swarm" ? undefined : vipAddress }],
    // Fresh named volumes take the image's git:git (1000:1000) ownership of these directories.
    volumes: [
      { volumeName: data.name, path: forge.paths.data },
      { volumeName: config.name, path: forge.paths.config },
    ],
    limits: ctx.limitsOf(gitea.limits),
    healthcheck: { test: ["CMD", ...forge.health!] },
  });
  const runner = gitea.runner;
  if (!runner) return;
  const runnerData = ctx.volume("gitea-runner-data");
  const runnerFacts = FORGE_RUNNER_IMAGES[gitea.kind];
  ctx.put("gitea-runner", {
    name: `${prefix}-gitea-runner`,
    role: "runner",
    image: runner.image,
    // act_runner registers itself from GITEA_* variables; Forgejo's runner image does not, so it
    // is registered once (its .runner file lives in /data) and then runs as a daemon.
    command: gitea.kind === "forgejo" ? ["/bin/sh", "-c", FORGEJO_RUNNER_START] : undefined,
    // The host's docker.sock is root:docker; the Forgejo image's own user (1000) cannot open it.
    user: runnerFacts.user,
    env: pulumi.secret(
      pulumi
        .output(runner.registrationToken)
        .apply((token) => [
          `GITEA_INSTANCE_URL=http://gitea:${FORGE_HTTP_PORT}`,
          `GITEA_RUNNER_REGISTRATION_TOKEN=${token}`,
          `GITEA_RUNNER_NAME=${prefix}-runner`,
          `GITEA_RUNNER_LABELS=${runner.labels.join(",")}`,
        ]),
    ),
    network: ctx.onNet(["gitea-runner"]),
    volumes: [{ volumeName: runnerData.name, path: runnerFacts.paths.data }],
    // Jobs run as sibling containers on this host's engine.
    binds: [{ hostPath: "/var/run/docker.sock", path: runnerFacts.paths.dockerSocket }],
    limits: ctx.limitsOf(runner.limits),
  });
}
