// The Docker hosts of one environment: existing machines reached over SSH, and machines this
// stack provisions on Hetzner Cloud or DigitalOcean (cloud-init installs Docker, a firewall lets
// in SSH from the admin range and the env's public ports only). In swarm mode the hosts form a
// Docker Swarm over SSH: `docker swarm init` on the first manager, join tokens read back as
// secrets, `docker swarm join` on the others, each node labelled twinstack.host=<name> so
// services can be placed per host. Every remote step is idempotent (a node already in a swarm is
// left alone), so re-running `pulumi up` or adding a host changes nothing on the others.
import * as command from "@pulumi/command";
import * as digitalocean from "@pulumi/digitalocean";
import * as hcloud from "@pulumi/hcloud";
import * as pulumi from "@pulumi/pulumi";
import * as tls from "@pulumi/tls";
import { InstanceHost } from "./instanceStack";
import { renderDockerHostCloudInit } from "./render/cloudInit";
import { InvariantError } from "./render/invariant";
import { LABELS } from "../model/labels";
import { hostServerName } from "../model/names";

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

export interface DockerHostsArgs {
  /** Physical name prefix carrying the env token, e.g. "twincigo-prod"; servers are `<namePrefix>-host-<name>`. */
  namePrefix: string;
  env: string;
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

/** Swarm control and data plane ports, open between members only. */
export const SWARM_PORTS: { port: string; protocol: "tcp" | "udp" }[] = [
  { port: "2377", protocol: "tcp" },
  { port: "7946", protocol: "tcp" },
  { port: "7946", protocol: "udp" },
  { port: "4789", protocol: "udp" },
];

/** Label every swarm node carries: services pin to a host with node.labels.twinstack.host==<name>. */
export const HOST_NODE_LABEL = LABELS.host;

const WORLD = ["0.0.0.0/0", "::/0"];
const NAME_RE = /^[a-z][a-z0-9-]*[a-z0-9]$/;
const CIDR_RE = /^(?:\d{1,3}(?:\.\d{1,3}){3}\/\d{1,2}|[0-9a-fA-F:]+\/\d{1,3})$/;
const UNIX_USER_RE = /^[a-z_][a-z0-9_-]{0,31}$/;
const PUBLIC_KEY_RE = /^(ssh-(rsa|ed25519|dss)|ecdsa-sha2-nistp(256|384|521)|sk-(ssh-ed25519|ecdsa-sha2-nistp256)@openssh\.com) /;
/** DigitalOcean names the Ubuntu images differently from Hetzner; the schema default is Hetzner's. */
const DO_IMAGE_ALIASES: Record<string, string> = { "ubuntu-24.04": "ubuntu-24-04-x64", "ubuntu-22.04": "ubuntu-22-04-x64" };

/** POSIX single-quoting. */
export function shQuote(value: string): string {
  return `'${value.replace(/'/g, `'\\''`)}'`;
}

/** The index-th host address of a subnet, from .11 on: 10.0.1.0/24, 0 -> 10.0.1.11. */
export function subnetHostIp(subnet: string, index: number): string {
  const [base, bits] = subnet.split("/");
  const octets = base.split(".").map(Number);
  if (octets.length !== 4 || octets.some((o) => !Number.isInteger(o) || o < 0 || o > 255)) throw new InvariantError(`subnet ${subnet} is not an IPv4 CIDR`);
  const size = 2 ** (32 - Number(bits));
  const offset = 11 + index;
  if (offset >= size - 1) throw new InvariantError(`subnet ${subnet} has no room for host #${index + 1}`);
  const value = ((octets[0] << 24) >>> 0) + (octets[1] << 16) + (octets[2] << 8) + octets[3] + offset;
  return [24, 16, 8, 0].map((shift) => (value >>> shift) & 255).join(".");
}

/**
 * The public key of an SSH key stored in the cloud account, by name or numeric id
 * (hcloud: https://www.pulumi.com/registry/packages/hcloud/api-docs/getsshkey/;
 * DigitalOcean: https://www.pulumi.com/registry/packages/digitalocean/api-docs/getsshkey/, by name).
 */
function cloudPublicKey(provider: "hcloud" | "digitalocean", key: string, parent: pulumi.Resource): pulumi.Output<string> {
  if (provider === "hcloud") {
    const byId = /^[0-9]+$/.test(key);
    return hcloud.getSshKeyOutput(byId ? { id: Number(key) } : { name: key }, { parent }).publicKey;
  }
  return digitalocean.getSshKeyOutput({ name: key }, { parent }).publicKey;
}

/** Cloud APIs take numeric ids; under mocks ids are not numeric and pass through unchanged. */
function numericId(id: string): number {
  return /^[0-9]+$/.test(id) ? Number(id) : (id as unknown as number);
}

/** user@host of an ssh:// endpoint. */
function sshTarget(endpoint: string): { user?: string; host: string } | undefined {
  const m = /^ssh:\/\/(?:([^@/]+)@)?(\[[^\]]+\]|[^:/]+)/.exec(endpoint);
  return m ? { user: m[1], host: m[2] } : undefined;
}

