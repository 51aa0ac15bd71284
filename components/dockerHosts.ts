// The Docker hosts of one environment: existing machines reached over SSH, and machines this
// stack provisions on Hetzner Cloud or DigitalOcean. The component composes three jobs, each in
// its own file: cloud provisioning (components/provisioning.ts: deploy key, servers, firewalls,
// readiness), Swarm formation over SSH (components/swarm.ts) and the remote scripts both run
// (components/render/swarmScripts.ts). Every remote step is idempotent, so re-running `pulumi up`
// or adding a host changes nothing on the others.
import * as pulumi from "@pulumi/pulumi";
import type { InstanceHost } from "./instanceStack";
import { provisionHosts, sshTarget } from "./provisioning";
import { formSwarm } from "./swarm";
import { InvariantError } from "./render/invariant";
import { hostServerName } from "../model/names";

export { subnetHostIp } from "./provisioning";
export { HOST_NODE_LABEL, SWARM_PORTS } from "./swarm";
export { READY_SCRIPT, shQuote, swarmInitScript, swarmJoinScript, swarmLabelScript } from "./render/swarmScripts";

const NAME_RE = /^[a-z][a-z0-9-]*[a-z0-9]$/;
const CIDR_RE = /^(?:\d{1,3}(?:\.\d{1,3}){3}\/\d{1,2}|[0-9a-fA-F:]+\/\d{1,3})$/;
const UNIX_USER_RE = /^[a-z_][a-z0-9_-]{0,31}$/;

/**
 * One host of the env: an existing one (`docker` endpoint and `address`) or one to provision
 * (`provision`: a server of `type` in `location` on hcloud or DigitalOcean, from `image`). `role` is its
 * Swarm role; the first manager initialises the Swarm.
 */
export interface DockerHostSpec {
  name: string;
  /** Login of the Docker endpoint and the remote steps. Provisioned hosts: a non-root admin user cloud-init creates. */
  sshUser: string;
  role: "manager" | "worker";
  /** Existing host: its Docker endpoint (ssh://user@host or unix://...). */
  docker?: string;
  /** Existing host: its address (Swarm advertise address, keepalived peer). */
  address?: string;
  provision?: {
    provider: "hcloud" | "digitalocean";
    type: string;
    location: string;
    image: string;
    /** OpenSSH public keys (authorized for sshUser), or names/ids of keys already in the cloud account. */
    sshKeys: string[];
  };
}

/**
 * Arguments of {@link DockerHosts}: the env's hosts, existing or to provision, and how to reach and
 * protect them. Ports are TCP unless a `protocol` says otherwise.
 */
export interface DockerHostsArgs {
  /** Physical name prefix carrying the env token, e.g. "twincigo-prod"; servers are `<namePrefix>-host-<name>`. */
  namePrefix: string;
  /** The env token ("prod", "dev"): `namePrefix` must carry it; labels and tags of provisioned servers. */
  env: string;
  /** The env's hosts in config order (at least one; names unique). */
  hosts: DockerHostSpec[];
  /** Form a Docker Swarm over SSH. */
  swarm: boolean;
  /** The only range allowed to SSH into provisioned hosts (and reach adminPorts). Required with any provisioned host. */
  adminCidr?: string;
  /** Ports open to the world on provisioned hosts (the proxy's 80/443, MQTT over TLS, git SSH). */
  publicPorts: { port: number; protocol: "tcp" | "udp"; description: string }[];
  /** Ports open to the admin range only (e.g. the HA Postgres HAProxy the postgresql provider reaches). */
  adminPorts: { port: number; description: string }[];
  /** hcloud: a private network (and subnet) the hcloud hosts join; hosts get .11, .12, ... */
  privateNetwork?: { ipRange: string; subnet: string; zone: string };
  /** Prod: protect provisioned servers (their disks hold the env's volumes). */
  protect: boolean;
}

/**
 * The hosts of one env, ready for an InstanceStack. Type token `twinstack:index:DockerHosts`.
 * @throws InvariantError on args that config validation refuses first (names, CIDR, ports, swarm access).
 *
 * @example
 * const hosts = new DockerHosts("prod-hosts", { namePrefix: "myapp-prod", env: "prod", hosts: [{ name: "node1", sshUser: "deploy", role: "manager", docker: "ssh://deploy@203.0.113.10", address: "203.0.113.10" }], swarm: false, publicPorts: [], adminPorts: [], protect: true });
 * new InstanceStack("prod", { ...args, hosts: hosts.hosts });
 */
