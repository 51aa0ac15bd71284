// A virtual IP held by one of several nodes: keepalived VRRP containers on a LAN, or a Hetzner
// floating IP / DigitalOcean reserved IP assigned to a cloud server.
import * as digitalocean from "@pulumi/digitalocean";
import * as docker from "@pulumi/docker";
import * as hcloud from "@pulumi/hcloud";
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import { renderAssignScript, renderCloudVipEntrypoint, PRIVATE_IFACE_PLACEHOLDER } from "./render/cloudVip";
import { KeepalivedConfArgs, proxyTrackCommand, renderKeepalivedConf } from "./render/keepalived";
import { InvariantError } from "./render/invariant";
import { renderScriptFile } from "./render/scriptFile";
import { LABELS } from "../model/labels";
import { declareWorkload } from "./workload";

/** One keepalived node: a LAN host that may hold the VIP, with its VRRP priority and Docker provider. */
export interface VirtualIpNode {
  /** Host name; part of the container name, so docker-safe. */
  name: string;
  /** The node's own LAN address (VRRP unicast source/peer). */
  address: string;
  /** Highest first: the first node is MASTER. 1..254. */
  priority: number;
  dockerProvider: pulumi.ProviderResource;
}

/**
 * Arguments of {@link VirtualIp}: `mode` with its matching block (`keepalived` for "keepalived",
 * `cloud` for "hcloud" and "digitalocean").
 */
export interface VirtualIpArgs {
  /**
   * "keepalived": VRRP between LAN nodes (osixia/keepalived containers, host network); "hcloud": a
   * Hetzner floating IP; "digitalocean": a DigitalOcean reserved IP.
   */
  mode: "keepalived" | "hcloud" | "digitalocean";
  /** e.g. "gigi-dev": names of children and keepalived instance */
  namePrefix: string;
  /** Prod: protect the IP (cloud) against deletion. */
  protect: boolean;
  /**
   * Keepalived mode: the VIP, the interface it is added to, the VRRP router id, the image, the proxy
   * port the track script checks (TCP), the nodes (highest priority first), limits (CPUs, MiB) and labels.
   */
  keepalived?: {
    /** Bare IPv4, or with /prefix. */
    virtualIp: string;
    interface: string;
    /** 1..255, distinct per env on one LAN segment. */
    virtualRouterId: number;
    image: pulumi.Input<string>;
    /** Port of the local reverse proxy the track script checks. */
    proxyPort: number;
    /** In priority order, highest first. */
    nodes: VirtualIpNode[];
    /** CPU/memory limits per keepalived container (dev/preview workloads need them). */
    limits?: { cpus: number; memoryMb: number };
    /** Labels shared by the env's workloads (env, stack); role and host labels are added here. */
    labels?: Record<string, string>;
  };
  /**
   * Cloud mode: the location/region of the IP, the server it is assigned to, and (hcloud only) keepalived
   * failover between several servers.
   */
  cloud?: {
    /** hcloud home location (e.g. "fsn1") or DO region (e.g. "nyc3"). */
    location: string;
    /** Server (hcloud) or droplet (DO) id the IP is assigned to first. */
    assignTo: pulumi.Input<string>;
    /**
     * hcloud only: keepalived on each node (VRRP unicast over the private network) elects the
     * holder; its notify_master assigns the floating IP to that node's server through the API,
     * and every node has the IP on its public interface (now and in netplan). Without it the IP
     * stays where `assignTo` put it.
     */
    failover?: {
      image: pulumi.Input<string>;
      /** 1..255, distinct per env on one private network. */
      virtualRouterId: number;
      /** The cloud API token (a Pulumi secret): uploaded as a 0600 file, never in env or args. */
      apiToken: pulumi.Input<string>;
      /** Port the track script checks on the node's private address (the env's HTTPS port). */
      trackPort: number;
      /** Public interface the floating IP is configured on. Default eth0 (Hetzner's images). */
      publicInterface?: string;
      /** Highest priority first; the first is the initial MASTER (and assignTo's server). */
      nodes: { name: string; privateAddress: string; serverId: pulumi.Input<string>; priority: number; dockerProvider: pulumi.ProviderResource }[];
      limits?: { cpus: number; memoryMb: number };
      labels?: Record<string, string>;
    };
  };
}

