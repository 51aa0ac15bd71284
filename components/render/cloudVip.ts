// The node-side pieces of a cloud VIP that moves on failover (VirtualIp, mode hcloud): keepalived's
// notify_master script that asks the cloud API to route the IP to this node, and the container
// entrypoint that configures the floating IP on the node's public interface (now and persistently)
// and points keepalived's VRRP at the private-network interface. Pure: no Pulumi imports.
//
// Sources:
// - Hetzner floating IP assign: POST https://api.hetzner.cloud/v1/floating_ips/{id}/actions/assign
//   with {"server": <server id>}, Bearer token
//   (https://docs.hetzner.cloud/reference/cloud#floating-ip-actions-assign-a-floating-ip-to-a-server).
// - DigitalOcean reserved IP assign: POST https://api.digitalocean.com/v2/reserved_ips/{ip}/actions
//   with {"type": "assign", "droplet_id": <droplet id>}, Bearer token
//   (https://docs.digitalocean.com/reference/api/digitalocean/#tag/Reserved-IP-Actions).
// - Hetzner: a floating IP must be configured in the server's OS; persistently on Ubuntu (netplan)
//   as an extra /32 address of eth0 in /etc/netplan/60-floating-ip.yaml
//   (https://docs.hetzner.com/cloud/floating-ips/persistent-configuration/).
// - The script's HTTPS client is curl: osixia/keepalived:2.0.20 installs it with `apk add curl` and
//   does not remove it (its `apk del` list keeps curl)
//   (https://github.com/osixia/docker-keepalived/blob/v2.0.20/image/Dockerfile). The token reaches
//   curl as a config line on stdin (`-K -`, https://curl.se/docs/manpage.html#-K), never on a
//   command line (visible in `ps`) nor in the environment (visible in `docker inspect`).

import { RenderInvariantError } from "./invariant";
import { IFACE_RE } from "./keepalived";
import { renderScriptFile } from "./scriptFile";

/** A cloud VIP script renderer invariant failed (bad id, address, path, interface or API base). */
export class CloudVipScriptError extends RenderInvariantError {
  constructor(message: string) {
    super(message);
    this.name = "CloudVipScriptError";
  }
}

/** The clouds whose floating (hcloud) or reserved (DigitalOcean) IPs the scripts assign. */
export type CloudVipProvider = "hcloud" | "digitalocean";

/** The real API bases. Tests pass a local fake server's base instead; the program never does. */
export const CLOUD_API_BASE: Readonly<Record<CloudVipProvider, string>> = {
  hcloud: "https://api.hetzner.cloud/v1",
  digitalocean: "https://api.digitalocean.com/v2",
};

/** Input of {@link renderAssignScript}: which IP to assign to which server, and where the API token is. */
export interface AssignScriptArgs {
  /** The cloud whose API the script calls ({@link CLOUD_API_BASE}). */
  provider: CloudVipProvider;
  /** hcloud: the floating IP's numeric id; digitalocean: the reserved IPv4 itself. */
  ip: string;
  /** Numeric id of this node's server (hcloud) or droplet (digitalocean). */
  serverId: string;
  /** Absolute path of the file holding the API token (mode 0600, root). */
  tokenFile: string;
  /** Attempts before giving up (default 5), 2 s apart. */
  attempts?: number;
  /** Default: CLOUD_API_BASE[provider]. Only tests override it (a fake API on 127.0.0.1). */
  apiBase?: string;
}

const IPV4_RE = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;
const ID_RE = /^[1-9][0-9]{0,18}$/;
// Cloud ids are numeric; the offline plan's stand-in ids are resource names. Both are safe inside
// single quotes and JSON; only numeric ones become JSON numbers (what the APIs take).
const ID_TOKEN_RE = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/;
const idValue = (id: string): number | string => (ID_RE.test(id) ? Number(id) : id);
const PATH_RE = /^\/[A-Za-z0-9_.\/-]+$/;
const BASE_RE = /^https?:\/\/[A-Za-z0-9.:\[\]-]+(\/[A-Za-z0-9_.\/-]*)?$/;

