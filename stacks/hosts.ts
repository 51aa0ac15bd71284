// The hosts step of a prod/dev stack: existing hosts as configured, provisioned hosts created on
// Hetzner Cloud or DigitalOcean, and (runtime swarm) the swarm formed over SSH. Returns the
// InstanceHost list the InstanceStack runs on.
import * as pulumi from "@pulumi/pulumi";
import { DockerHosts, DockerHostsArgs } from "../components/dockerHosts";
import { InstanceHost } from "../components/instanceStack";
import { LoadedConfig } from "./config";
import { StackConfig } from "../model/schema";
import { privateNetworkPlan, sshUserOf } from "../model/hosts";
import { namePrefix } from "../model/names";

export interface ComposedHosts {
  hosts: InstanceHost[];
  /** Public address of each host (provisioned: its IPv4; existing: its address or SSH host). */
  publicAddresses: Record<string, pulumi.Input<string>>;
  /** Present when the stack provisions hosts or forms a swarm. */
  component?: DockerHosts;
  outputs: Record<string, unknown>;
}

/** A config problem found while composing: one line naming file and key, no stack trace. */
export function configProblem(loaded: LoadedConfig, key: string, message: string): pulumi.RunError {
  return new pulumi.RunError(`${loaded.sourceFile}: twinstack:${key}: ${message}`);
}

function sshHost(endpoint: string): string | undefined {
  return /^ssh:\/\/(?:[^@/]*@)?(\[[^\]]+\]|[^:/]+)/.exec(endpoint)?.[1];
}

/** Whether the stack needs the DockerHosts step (new machines, or a swarm to form and label). */
export function needsHostsStep(c: StackConfig): boolean {
  // A swarm is formed (idempotently) and its nodes labelled, so stateful services can be pinned to a host.
  return c.hosts.some((h) => h.provision) || c.runtime === "swarm";
}

/** Ports provisioned hosts open to the world: only what the env publishes for its users. */
export function publicPorts(c: StackConfig): DockerHostsArgs["publicPorts"] {
  const ports: DockerHostsArgs["publicPorts"] = [];
  if (c.proxy.enabled) {
    ports.push({ port: c.proxy.httpPort, protocol: "tcp", description: "HTTP (proxy)" }, { port: c.proxy.httpsPort, protocol: "tcp", description: "HTTPS (proxy)" });
  }
  if (c.gitea.enabled) ports.push({ port: c.gitea.sshPort, protocol: "tcp", description: "git over SSH" });
  if (c.mqtt.enabled) ports.push({ port: c.mqtt.port, protocol: "tcp", description: "MQTT over mutual TLS" });
  if (c.app?.publishPort !== undefined) ports.push({ port: c.app.publishPort, protocol: "tcp", description: "app" });
  return ports;
}

export function composeHosts(loaded: LoadedConfig): ComposedHosts {
  const c = loaded.config;
  const existing = (): ComposedHosts => ({
    hosts: c.hosts.map((h) => ({ name: h.name, docker: h.docker!, address: h.address })),
    publicAddresses: Object.fromEntries(c.hosts.map((h) => [h.name, h.address ?? sshHost(h.docker!) ?? "127.0.0.1"])),
    outputs: {},
  });
  if (!needsHostsStep(c)) return existing();

  const prefix = namePrefix(c.app?.name ?? loaded.stack, c.env);
  // Present when hosts are provisioned: config validation (model/validate.ts) requires it; DockerHosts
  // keeps the same rule as an invariant.
  const adminCidr = c.provisioning.adminCidr ?? c.runners.adminCidr;

  const component = new DockerHosts(`${prefix}-hosts`, {
    namePrefix: prefix,
    env: c.env,
    hosts: c.hosts.map((h) => ({ name: h.name, sshUser: sshUserOf(h), role: h.role, docker: h.docker, address: h.address, provision: h.provision })),
    swarm: c.runtime === "swarm",
    adminCidr,
    publicPorts: publicPorts(c),
    adminPorts: c.haPostgres.enabled ? [{ port: c.haPostgres.port, description: "HA Postgres (HAProxy)" }] : [],
    // Validated with the config (stacks/config.ts): any problem was reported before anything was declared.
    privateNetwork: privateNetworkPlan(c).plan,
    protect: c.env === "prod",
  });
  return {
    hosts: component.hosts,
    publicAddresses: component.publicAddresses,
    component,
    outputs: {
      hostAddresses: component.publicAddresses,
      ...(component.deployPrivateKey ? { deployPublicKey: component.deployPublicKey, deployPrivateKey: component.deployPrivateKey } : {}),
    },
  };
}
