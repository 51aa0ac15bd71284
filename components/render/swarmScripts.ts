// The remote steps that form a Docker Swarm and gate a provisioned host, as POSIX sh scripts run
// by @pulumi/command's remote.Command over SSH (components/swarm.ts, components/provisioning.ts).
// Pure: values are single-quoted into the script; the join token arrives on stdin only (sshd drops
// environment variables unless AcceptEnv allows them). Each step is idempotent: a node already in
// a swarm is left alone. Commands: https://docs.docker.com/reference/cli/docker/swarm/init/,
// .../swarm/join/, .../node/update/ (--label-add), `docker info --format '{{.Swarm.LocalNodeState}}'`.
import { LABELS } from "../../model/labels";

/** Label every swarm node carries: services pin to a host with node.labels.twinstack.host==<name>. */
export const HOST_NODE_LABEL = LABELS.host;

/** POSIX single-quoting. */
export function shQuote(value: string): string {
  return `'${value.replace(/'/g, `'\\''`)}'`;
}

const SWARM_STATE = `docker info --format '{{.Swarm.LocalNodeState}}'`;
const NODE_ID = `docker info --format '{{.Swarm.NodeID}}'`;

/** `docker swarm init` unless the node is in a swarm; prints the node id. */
export function swarmInitScript(advertiseAddress: string): string {
  return [
    "set -eu",
    `if [ "$(${SWARM_STATE})" != active ]; then`,
    `  docker swarm init --advertise-addr ${shQuote(advertiseAddress)} >/dev/null`,
    "fi",
    NODE_ID,
  ].join("\n");
}

/** `docker swarm join` with the token read from stdin, unless the node is in a swarm; prints the node id. */
export function swarmJoinScript(advertiseAddress: string, managerAddress: string): string {
  return [
    "set -eu",
    "IFS= read -r token",
    `if [ "$(${SWARM_STATE})" != active ]; then`,
    `  docker swarm join --token "$token" --advertise-addr ${shQuote(advertiseAddress)} ${shQuote(`${managerAddress}:2377`)} >/dev/null`,
    "fi",
    NODE_ID,
  ].join("\n");
}

/** Labels a node twinstack.host=<hostName> (run on a manager). */
export function swarmLabelScript(hostName: string, nodeId: string): string {
  return `set -eu\ndocker node update --label-add ${shQuote(`${HOST_NODE_LABEL}=${hostName}`)} ${shQuote(nodeId.trim())} >/dev/null`;
}

/** Waits for cloud-init to finish and the Docker engine to answer the admin user. */
export const READY_SCRIPT = [
  "set -u",
  "cloud-init status --wait >/dev/null 2>&1 || true",
  "timeout 600 sh -c 'until docker info >/dev/null 2>&1; do sleep 5; done'",
].join("\n");
