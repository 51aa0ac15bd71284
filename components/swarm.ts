// Swarm formation over SSH, for DockerHosts: `docker swarm init` on the first manager, join tokens
// read back as secrets, `docker swarm join` on the others, each node labelled
// twinstack.host=<name> so services can be placed per host. The scripts are
// components/render/swarmScripts.ts; every step is idempotent, so re-running `pulumi up` or adding
// a host changes nothing on the others.
import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import { HostState } from "./provisioning";
import { HOST_NODE_LABEL, swarmInitScript, swarmJoinScript, swarmLabelScript } from "./render/swarmScripts";

export { HOST_NODE_LABEL };

/** Swarm control and data plane ports, open between members only (https://docs.docker.com/engine/swarm/swarm-tutorial/#open-protocols-and-ports-between-the-hosts). */
export const SWARM_PORTS: { port: string; protocol: "tcp" | "udp" }[] = [
  { port: "2377", protocol: "tcp" },
  { port: "7946", protocol: "tcp" },
  { port: "7946", protocol: "udp" },
  { port: "4789", protocol: "udp" },
];

/**
 * Forms the swarm of `states` (each needs a `connection` and an `address`): children
 * `${name}-swarm-init-<first>`, `${name}-swarm-token-<role>`, `${name}-swarm-join-<host>` and
 * `${name}-swarm-label-<host>` (command.remote.Command), parented to `parent`. Pushes each host's
 * label step onto its gates and moves the first manager to the front of `states` (services are
 * declared through it).
 */
export function formSwarm(name: string, parent: pulumi.Resource, states: HostState[]): void {
  const first = states.find((s) => s.spec.role === "manager") ?? states[0];
  const run = (id: string, host: HostState, create: pulumi.Input<string>, extra: Partial<command.remote.CommandArgs> = {}, cmdOpts: pulumi.CustomResourceOptions = {}) =>
    new command.remote.Command(`${name}-swarm-${id}`, { connection: host.connection!, create, ...extra }, { parent, ...cmdOpts });
  const managerAddress = pulumi.output(first.address!);
  const gateOf = (s: HostState) => pulumi.all(s.gates);
  // Each step's script is built from the outputs it must wait for: init after the first host is ready.
  const init = run(
    `init-${first.spec.name}`,
    first,
    pulumi.all([first.address!, gateOf(first)]).apply(([addr]) => swarmInitScript(String(addr))),
  );
  const tokenFor = (role: "worker" | "manager") =>
    run(
      `token-${role}`,
      first,
      init.stdout.apply(() => `docker swarm join-token -q ${role}`),
      {},
      { additionalSecretOutputs: ["stdout"] },
    );
  const tokens: Partial<Record<"worker" | "manager", command.remote.Command>> = {};
  const nodeIds = new Map<HostState, pulumi.Output<string>>([[first, init.stdout]]);
  for (const s of states) {
    if (s === first) continue;
    const token = (tokens[s.spec.role] ??= tokenFor(s.spec.role));
    const join = run(
      `join-${s.spec.name}`,
      s,
      pulumi.all([s.address!, managerAddress, gateOf(s)]).apply(([addr, mgr]) => swarmJoinScript(String(addr), String(mgr))),
      { stdin: pulumi.secret(token.stdout.apply((t) => `${t.trim()}\n`)), delete: "docker swarm leave --force >/dev/null 2>&1 || true" },
    );
    nodeIds.set(s, join.stdout);
  }
  for (const s of states) {
    const label = run(
      `label-${s.spec.name}`,
      first,
      nodeIds.get(s)!.apply((id) => swarmLabelScript(s.spec.name, id)),
    );
    s.gates.push(label.stdout);
  }
  // Services are declared on the first manager: keep it first.
  states.splice(states.indexOf(first), 1);
  states.unshift(first);
}