/** Where the rendered config lands in the keepalived container (not the image's own default). */
export const KEEPALIVED_CONF_PATH = "/etc/keepalived/twinstack.conf";
/** keepalived in the foreground, VRRP only (no LVS), logging to the container log. */
export const KEEPALIVED_ARGS = ["--dont-fork", "--log-console", "--vrrp", "--use-file", KEEPALIVED_CONF_PATH];
/** Where the host's /etc/sysctl.d is mounted in the keepalived container. */
export const HOST_SYSCTL_DIR = "/host/etc/sysctl.d";
/**
 * Where the host's /proc/sys/net/ipv4 is bind-mounted in the keepalived container, writable: a
 * container's own /proc/sys is read-only (Docker's default ReadonlyPaths), and the CLI's
 * `--security-opt systempaths=unconfined` is handled client-side only (docker/cli
 * cli/command/container/opts.go parseSystemPaths: "should not be sent to the daemon"), so the
 * daemon, which the Docker provider talks to directly, refuses it ("invalid --security-opt"). net.*
 * sysctl files show the network namespace of the process that opens them: in the host's network
 * namespace (networkMode host) this is the host's.
 */
export const HOST_PROC_NET_IPV4 = "/host/proc/sys/net/ipv4";
/** The file that keeps non-local binds allowed across reboots (read by systemd-sysctl before dockerd starts). */
export const NONLOCAL_BIND_SYSCTL_FILE = "90-twinstack-nonlocal-bind.conf";
/**
 * keepalived's container entrypoint: `net.ipv4.ip_nonlocal_bind=1` on the node (now, and persisted in
 * the host's /etc/sysctl.d), then keepalived. Every VIP node runs the env's proxy bound to the VIP;
 * on a node that does not hold it (BACKUP) Docker's port binding (docker-proxy) fails with "cannot
 * assign requested address" unless non-local binds are allowed
 * (https://www.kernel.org/doc/Documentation/networking/ip-sysctl.txt, ip_nonlocal_bind). The
 * osixia/keepalived image is Alpine-based and has /bin/sh
 * (https://github.com/osixia/docker-keepalived/blob/stable/image/Dockerfile).
 */
export const KEEPALIVED_ENTRYPOINT = [
  "/bin/sh",
  "-c",
  // Body: scripts/vip-nonlocal-bind.sh (docs/ARCHITECTURE.md, "Shell scripts"), without its final newline.
  renderScriptFile(
    "vip-nonlocal-bind.sh",
    ["set -e"],
    [
      ["proc_net_ipv4", HOST_PROC_NET_IPV4],
      ["sysctl_file", `${HOST_SYSCTL_DIR}/${NONLOCAL_BIND_SYSCTL_FILE}`],
    ],
  ).replace(/\n$/, ""),
  "keepalived",
];
/** Cloud VIP (failover): the notify_master script and the API token file in the keepalived container. */
export const NOTIFY_MASTER_PATH = "/etc/keepalived/twinstack-notify-master.sh";
/**
 * Cloud VIP failover: where the cloud API token is uploaded (mode 0600) in the keepalived container;
 * notify_master reads it, so the token is never in env vars or arguments.
 */
export const API_TOKEN_PATH = "/etc/keepalived/twinstack-api-token";
/**
 * Cloud VIP: the keepalived.conf with the private interface resolved by the entrypoint, beside the
 * rendered one (the image's Dockerfile creates /etc/keepalived: `mkdir -p /etc/keepalived`).
 */
export const CLOUD_RUNTIME_CONF_PATH = "/etc/keepalived/twinstack-runtime.conf";
/**
 * keepalived's arguments for a cloud VIP: foreground, VRRP only, log to the console, and the runtime
 * config the entrypoint writes ({@link CLOUD_RUNTIME_CONF_PATH}); flags from keepalived(8).
 */