export class DockerHosts extends pulumi.ComponentResource {
  /** Hosts for InstanceStack: docker endpoints resolve only once the host is ready (and in the swarm). */
  readonly hosts: InstanceHost[];
  /** Public address of each host by name (provisioned: its public IPv4). */
  readonly publicAddresses: Record<string, pulumi.Output<string>>;
  /** Physical names of the provisioned servers. */
  readonly serverNames: string[];
  /** The env's deploy key (authorized on provisioned hosts; the remote steps log in with it). */
  readonly deployPublicKey?: pulumi.Output<string>;
  readonly deployPrivateKey?: pulumi.Output<string>;

  constructor(name: string, args: DockerHostsArgs, opts?: pulumi.ComponentResourceOptions) {
    super("twinstack:index:DockerHosts", name, {}, opts);
    validate(name, args);
    const prefix = args.namePrefix;
    const provisioned = args.hosts.filter((h) => h.provision);
    const { deployKey, states } = provisionHosts(name, this, args);
    if (deployKey) {
      this.deployPublicKey = deployKey.publicKeyOpenssh;
      this.deployPrivateKey = pulumi.secret(deployKey.privateKeyPem);
    }
    if (args.swarm) formSwarm(name, this, states);

    this.hosts = states.map((s) => ({
      name: s.spec.name,
      docker: s.gates.length ? pulumi.all([s.endpoint, ...s.gates]).apply(([endpoint]) => endpoint as string) : s.endpoint,
      address: s.address,
      serverId: s.serverId,
    }));
    this.publicAddresses = Object.fromEntries(states.map((s) => [s.spec.name, pulumi.output(s.publicAddress)]));
    this.serverNames = provisioned.map((h) => hostServerName(prefix, h.name));
    this.registerOutputs({ serverNames: this.serverNames, publicAddresses: this.publicAddresses, deployPublicKey: this.deployPublicKey });
  }
}

function validate(name: string, args: DockerHostsArgs): void {
  const fail = (message: string): never => {
    throw new InvariantError(`DockerHosts ${name}: ${message}`);
  };
  if (!NAME_RE.test(args.namePrefix) || !args.namePrefix.split("-").includes(args.env)) {
    fail(`namePrefix ${JSON.stringify(args.namePrefix)} must be lower-case and carry the env token ${JSON.stringify(args.env)}`);
  }
  if (!args.hosts.length) fail("needs at least one host");
  const names = new Set<string>();
  for (const h of args.hosts) {
    if (names.has(h.name)) fail(`host name ${h.name} is used twice`);
    names.add(h.name);
    if (!!h.docker === !!h.provision) fail(`host ${h.name} must be either existing (docker) or provisioned (provision)`);
    if (h.provision) {
      if (!UNIX_USER_RE.test(h.sshUser) || h.sshUser === "root")
        fail(`host ${h.name}: sshUser must be a non-root user (cloud-init disables root login), got ${JSON.stringify(h.sshUser)}`);
      if (hostServerName(args.namePrefix, h.name).length > 63) fail(`server name ${hostServerName(args.namePrefix, h.name)} is longer than 63 characters`);
    }
    if (args.swarm && !h.provision) {
      if (!h.address) fail(`host ${h.name}: an existing swarm member needs its address (the advertise address)`);
      if (!sshTarget(h.docker!)) fail(`host ${h.name}: forming a swarm needs SSH access (docker: ssh://user@host), got ${h.docker}`);
    }
  }
  if (args.hosts.some((h) => h.provision)) {
    if (!args.adminCidr || !CIDR_RE.test(args.adminCidr)) fail(`adminCidr must be a CIDR such as 203.0.113.0/24, got ${JSON.stringify(args.adminCidr)}`);
    if (/\/0$/.test(args.adminCidr!)) fail(`adminCidr ${args.adminCidr} would open SSH to the whole internet`);
  }
  for (const p of [...args.publicPorts.map((p) => p.port), ...args.adminPorts.map((p) => p.port)]) {
    if (!Number.isInteger(p) || p < 1 || p > 65535) fail(`port ${p} is not a port number`);
  }
}