function fail(message: string): never {
  throw new CloudVipScriptError(`cloud VIP script: ${message}`);
}

/** The request the script sends: method POST, this path (after the base) and this JSON body. */
export function assignRequest(args: Pick<AssignScriptArgs, "provider" | "ip" | "serverId">): { path: string; body: Record<string, unknown> } {
  if (!ID_TOKEN_RE.test(args.serverId)) fail(`serverId ${JSON.stringify(args.serverId)} must be a numeric id`);
  if (args.provider === "hcloud") {
    if (!ID_TOKEN_RE.test(args.ip) || IPV4_RE.test(args.ip)) fail(`hcloud floating IP id ${JSON.stringify(args.ip)} must be a numeric id`);
    return { path: `/floating_ips/${args.ip}/actions/assign`, body: { server: idValue(args.serverId) } };
  }
  if (args.provider === "digitalocean") {
    if (!IPV4_RE.test(args.ip)) fail(`reserved IP ${JSON.stringify(args.ip)} must be an IPv4 address`);
    return { path: `/reserved_ips/${args.ip}/actions`, body: { type: "assign", droplet_id: idValue(args.serverId) } };
  }
  return fail(`provider must be "hcloud" or "digitalocean", got ${JSON.stringify((args as { provider: unknown }).provider)}`);
}

/**
 * keepalived's notify_master script (POSIX sh): assigns the IP to this node through the cloud API,
 * retrying `attempts` times. Prints what it assigns and the HTTP status, never the token. Exit 0
 * on a 2xx answer, 1 otherwise. Every interpolated value is validated (ids, IPv4, paths), so the
 * script needs no quoting beyond single quotes.
 */
export function renderAssignScript(args: AssignScriptArgs): string {
  const { path, body } = assignRequest(args);
  if (!PATH_RE.test(args.tokenFile)) fail(`tokenFile ${JSON.stringify(args.tokenFile)} must be an absolute path of [A-Za-z0-9_./-]`);
  const attempts = args.attempts ?? 5;
  if (!Number.isInteger(attempts) || attempts < 1 || attempts > 100) fail(`attempts ${JSON.stringify(attempts)} must be 1..100`);
  const base = (args.apiBase ?? CLOUD_API_BASE[args.provider]).replace(/\/+$/, "");
  if (!BASE_RE.test(base)) fail(`apiBase ${JSON.stringify(base)} is not an http(s) URL`);
  const what = args.provider === "hcloud" ? `floating IP ${args.ip} to server ${args.serverId}` : `reserved IP ${args.ip} to droplet ${args.serverId}`;
  // Body: scripts/vip-notify-master.sh (docs/ARCHITECTURE.md, "Shell scripts").
  return renderScriptFile(
    "vip-notify-master.sh",
    [
      "#!/bin/sh",
      `# Rendered by twinstack: keepalived notify_master. Assigns ${what}`,
      "# through the cloud API. The token is read from a file and handed to curl on stdin (-K -):",
      "# it is never on a command line, in the environment, or printed.",
      "set -u",
    ],
    [
      ["token_file", args.tokenFile],
      ["url", `${base}${path}`],
      ["body", JSON.stringify(body)],
      ["what", what],
      ["attempts", String(attempts)],
    ],
  );
}

/** The interface name the keepalived.conf of a cloud VIP carries until the entrypoint resolves it. */
export const PRIVATE_IFACE_PLACEHOLDER = "twinstack-priv";

/** Input of {@link renderCloudVipEntrypoint}; paths are absolute, of `[A-Za-z0-9_./-]`. */
export interface CloudVipEntrypointArgs {
  /** The cloud of the IP: hcloud also configures it on the public interface and in netplan. */
  provider: CloudVipProvider;
  /** The floating/reserved IPv4. */
  address: string;
  /** This node's private-network address: the interface holding it carries VRRP. */
  privateAddress: string;
  /** hcloud: the public interface the floating IP is added to (Hetzner's images: eth0). */
  publicInterface: string;
  /** The rendered keepalived.conf (with PRIVATE_IFACE_PLACEHOLDER) and where the resolved copy goes. */
  confPath: string;
  /** Where the entrypoint writes keepalived.conf with the private interface resolved (keepalived's `--use-file`). */
  runtimeConfPath: string;
  /** Host's /etc/netplan mounted here (hcloud only). */
  hostNetplanDir: string;
}