export const CLOUD_KEEPALIVED_ARGS = ["--dont-fork", "--log-console", "--vrrp", "--use-file", CLOUD_RUNTIME_CONF_PATH];
/** Where the host's /etc/netplan is mounted in a cloud VIP's keepalived container (hcloud). */
export const HOST_NETPLAN_DIR = "/host/etc/netplan";
/** Docker label carrying the VIP on keepalived containers (model/labels.ts `twinstack.vip`). */
export const VIP_LABEL = LABELS.vip;
/** Docker label carrying the VRRP router id on keepalived containers (model/labels.ts `twinstack.vrrp-router-id`). */
export const ROUTER_ID_LABEL = LABELS.routerId;
const TRACK_SCRIPT_NAME = "proxy_alive";
/**
 * How often and how strictly keepalived checks the node's proxy (keepalived.conf(5), vrrp_script:
 * `interval` seconds between runs, `timeout` seconds before a run counts as failed, `fall`
 * consecutive failures put the instance in FAULT, `rise` consecutive successes take it out). The
 * multi-host lab (tests/e2e/lab.e2e.test.ts, scenario 6) measured where a failover's time goes with
 * the renderer's defaults (interval 2, fall 2): the stopped proxy's port refuses at once, but the
 * first failing run came 1.8 s after the stop and FAULT 2 s later; the BACKUP took the VIP 0.46 s
 * after that and answered at once (its gratuitous ARPs were heard). A check every second with
 * fall 2 halves the detection (FAULT 1-2 s after the stop). Not fall 1: two consecutive refused
 * connects to the local proxy, one second apart, are needed, so a single slow or lost check never
 * moves the VIP; rise 2 keeps a node that comes back out of MASTER until its proxy has answered
 * twice. `timeout` 5 covers proxyTrackCommand's own worst case (nc -w 2, then wget -T 2): a slow
 * but working proxy is not failed by keepalived killing the check (without `timeout` keepalived uses
 * the interval: keepalived ChangeLog, "vrrp: Added a separate timeout parameter for vrrp_script
 * checks", /usr/share/doc/keepalived/changelog.gz). What it costs: one `sh -c 'nc ...'` per second
 * per node.
 */
export const PROXY_TRACK = { intervalSeconds: 1, timeoutSeconds: 5, fall: 2, rise: 2 } as const;
const NAME_RE = /^[a-z0-9][a-z0-9_.-]*$/;
const DOCKER_NAME_RE = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;

/**
 * Cloud APIs take numeric ids; providers expose them as strings. A non-numeric id only occurs
 * under mocks (offline plan): it is passed through as is, so the plan still shows what is
 * assigned to what.
 */
function numericId(id: string): number {
  return /^[0-9]+$/.test(id) ? Number(id) : (id as unknown as number);
}

/** The type token this component had before it was renamed; its `aliases` keep existing stacks' URNs. */
export const VIRTUAL_IP_OLD_TYPE = "twinstack:index:VipPair";

/**
 * The env's virtual IP: keepalived VRRP containers on two or more LAN nodes, or a cloud floating
 * or reserved IP assigned to one server (optionally moved between several by keepalived) — not
 * always a pair, hence no longer VipPair. Type token `twinstack:index:VirtualIp`, aliased to the
 * old `twinstack:index:VipPair` (https://www.pulumi.com/docs/iac/concepts/options/aliases/): a
 * stack declared with the old name keeps the component's URN and, through the parent alias, its
 * children's (named `${name}-...`), so prod's protected IPs are not replaced.
 * @throws InvariantError on a bad namePrefix or node name, nodes not in falling priority order, bad
 * limits, a missing location, or a mode without its block (or with the other mode's). Failover
 * args (bad node names or order, failover outside hcloud) throw a plain Error.
 *
 * @example
 * const vip = new VirtualIp("prod-vip", { mode: "hcloud", namePrefix: "myapp-prod", protect: true, cloud: { location: "fsn1", assignTo: serverId } }, { parent: this });
 * // vip.address: the floating IP
 */
