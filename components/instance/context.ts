// What every builder of an InstanceStack shares: the env's names, providers, network and the one
// way a workload is declared (components/workload.ts). Built once by the InstanceStack; builders
// (components/instance/*.ts) receive it and declare their resources as children of the stack,
// named from the stack's name, so their URNs are those the stack declared itself before the split.
import * as pulumi from "@pulumi/pulumi";
import * as docker from "@pulumi/docker";
import type { InstanceStackArgs } from "../instanceStack";
import { HOST_NODE_LABEL } from "../swarm";
import { namePrefix } from "../../model/names";
import { Runtime, WorkloadLimits, WorkloadSpec, declareWorkload } from "../workload";
import { LABELS } from "../../model/labels";

/** A workload spec whose labels default to the stack's common labels. */
export type InstanceWorkloadSpec = Omit<WorkloadSpec, "labels"> & { labels?: Record<string, pulumi.Input<string>> };

/**
 * What every per-service builder of {@link InstanceStack} shares: the child name and physical name
 * prefix, the stack's args, the parent, the Docker providers per host, the env network, the common
 * labels and the limits rule. Built once by `instanceContext`.
 */
export interface InstanceContext {
  /** The InstanceStack's resource name: every child is named `${name}-<part>`. */
  name: string;
  /** Physical name prefix carrying the env token, e.g. "myapp-prod". */
  prefix: string;
  args: InstanceStackArgs;
  /** The InstanceStack: parent of every child. */
  parent: pulumi.ComponentResource;
  runtime: Runtime;
  nonProd: boolean;
  /** Docker provider per host name. */
  providers: Record<string, docker.Provider>;
  /** The main host's provider (first host; the first Swarm manager): workloads are declared through it. */
  provider: docker.Provider;
  /** twinstack.env, twinstack.stack, twinstack.host labels of every workload. */
  commonLabels: Record<string, string>;
  /** Swarm placement on the main host (volumes and bind mounts are local to a node). */
  pinToMainHost: string[];
  /** The env network's name (bridge standalone, attachable overlay in a Swarm). */
  networkName: pulumi.Output<string>;
  /** A workload's own limits, else (non-prod only) the stack's default limits. */
  limitsOf(own?: WorkloadLimits): WorkloadLimits | undefined;
  /** Declares a workload `${name}-${logicalName}` with the common labels; volume/bind users are pinned to the main host in a Swarm. */
  put(logicalName: string, spec: InstanceWorkloadSpec, extra?: { protect?: boolean; dependsOn?: pulumi.Resource[] }): docker.Container | docker.Service;
  /** A named volume `${prefix}-${part}` of the env (protected in prod). */
  volume(part: string): docker.Volume;
  /** Attachment to the env network under these aliases. */
  onNet(aliases: string[]): { name: pulumi.Output<string>; aliases: string[] };
}

/**
 * Declares the stack's providers (one per host) and network, and returns the context the builders share.
 * Children: `${name}-docker-<host>` (docker.Provider), `${name}-net` (docker.Network).
 */
export function instanceContext(name: string, args: InstanceStackArgs, parent: pulumi.ComponentResource): InstanceContext {
  const prefix = namePrefix(args.appName, args.env);
  const nonProd = args.env !== "prod";
  const limitsOf = (own?: WorkloadLimits) => own ?? (nonProd ? args.defaultLimits : undefined);

  const providers: Record<string, docker.Provider> = {};
  for (const host of args.hosts) {
    providers[host.name] = new docker.Provider(
      `${name}-docker-${host.name}`,
      { host: host.docker, sshOpts: ["-o", "StrictHostKeyChecking=accept-new", "-o", "ServerAliveInterval=30"] },
      { parent },
    );
  }
  // Swarm services are declared on the first manager; standalone workloads run on the first host.
  const mainHost = args.hosts[0].name;
  const provider = providers[mainHost];
  const runtime = args.runtime;
  const commonLabels = { [LABELS.env]: args.env, [LABELS.stack]: args.stack, [LABELS.host]: mainHost };
  // Volumes and bind mounts are local to a node: in a swarm, a service that has them stays on the
  // main host (nodes carry the label twinstack.host=<name>), where its data and the host paths are.
  const pinToMainHost = [`node.labels.${HOST_NODE_LABEL}==${mainHost}`];
  const put: InstanceContext["put"] = (logicalName, spec, extra = {}) =>
    declareWorkload(
      `${name}-${logicalName}`,
      {
        ...spec,
        labels: { ...commonLabels, ...(spec.labels ?? {}) },
        constraints:
          spec.constraints ??
          (runtime === "swarm" && ((Array.isArray(spec.volumes) ? spec.volumes.length : spec.volumes !== undefined) || spec.binds?.length) ? pinToMainHost : undefined),
      },
      { runtime, provider, parent, ...extra },
    );

  const network = new docker.Network(
    `${name}-net`,
    {
      name: `${prefix}-net`,
      driver: runtime === "swarm" ? "overlay" : "bridge",
      attachable: runtime === "swarm" ? true : undefined,
      labels: [{ label: LABELS.env, value: args.env }],
    },
    { parent, provider },
  );
  const volume = (part: string) =>
    new docker.Volume(`${name}-${part}`, { name: `${prefix}-${part}`, labels: [{ label: LABELS.env, value: args.env }] }, { parent, provider, protect: args.protect });

  return {
    name,
    prefix,
    args,
    parent,
    runtime,
    nonProd,
    providers,
    provider,
    commonLabels,
    pinToMainHost,
    networkName: network.name,
    limitsOf,
    put,
    volume,
    onNet: (aliases) => ({ name: network.name, aliases }),
  };
}