/** The persistent netplan file the entrypoint writes on the host (hcloud), as Hetzner documents it. */
export const NETPLAN_FILE = "60-twinstack-floating-ip.yaml";

/**
 * netplan YAML adding the floating IPv4 (/32) to `publicInterface`, as Hetzner documents it
 * (https://docs.hetzner.com/cloud/floating-ips/persistent-configuration/).
 * @throws CloudVipScriptError when the interface is not a Linux interface name or the address not IPv4.
 */
export function renderNetplanFloatingIp(publicInterface: string, address: string): string {
  if (!IFACE_RE.test(publicInterface)) fail(`publicInterface ${JSON.stringify(publicInterface)} is not a Linux interface name`);
  if (!IPV4_RE.test(address)) fail(`address ${JSON.stringify(address)} must be an IPv4 address`);
  return [
    "# twinstack: the Hetzner floating IP of the env (https://docs.hetzner.com/cloud/floating-ips/persistent-configuration/)",
    "network:",
    "  version: 2",
    "  renderer: networkd",
    "  ethernets:",
    `    ${publicInterface}:`,
    "      addresses:",
    `        - ${address}/32`,
    "",
  ].join("\n");
}

/**
 * The keepalived container's script (run by `/bin/sh -c`, then `exec keepalived "$@"`):
 * hcloud: adds the floating IP to the public interface unless present and writes the netplan file
 * into the host's /etc/netplan so it survives a reboot (every VIP node has it; Hetzner routes the
 * IP only to the server it is assigned to). DigitalOcean needs nothing on the interface: a
 * reserved IP reaches the droplet through its anchor IP, which the droplet already has
 * (https://docs.digitalocean.com/products/networking/reserved-ips/how-to/find-anchor-ips/).
 * Then it finds the interface holding the private address (its name differs by server type) and
 * writes the runtime keepalived.conf with it.
 */
export function renderCloudVipEntrypoint(args: CloudVipEntrypointArgs): string {
  if (!IPV4_RE.test(args.address)) fail(`address ${JSON.stringify(args.address)} must be an IPv4 address`);
  if (!IPV4_RE.test(args.privateAddress)) fail(`privateAddress ${JSON.stringify(args.privateAddress)} must be an IPv4 address`);
  for (const [k, v] of [
    ["confPath", args.confPath],
    ["runtimeConfPath", args.runtimeConfPath],
    ["hostNetplanDir", args.hostNetplanDir],
  ] as const) {
    if (!PATH_RE.test(v)) fail(`${k} ${JSON.stringify(v)} must be an absolute path of [A-Za-z0-9_./-]`);
  }
  // Body: scripts/vip-entrypoint.sh (docs/ARCHITECTURE.md, "Shell scripts"); sent without its
  // final newline, as the `sh -c` text always was. DigitalOcean leaves the floating-IP settings empty.
  const hcloud = args.provider === "hcloud";
  const netplan = hcloud ? renderNetplanFloatingIp(args.publicInterface, args.address).trimEnd() : "";
  return renderScriptFile(
    "vip-entrypoint.sh",
    ["set -eu"],
    [
      ["floating_ip", hcloud ? args.address : ""],
      ["public_interface", hcloud ? args.publicInterface : ""],
      ["netplan_file", hcloud ? `${args.hostNetplanDir}/${NETPLAN_FILE}` : ""],
      ["netplan_text", netplan],
      ["private_address", args.privateAddress],
      ["placeholder", PRIVATE_IFACE_PLACEHOLDER],
      ["conf", args.confPath],
      ["runtime_conf", args.runtimeConfPath],
    ],
  ).replace(/\n$/, "");
}