export class VirtualIp extends pulumi.ComponentResource {
  /** The virtual IP, without prefix length. */
  public readonly address: pulumi.Output<string>;
  /** VRRP virtual_router_id (keepalived mode only). */
  public readonly routerId?: number;

  constructor(name: string, args: VirtualIpArgs, opts?: pulumi.ComponentResourceOptions) {
    super("twinstack:index:VirtualIp", name, {}, pulumi.mergeOptions(opts, { aliases: [{ type: VIRTUAL_IP_OLD_TYPE }] }));

    if (!NAME_RE.test(args.namePrefix)) {
      throw new InvariantError(`VirtualIp ${name}: namePrefix must be lowercase letters, digits, '_', '.', '-', got ${JSON.stringify(args.namePrefix)}`);
    }

    if (args.mode === "keepalived") {
      const k = args.keepalived;
      if (!k) throw new InvariantError(`VirtualIp ${name}: mode "keepalived" needs args.keepalived`);
      if (args.cloud) throw new InvariantError(`VirtualIp ${name}: mode "keepalived" takes no args.cloud`);
      k.nodes.forEach((n, i) => {
        if (!DOCKER_NAME_RE.test(n.name)) throw new InvariantError(`VirtualIp ${name}: node name ${JSON.stringify(n.name)} is not docker-safe`);
        if (i > 0 && !(n.priority < k.nodes[i - 1].priority)) {
          throw new InvariantError(
            `VirtualIp ${name}: nodes must be listed highest priority first (the first is MASTER); ` +
              `${n.name} (${n.priority}) follows ${k.nodes[i - 1].name} (${k.nodes[i - 1].priority})`,
          );
        }
      });
      if (k.limits && !(k.limits.cpus > 0 && Number.isInteger(k.limits.memoryMb) && k.limits.memoryMb > 0)) {
        throw new InvariantError(`VirtualIp ${name}: limits need cpus > 0 and a positive integer memoryMb`);
      }

      const vrrpNodes = k.nodes.map(({ name: n, address, priority }) => ({ name: n, address, priority }));
      const confArgs = (self: string, authPass: string): KeepalivedConfArgs => ({
        instanceName: args.namePrefix,
        virtualIp: k.virtualIp,
        interface: k.interface,
        virtualRouterId: k.virtualRouterId,
        authPass,
        nodes: vrrpNodes,
        self,
        // No weight: a node whose proxy is down goes to FAULT and the VIP moves.
        trackScript: { name: TRACK_SCRIPT_NAME, command: proxyTrackCommand(k.proxyPort), ...PROXY_TRACK },
      });
      // Render once with a stand-in pass now, so a bad config fails here with the field
      // named, not later inside an apply during the deployment.
      for (const n of k.nodes) renderKeepalivedConf(confArgs(n.name, "placehdr"));

      // VRRP PASS auth keeps 8 characters; alphanumeric needs no quoting in keepalived.conf.
      const authPass = new random.RandomPassword(`${name}-auth`, { length: 8, special: false }, { parent: this });
      const address = k.virtualIp.split("/")[0];

      for (const node of k.nodes) {
        // The file holds the auth pass, so its content is secret end to end.
        const conf = pulumi.secret(pulumi.all([authPass.result]).apply(([pass]) => renderKeepalivedConf(confArgs(node.name, pass))));
        declareWorkload(
          `${name}-keepalived-${node.name}`,
          {
            name: `${args.namePrefix}-keepalived-${node.name}`,
            role: "keepalived",
            image: k.image,
            // Bypass image entrypoints (osixia's templates its own config from env vars): a POSIX sh
            // step allows non-local binds, then execs keepalived with KEEPALIVED_ARGS.
            entrypoint: KEEPALIVED_ENTRYPOINT,
            command: KEEPALIVED_ARGS,
            // Docker refuses net.* `sysctls` for a container in the host's network namespace, and its
            // own /proc/sys is read-only: the host's net.ipv4 sysctls are mounted writable instead
            // (HOST_PROC_NET_IPV4; no --privileged).
            binds: [
              { hostPath: "/etc/sysctl.d", path: HOST_SYSCTL_DIR },
              { hostPath: "/proc/sys/net/ipv4", path: HOST_PROC_NET_IPV4 },
            ],
            files: [{ path: KEEPALIVED_CONF_PATH, content: conf, mode: "0600" }],
            // VRRP adverts and the VIP itself live on the host's interface.
            hostNetwork: true,
            capabilities: ["NET_ADMIN", "NET_BROADCAST", "NET_RAW"],
            labels: {
              ...(k.labels ?? {}),
              [LABELS.role]: "keepalived",
              [LABELS.host]: node.name,
              [VIP_LABEL]: address,
              [ROUTER_ID_LABEL]: String(k.virtualRouterId),
            },
            labelOrder: "given",
            limits: k.limits,
          },
          // Fixed name on a host network: never two of them for one node at once (the helper
          // deletes a named container before creating its replacement).
          { runtime: "standalone", provider: node.dockerProvider, parent: this },
        );
      }

      this.address = pulumi.output(address);
      this.routerId = k.virtualRouterId;
    } else if (args.mode === "hcloud" || args.mode === "digitalocean") {
      const c = args.cloud;
      if (!c) throw new InvariantError(`VirtualIp ${name}: mode "${args.mode}" needs args.cloud`);
      if (args.keepalived) throw new InvariantError(`VirtualIp ${name}: mode "${args.mode}" takes no args.keepalived`);
      if (!c.location) throw new InvariantError(`VirtualIp ${name}: cloud.location is required`);
      const target = pulumi.output(c.assignTo);

      if (args.mode === "hcloud") {
        const ip = new hcloud.FloatingIp(
          `${name}-ip`,
          {
            name: `${args.namePrefix}-vip`,
            type: "ipv4",
            homeLocation: c.location,
            // Also refuse deletion from the console or API, not only from Pulumi.
            deleteProtection: args.protect,
          },
          { parent: this, protect: args.protect },
        );
        new hcloud.FloatingIpAssignment(
          `${name}-assignment`,
          {
            floatingIpId: ip.id.apply((id) => numericId(id)),
            serverId: target.apply((id) => numericId(id)),
          },
          // With failover keepalived moves the IP; a later `pulumi up` must not move it back.
          { parent: this, ignoreChanges: c.failover ? ["serverId"] : undefined },
        );
        this.address = ip.ipAddress;
        if (c.failover) this.cloudFailover(name, args, c.failover, ip);
        this.routerId = c.failover?.virtualRouterId;
      } else {
        if (c.failover) {
          // DO Cloud Firewalls pass only tcp/udp/icmp, so VRRP (IP protocol 112) cannot reach the
          // peers; model/validate.ts refuses this before anything is declared.
          throw new InvariantError(`VirtualIp ${name}: failover is supported for hcloud floating IPs only`);
        }
        const ip = new digitalocean.ReservedIp(`${name}-ip`, { region: c.location }, { parent: this, protect: args.protect });
        new digitalocean.ReservedIpAssignment(
          `${name}-assignment`,
          {
            ipAddress: ip.ipAddress,
            dropletId: target.apply((id) => numericId(id)),
          },
          { parent: this },
        );
        this.address = ip.ipAddress;
      }
    } else {
      throw new InvariantError(`VirtualIp ${name}: mode must be "keepalived", "hcloud" or "digitalocean", got ${JSON.stringify((args as { mode: unknown }).mode)}`);
    }

    this.registerOutputs({ address: this.address, routerId: this.routerId });
  }

