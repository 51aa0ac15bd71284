// Decisions about an env's hosts that both the program and config validation need. Pure.
import type { HostConfig, StackConfig } from "./schema";

/** The login of a host's remote steps: the configured sshUser, else "deploy" (provisioned: the user cloud-init creates) or "root". */
export function sshUserOf(host: Pick<HostConfig, "sshUser" | "provision">): string {
  return host.sshUser ?? (host.provision ? "deploy" : "root");
}

/**
 * Hetzner Cloud location -> network zone. A private network's subnet lives in one zone, and only
 * servers of that zone's locations can join it.
 * Source: https://docs.hetzner.com/cloud/general/locations/ ("Network zones").
 */
export const HCLOUD_NETWORK_ZONES: Readonly<Record<string, string>> = {
  fsn1: "eu-central",
  nbg1: "eu-central",
  hel1: "eu-central",
  ash: "us-east",
  hil: "us-west",
  sin: "ap-southeast",
};

/**
 * The hosts that may hold a cloud VIP (vip.mode hcloud/digitalocean), highest priority first:
 * vip.nodes, else every host provisioned on the VIP's cloud (else the first host, which validation
 * then refuses). Two or more hcloud nodes get keepalived failover (components/virtualIp.ts), which
 * needs the private network and the API token (vip.apiTokenKey).
 */
export function cloudVipNodes(config: Pick<StackConfig, "vip" | "hosts">): string[] {
  if (config.vip.mode !== "hcloud" && config.vip.mode !== "digitalocean") return [];
  if (config.vip.nodes?.length) return config.vip.nodes;
  const onCloud = config.hosts.filter((h) => h.provision?.provider === config.vip.mode).map((h) => h.name);
  return onCloud.length ? onCloud : config.hosts.slice(0, 1).map((h) => h.name);
}

/** Whether the cloud VIP moves on failover: hcloud with two or more nodes. */
export function cloudVipFailover(config: Pick<StackConfig, "vip" | "hosts">): boolean {
  return config.vip.mode === "hcloud" && cloudVipNodes(config).length >= 2;
}

/** VRRP virtual_router_id of a cloud VIP's keepalived (its own private network: any id will do). */
export const CLOUD_VIP_DEFAULT_ROUTER_ID = 51;

/**
 * The hcloud private network of a stack's provisioned hosts: `ipRange` and `subnet` are CIDRs
 * (defaults 10.0.0.0/16 and 10.0.1.0/24), `zone` a Hetzner network zone such as `eu-central`.
 */
export interface PrivateNetworkPlan {
  ipRange: string;
  subnet: string;
  zone: string;
}

/**
 * The hcloud private network the provisioned hcloud hosts join, or undefined for none. On by
 * default when two or more hcloud hosts form a Swarm or run HA Postgres: the generated firewall
 * admits only the admin range and the env's public ports, so Swarm (2377/tcp, 7946, 4789/udp),
 * etcd and Patroni must run over the private network (Hetzner Cloud firewalls do not filter
 * private-network traffic: https://docs.hetzner.com/cloud/firewalls/faq/).
 */
export function privateNetworkPlan(config: StackConfig): { plan?: PrivateNetworkPlan; problems: { key: string; message: string }[] } {
  const problems: { key: string; message: string }[] = [];
  const net = config.provisioning.privateNetwork;
  const hcloudHosts = config.hosts.map((h, i) => ({ h, i })).filter(({ h }) => h.provision?.provider === "hcloud");
  // keepalived of a moving floating IP talks VRRP over it too.
  const needsPeers = hcloudHosts.length >= 2 && (config.runtime === "swarm" || config.haPostgres.enabled || cloudVipFailover(config));
  if (net.enabled === false && needsPeers) {
    problems.push({
      key: "provisioning.privateNetwork.enabled",
      message: `${hcloudHosts.length} hcloud hosts form a ${config.runtime === "swarm" ? "Swarm" : config.haPostgres.enabled ? "HA Postgres cluster" : "keepalived group moving the floating IP"}, but their firewall only admits the admin range and the public ports: remove this key (the default puts them on a private network)`,
    });
  }
  const enabled = hcloudHosts.length > 0 && (net.enabled ?? needsPeers);
  if (!enabled) return { problems };
  const zones = new Set<string>();
  for (const { h, i } of hcloudHosts) {
    const zone = HCLOUD_NETWORK_ZONES[h.provision!.location];
    if (zone) zones.add(zone);
    else if (!net.zone)
      problems.push({
        key: `hosts[${i}].provision.location`,
        message: `unknown hcloud location "${h.provision!.location}": set provisioning.privateNetwork.zone (locations: ${Object.keys(HCLOUD_NETWORK_ZONES).join(", ")})`,
      });
  }
  if (zones.size > 1) {
    problems.push({ key: "hosts", message: `hcloud hosts in network zones ${[...zones].sort().join(" and ")} cannot share a private network: put them in one zone's locations` });
  }
  const zone = net.zone ?? [...zones][0];
  if (net.zone && zones.size === 1 && !zones.has(net.zone)) {
    problems.push({ key: "provisioning.privateNetwork.zone", message: `"${net.zone}" is not the zone of the hosts' location (${[...zones][0]})` });
  }
  return { plan: zone ? { ipRange: net.ipRange, subnet: net.subnet, zone } : undefined, problems };
}
