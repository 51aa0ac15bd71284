// Cloud provisioning of Docker hosts, for DockerHosts: a deploy key, Hetzner Cloud servers (with an
// optional private network) and DigitalOcean droplets whose cloud-init (components/render/
// dockerHostCloudInit.ts) installs Docker; a firewall lets in SSH from the admin range and the env's
// public ports only; each server is ready once cloud-init is done and Docker answers
// (READY_SCRIPT). Existing hosts pass through with the endpoint and address they were given.
import * as command from "@pulumi/command";
import * as digitalocean from "@pulumi/digitalocean";
import * as hcloud from "@pulumi/hcloud";
import * as pulumi from "@pulumi/pulumi";
import * as tls from "@pulumi/tls";
import type { DockerHostSpec, DockerHostsArgs } from "./dockerHosts";
import { renderDockerHostCloudInit } from "./render/dockerHostCloudInit";
import { READY_SCRIPT } from "./render/swarmScripts";
import { SWARM_PORTS } from "./swarm";
import { InvariantError } from "./render/invariant";
import { hostServerName } from "../model/names";

const WORLD = ["0.0.0.0/0", "::/0"];
/** An OpenSSH public key (else: the name or id of a key stored in the cloud account). */
export const PUBLIC_KEY_RE = /^(ssh-(rsa|ed25519|dss)|ecdsa-sha2-nistp(256|384|521)|sk-(ssh-ed25519|ecdsa-sha2-nistp256)@openssh\.com) /;
/** DigitalOcean names the Ubuntu images differently from Hetzner; the schema default is Hetzner's. */
const DO_IMAGE_ALIASES: Record<string, string> = { "ubuntu-24.04": "ubuntu-24-04-x64", "ubuntu-22.04": "ubuntu-22-04-x64" };

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
export function sshTarget(endpoint: string): { user?: string; host: string } | undefined {
  const m = /^ssh:\/\/(?:([^@/]+)@)?(\[[^\]]+\]|[^:/]+)/.exec(endpoint);
  return m ? { user: m[1], host: m[2] } : undefined;
}

/** One host on its way to an InstanceHost: provisioned (or given), then gated on readiness and swarm membership. */
export interface HostState {
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

/** The provisioned hosts' deploy key and the state of every host, in the order of `args.hosts`. */
export interface ProvisionedHosts {
  deployKey?: tls.PrivateKey;
  states: HostState[];
}

/**
 * Provisions the hosts that have `provision` and describes the existing ones. Children (parented
 * to `parent`, named from `name`): `${name}-deploy-key`, `${name}-deploy-key-hcloud`/`-do`,
 * `${name}-network`, `${name}-subnet`, `${name}-firewall`/`-firewall-do`, `${name}-tag`,
 * `${name}-host-<host>` (server or droplet, protected in prod) and `${name}-host-<host>-ready`.
 */
export function provisionHosts(name: string, parent: pulumi.Resource, args: DockerHostsArgs): ProvisionedHosts {
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
    deployKey = new tls.PrivateKey(`${name}-deploy-key`, { algorithm: "ED25519" }, { parent });
    if (uses("hcloud")) {
      hcloudKey = new hcloud.SshKey(`${name}-deploy-key-hcloud`, { name: `${prefix}-deploy`, publicKey: deployKey.publicKeyOpenssh, labels }, { parent });
      if (args.privateNetwork) {
        network = new hcloud.Network(`${name}-network`, { name: `${prefix}-net`, ipRange: args.privateNetwork.ipRange, labels }, { parent });
        subnet = new hcloud.NetworkSubnet(
          `${name}-subnet`,
          { networkId: network.id.apply(numericId), type: "cloud", networkZone: args.privateNetwork.zone, ipRange: args.privateNetwork.subnet },
          { parent },
        );
      }
    }
    if (uses("digitalocean")) {
      doKey = new digitalocean.SshKey(`${name}-deploy-key-do`, { name: `${prefix}-deploy`, publicKey: deployKey.publicKeyOpenssh }, { parent });
      doTag = new digitalocean.Tag(`${name}-tag`, { name: `${prefix}-hosts` }, { parent });
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
    const cloudPublicKeys = pulumi.all(cloudKeys.map((key) => cloudPublicKey(p.provider, key, parent)));
    const userData = pulumi
      .all([deployKey!.publicKeyOpenssh, cloudPublicKeys])
      .apply(([deployPub, named]) =>
        renderDockerHostCloudInit({ adminUser: spec.sshUser, sshAuthorizedKeys: [deployPub.trim(), ...adminKeys, ...named.map((k) => k.trim())], swarm: args.swarm }),
      );
    let ipv4: pulumi.Output<string>;
    let address: pulumi.Input<string>;
    let serverId: pulumi.Output<string>;
    if (p.provider === "hcloud") {
      const privateIp = args.privateNetwork ? subnetHostIp(args.privateNetwork.subnet, hcloudIndex++) : undefined;
      hcloudFirewall ??= makeHcloudFirewall(name, parent, args, labels);
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
        { parent, protect: args.protect, dependsOn: subnet ? [subnet] : undefined },
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
        { parent, protect: args.protect },
      );
      ipv4 = droplet.ipv4Address;
      // Droplets share the region's default VPC: members talk over their private addresses.
      address = droplet.ipv4AddressPrivate;
      serverId = droplet.id;
    }
    const connection = { host: ipv4, user: spec.sshUser, privateKey: deployKey!.privateKeyPem };
    const ready = new command.remote.Command(`${name}-host-${spec.name}-ready`, { connection, create: READY_SCRIPT, triggers: [serverId] }, { parent });
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

  if (doTag) doFirewall(name, parent, args, doTag, states);

  return { deployKey, states };
}

function makeHcloudFirewall(name: string, parent: pulumi.Resource, args: DockerHostsArgs, labels: Record<string, string>): hcloud.Firewall {
  const rules: hcloud.types.input.FirewallRule[] = [
    { direction: "in", protocol: "tcp", port: "22", sourceIps: [args.adminCidr!], description: "SSH from the admin range" },
    ...args.adminPorts.map((p) => ({ direction: "in", protocol: "tcp", port: String(p.port), sourceIps: [args.adminCidr!], description: `${p.description} from the admin range` })),
    ...args.publicPorts.map((p) => ({ direction: "in", protocol: p.protocol, port: String(p.port), sourceIps: WORLD, description: p.description })),
  ];
  // Without a private network, swarm members reach each other on their public addresses.
  if (args.swarm && !args.privateNetwork) {
    const peers = args.hosts.filter((h) => !h.provision && h.address).map((h) => `${h.address}/32`);
    if (peers.length)
      for (const p of SWARM_PORTS) rules.push({ direction: "in", protocol: p.protocol, port: p.port, sourceIps: peers, description: "Swarm from existing members" });
  }
  return new hcloud.Firewall(`${name}-firewall`, { name: `${args.namePrefix}-hosts`, labels, rules }, { parent });
}

function doFirewall(name: string, parent: pulumi.Resource, args: DockerHostsArgs, tag: digitalocean.Tag, states: HostState[]): digitalocean.Firewall {
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
    { parent },
  );
}