  /** keepalived containers electing the floating IP's holder; see VirtualIpArgs.cloud.failover. */
  private cloudFailover(name: string, args: VirtualIpArgs, f: NonNullable<NonNullable<VirtualIpArgs["cloud"]>["failover"]>, ip: hcloud.FloatingIp): void {
    f.nodes.forEach((n, i) => {
      if (!DOCKER_NAME_RE.test(n.name)) throw new InvariantError(`VirtualIp ${name}: node name ${JSON.stringify(n.name)} is not docker-safe`);
      if (i > 0 && !(n.priority < f.nodes[i - 1].priority)) throw new InvariantError(`VirtualIp ${name}: failover nodes must be listed highest priority first`);
    });
    const publicInterface = f.publicInterface ?? "eth0";
    const vrrpNodes = f.nodes.map(({ name: n, privateAddress, priority }) => ({ name: n, address: privateAddress, priority }));
    const confArgs = (self: string, privateAddress: string, authPass: string): KeepalivedConfArgs => ({
      instanceName: args.namePrefix,
      // The entrypoint puts in the interface that holds the node's private address.
      interface: PRIVATE_IFACE_PLACEHOLDER,
      virtualRouterId: f.virtualRouterId,
      authPass,
      nodes: vrrpNodes,
      self,
      notifyMaster: NOTIFY_MASTER_PATH,
      // The env's proxy is a Swarm service: the ingress answers its port on every local address, also
      // for connections the node itself opens (Docker jumps to DOCKER-INGRESS from nat OUTPUT and
      // PREROUTING for --dst-type LOCAL: moby libnetwork/service_linux.go, programIngress).
      trackScript: { name: TRACK_SCRIPT_NAME, command: proxyTrackCommand(f.trackPort, privateAddress), ...PROXY_TRACK },
    });
    for (const n of f.nodes) renderKeepalivedConf(confArgs(n.name, n.privateAddress, "placehdr"));
    const authPass = new random.RandomPassword(`${name}-auth`, { length: 8, special: false }, { parent: this });
    const token = pulumi.secret(f.apiToken);

    for (const node of f.nodes) {
      const conf = pulumi.secret(authPass.result.apply((pass) => renderKeepalivedConf(confArgs(node.name, node.privateAddress, pass))));
      const notify = pulumi.all([ip.id, node.serverId]).apply(([ipId, serverId]) => renderAssignScript({ provider: "hcloud", ip: ipId, serverId, tokenFile: API_TOKEN_PATH }));
      const entrypoint = ip.ipAddress.apply((address) => [
        "/bin/sh",
        "-c",
        renderCloudVipEntrypoint({
          provider: "hcloud",
          address,
          privateAddress: node.privateAddress,
          publicInterface,
          confPath: KEEPALIVED_CONF_PATH,
          runtimeConfPath: CLOUD_RUNTIME_CONF_PATH,
          hostNetplanDir: HOST_NETPLAN_DIR,
        }),
        "keepalived",
      ]);
      declareWorkload(
        `${name}-keepalived-${node.name}`,
        {
          name: `${args.namePrefix}-keepalived-${node.name}`,
          role: "keepalived",
          image: f.image,
          entrypoint: entrypoint,
          command: CLOUD_KEEPALIVED_ARGS,
          binds: [{ hostPath: "/etc/netplan", path: HOST_NETPLAN_DIR }],
          files: [
            { path: KEEPALIVED_CONF_PATH, content: conf, mode: "0600" },
            // enable_script_security: root-owned and not writable by others.
            { path: NOTIFY_MASTER_PATH, content: notify, mode: "0700" },
            // The token: a secret upload, never an env var (env shows in `docker inspect` and the plan).
            { path: API_TOKEN_PATH, content: token, mode: "0600" },
          ],
          // VRRP and the floating IP live on the host's interfaces.
          hostNetwork: true,
          capabilities: ["NET_ADMIN", "NET_BROADCAST", "NET_RAW"],
          labels: {
            ...(f.labels ?? {}),
            [LABELS.role]: "keepalived",
            [LABELS.host]: node.name,
            [VIP_LABEL]: ip.ipAddress,
            [ROUTER_ID_LABEL]: String(f.virtualRouterId),
          },
          labelOrder: "given",
          limits: f.limits,
        },
        { runtime: "standalone", provider: node.dockerProvider, parent: this },
      );
    }
  }
}
