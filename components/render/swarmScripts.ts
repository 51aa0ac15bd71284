// The remote steps that form a Docker Swarm and gate a provisioned host, as POSIX sh scripts run
// by @pulumi/command's remote.Command over SSH (components/swarm.ts, components/provisioning.ts).
// Pure: values are single-quoted into the script; the join token arrives on stdin only (sshd drops
// environment variables unless AcceptEnv allows them). Each step is idempotent: a node already in
// a swarm is left alone. Commands: https://docs.docker.com/reference/cli/docker/swarm/init/,
// .../swarm/join/, .../node/update/ (--label-add), `docker info --format '{{.Swarm.LocalNodeState}}'`.
import { LABELS } from "../../model/labels";
import { renderScriptFile, shQuote } from "./scriptFile";

/** Label every swarm node carries: services pin to a host with node.labels.twinstack.host==<name>. */
export const HOST_NODE_LABEL = LABELS.host;

export { shQuote };

// The bodies are scripts/swarm-init.sh, swarm-join.sh, swarm-label.sh and host-ready.sh
// (docs/ARCHITECTURE.md, "Shell scripts"). remote.Command sends each
// without its final newline, as these scripts always were.
function remoteScript(file: string, settings: [string, string][]): string {
  return renderScriptFile(file, settings.length > 0 ? ["set -eu"] : [], settings).replace(/\n$/, "");
}

/** `docker swarm init` unless the node is in a swarm; prints the node id. */
export function swarmInitScript(advertiseAddress: string): string {
  return remoteScript("swarm-init.sh", [["advertise_addr", advertiseAddress]]);
}

/** `docker swarm join` with the token read from stdin, unless the node is in a swarm; prints the node id. */
export function swarmJoinScript(advertiseAddress: string, managerAddress: string): string {
  return remoteScript("swarm-join.sh", [
    ["advertise_addr", advertiseAddress],
    ["manager", `${managerAddress}:2377`],
  ]);
}

/** Labels a node twinstack.host=<hostName> (run on a manager). */
export function swarmLabelScript(hostName: string, nodeId: string): string {
  return remoteScript("swarm-label.sh", [
    ["label", `${HOST_NODE_LABEL}=${hostName}`],
    ["node_id", nodeId.trim()],
  ]);
}

/** Waits for cloud-init to finish and the Docker engine to answer the admin user (scripts/host-ready.sh). */
export const READY_SCRIPT = remoteScript("host-ready.sh", []);