// Remote scripts. Values are single-quoted into the script; the join token arrives on stdin only
// (sshd drops environment variables unless AcceptEnv allows them).
const SWARM_STATE = `docker info --format '{{.Swarm.LocalNodeState}}'`;
const NODE_ID = `docker info --format '{{.Swarm.NodeID}}'`;

export function swarmInitScript(advertiseAddress: string): string {
  return [
    "set -eu",
    `if [ "$(${SWARM_STATE})" != active ]; then`,
    `  docker swarm init --advertise-addr ${shQuote(advertiseAddress)} >/dev/null`,
    "fi",
    NODE_ID,
  ].join("\n");
}

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

export function swarmLabelScript(hostName: string, nodeId: string): string {
  return `set -eu\ndocker node update --label-add ${shQuote(`${HOST_NODE_LABEL}=${hostName}`)} ${shQuote(nodeId.trim())} >/dev/null`;
}

/** Waits for cloud-init to finish and the Docker engine to answer the admin user. */
export const READY_SCRIPT = [
  "set -u",
  "cloud-init status --wait >/dev/null 2>&1 || true",
  "timeout 600 sh -c 'until docker info >/dev/null 2>&1; do sleep 5; done'",
].join("\n");

interface HostState {
  spec: DockerHostSpec;
  /** Endpoint before readiness gating. */
  endpoint: pulumi.Input<string>;
  /** Swarm advertise address / keepalived address. */
  address?: pulumi.Input<string>;
  /** The public IPv4 (provisioned) or the address of the endpoint (existing). */
  publicAddress: pulumi.Input<string>;
  serverId?: pulumi.Input<string>;
  connection?: command.types.input.remote.ConnectionArgs;
  /** Outputs the endpoint waits for (cloud-init done, swarm joined and labelled). */
  gates: pulumi.Output<unknown>[];
}

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
    const uses = (provider: "hcloud" | "digitalocean") => provisioned.some((h) => h.provision!.provider === provider);
    const labels = { env: args.env, "twinstack-env": prefix };

    let deployKey: tls.PrivateKey | undefined;
    let hcloudKey: hcloud.SshKey | undefined;
    let doKey: digitalocean.SshKey | undefined;
    let hcloudFirewall: hcloud.Firewall | undefined;
    let doTag: digitalocean.Tag | undefined;
    let network: hcloud.Network | undefined;
    let subnet: hcloud.NetworkSubnet | undefined;

    if (provisioned.length) {
      deployKey = new tls.PrivateKey(`${name}-deploy-key`, { algorithm: "ED25519" }, { parent: this });
      this.deployPublicKey = deployKey.publicKeyOpenssh;
      this.deployPrivateKey = pulumi.secret(deployKey.privateKeyPem);
      if (uses("hcloud")) {
        hcloudKey = new hcloud.SshKey(`${name}-deploy-key-hcloud`, { name: `${prefix}-deploy`, publicKey: deployKey.publicKeyOpenssh, labels }, { parent: this });
        if (args.privateNetwork) {
          network = new hcloud.Network(`${name}-network`, { name: `${prefix}-net`, ipRange: args.privateNetwork.ipRange, labels }, { parent: this });
          subnet = new hcloud.NetworkSubnet(
            `${name}-subnet`,
            { networkId: network.id.apply(numericId), type: "cloud", networkZone: args.privateNetwork.zone, ipRange: args.privateNetwork.subnet },
            { parent: this },
          );
        }
      }
      if (uses("digitalocean")) {
        doKey = new digitalocean.SshKey(`${name}-deploy-key-do`, { name: `${prefix}-deploy`, publicKey: deployKey.publicKeyOpenssh }, { parent: this });
        doTag = new digitalocean.Tag(`${name}-tag`, { name: `${prefix}-hosts` }, { parent: this });
      }
    }

    // ---- hosts ----
    let hcloudIndex = 0;
    const states: HostState[] = args.hosts.map((spec) => {
      if (!spec.provision) {
        const target = sshTarget(spec.docker!);
        return {
          spec,
          endpoint: spec.docker!,
          address: spec.address,
          publicAddress: spec.address ?? target?.host ?? "127.0.0.1",
          // Existing hosts: where the Docker endpoint reaches them, with the operator's own SSH agent (SSH_AUTH_SOCK).
          connection: target ? { host: target.host, user: target.user ?? spec.sshUser } : undefined,
          gates: [],
        };
      }
      const p = spec.provision;
      const serverName = hostServerName(prefix, spec.name);
      const adminKeys = p.sshKeys.filter((k) => PUBLIC_KEY_RE.test(k));
      const cloudKeys = p.sshKeys.filter((k) => !PUBLIC_KEY_RE.test(k));
      // A key named (or numbered) in the cloud account is only installed for root by the provider,
      // and cloud-init disables root login: look its public key up and authorize it for the admin user.
      const cloudPublicKeys = pulumi.all(cloudKeys.map((key) => cloudPublicKey(p.provider, key, this)));
      const userData = pulumi.all([deployKey!.publicKeyOpenssh, cloudPublicKeys]).apply(([deployPub, named]) =>
        renderDockerHostCloudInit({ adminUser: spec.sshUser, sshAuthorizedKeys: [deployPub.trim(), ...adminKeys, ...named.map((k) => k.trim())], swarm: args.swarm }),
      );
      let ipv4: pulumi.Output<string>;
      let address: pulumi.Input<string>;
      let serverId: pulumi.Output<string>;
      if (p.provider === "hcloud") {
        const privateIp = args.privateNetwork ? subnetHostIp(args.privateNetwork.subnet, hcloudIndex++) : undefined;
        hcloudFirewall ??= this.hcloudFirewall(name, args, labels);
        const server = new hcloud.Server(
          `${name}-host-${spec.name}`,
          {
            name: serverName,
            serverType: p.type,
            location: p.location,
            image: p.image,
            sshKeys: [hcloudKey!.id, ...cloudKeys],
            userData,
            firewallIds: [hcloudFirewall.id.apply(numericId)],
            labels: { ...labels, "twinstack-host": spec.name },
            publicNets: [{ ipv4Enabled: true, ipv6Enabled: true }],
            networks: network && privateIp ? [{ networkId: network.id.apply(numericId), ip: privateIp }] : undefined,
          },
          // A server joins the network only once its subnet exists.
          { parent: this, protect: args.protect, dependsOn: subnet ? [subnet] : undefined },
        );
        ipv4 = server.ipv4Address;
        address = privateIp ?? server.ipv4Address;
        serverId = server.id;
      } else {
        const droplet = new digitalocean.Droplet(
          `${name}-host-${spec.name}`,
          {
            name: serverName,
            size: p.type,
            region: p.location,
            image: DO_IMAGE_ALIASES[p.image] ?? p.image,
            sshKeys: [doKey!.id, ...cloudKeys],
            userData,
            tags: [args.env, doTag!.name],
          },
          { parent: this, protect: args.protect },
        );
        ipv4 = droplet.ipv4Address;
        // Droplets share the region's default VPC: members talk over their private addresses.
        address = droplet.ipv4AddressPrivate;
        serverId = droplet.id;
      }
      const connection = { host: ipv4, user: spec.sshUser, privateKey: deployKey!.privateKeyPem };
      const ready = new command.remote.Command(
        `${name}-host-${spec.name}-ready`,
        { connection, create: READY_SCRIPT, triggers: [serverId] },
        { parent: this },
      );
      return {
        spec,
        endpoint: pulumi.interpolate`ssh://${spec.sshUser}@${ipv4}`,
        address,
        publicAddress: ipv4,
        serverId,
        connection,
        gates: [ready.stdout],
      };
    });

    if (doTag) this.doFirewall(name, args, doTag, states);

    // ---- swarm ----
    if (args.swarm) {
      const first = states.find((s) => s.spec.role === "manager") ?? states[0];
      const run = (id: string, host: HostState, create: pulumi.Input<string>, extra: Partial<command.remote.CommandArgs> = {}, cmdOpts: pulumi.CustomResourceOptions = {}) =>
        new command.remote.Command(`${name}-swarm-${id}`, { connection: host.connection!, create, ...extra }, { parent: this, ...cmdOpts });
      const managerAddress = pulumi.output(first.address!);
      const gateOf = (s: HostState) => pulumi.all(s.gates);
      // Each step's script is built from the outputs it must wait for: init after the first host is ready.
      const init = run(`init-${first.spec.name}`, first, pulumi.all([first.address!, gateOf(first)]).apply(([addr]) => swarmInitScript(String(addr))));
      const tokenFor = (role: "worker" | "manager") =>
        run(`token-${role}`, first, init.stdout.apply(() => `docker swarm join-token -q ${role}`), {}, { additionalSecretOutputs: ["stdout"] });
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
        const label = run(`label-${s.spec.name}`, first, nodeIds.get(s)!.apply((id) => swarmLabelScript(s.spec.name, id)));
        s.gates.push(label.stdout);
      }
      // Services are declared on the first manager: keep it first.
      states.splice(states.indexOf(first), 1);
      states.unshift(first);
    }

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

  private hcloudFirewall(name: string, args: DockerHostsArgs, labels: Record<string, string>): hcloud.Firewall {
    const rules: hcloud.types.input.FirewallRule[] = [
      { direction: "in", protocol: "tcp", port: "22", sourceIps: [args.adminCidr!], description: "SSH from the admin range" },
      ...args.adminPorts.map((p) => ({ direction: "in", protocol: "tcp", port: String(p.port), sourceIps: [args.adminCidr!], description: `${p.description} from the admin range` })),
      ...args.publicPorts.map((p) => ({ direction: "in", protocol: p.protocol, port: String(p.port), sourceIps: WORLD, description: p.description })),
    ];
    // Without a private network, swarm members reach each other on their public addresses.
    if (args.swarm && !args.privateNetwork) {
      const peers = args.hosts.filter((h) => !h.provision && h.address).map((h) => `${h.address}/32`);
      if (peers.length) for (const p of SWARM_PORTS) rules.push({ direction: "in", protocol: p.protocol, port: p.port, sourceIps: peers, description: "Swarm from existing members" });
    }
    return new hcloud.Firewall(`${name}-firewall`, { name: `${args.namePrefix}-hosts`, labels, rules }, { parent: this });
  }

  private doFirewall(name: string, args: DockerHostsArgs, tag: digitalocean.Tag, states: HostState[]): digitalocean.Firewall {
    const existingPeers = states.filter((s) => !s.spec.provision && s.spec.address).map((s) => `${s.spec.address}/32`);
    const inboundRules: digitalocean.types.input.FirewallInboundRule[] = [
      { protocol: "tcp", portRange: "22", sourceAddresses: [args.adminCidr!] },
      ...args.adminPorts.map((p) => ({ protocol: "tcp", portRange: String(p.port), sourceAddresses: [args.adminCidr!] })),
      ...args.publicPorts.map((p) => ({ protocol: p.protocol, portRange: String(p.port), sourceAddresses: WORLD })),
      // The env's own droplets talk freely (swarm, etcd, Patroni); DO firewalls filter the VPC too.
      { protocol: "tcp", portRange: "1-65535", sourceTags: [tag.name] },
      { protocol: "udp", portRange: "1-65535", sourceTags: [tag.name] },
      ...(args.swarm && existingPeers.length ? SWARM_PORTS.map((p) => ({ protocol: p.protocol, portRange: p.port, sourceAddresses: existingPeers })) : []),
    ];
    return new digitalocean.Firewall(
      `${name}-firewall-do`,
      {
        name: `${args.namePrefix}-hosts`,
        tags: [tag.name],
        inboundRules,
        outboundRules: [
          { protocol: "tcp", portRange: "1-65535", destinationAddresses: WORLD },
          { protocol: "udp", portRange: "1-65535", destinationAddresses: WORLD },
          { protocol: "icmp", destinationAddresses: WORLD },
        ],
      },
      { parent: this },
    );
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
      if (!UNIX_USER_RE.test(h.sshUser) || h.sshUser === "root") fail(`host ${h.name}: sshUser must be a non-root user (cloud-init disables root login), got ${JSON.stringify(h.sshUser)}`);
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
