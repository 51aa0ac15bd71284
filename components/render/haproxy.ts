// haproxy.cfg in front of a Patroni cluster. Pure: no Pulumi imports.
//
// HAProxy does not speak the Postgres protocol for health: it asks each member's Patroni REST
// API instead. `GET /primary` answers 200 only on the current leader, `GET /replica` only on a
// running replica, so the TCP frontend always lands on the leader and a failover moves traffic
// within inter*fall (~9 s). `on-marked-down shutdown-sessions` cuts clients still connected to a
// demoted leader, so nobody keeps writing to a node that is no longer primary.
//
// One member down must not take HAProxy down: member names (Swarm aliases) stop resolving while a
// member's service has no running task. Every server therefore resolves through a `resolvers`
// section (Docker's embedded DNS, 127.0.0.11:53, by default) with `init-addr last,libc,none`: a name
// that does not resolve at start leaves its server in maintenance instead of failing the
// configuration, and the resolver brings it back when the name resolves again.
// Sources: https://docs.haproxy.org/2.9/configuration.html#5.3 (resolvers, hold, init-addr) and
// https://docs.docker.com/engine/network/#dns-services (the embedded DNS server at 127.0.0.11).

/**
 * One Patroni member HAProxy routes to, health-checked on its REST API (GET /primary answers 200 on
 * the leader only: https://patroni.readthedocs.io/en/latest/rest_api.html).
 */
export interface PatroniMember {
  /** HAProxy server name, e.g. "pg-1". */
  name: string;
  /** IP or hostname the proxy reaches the member on. */
  host: string;
  pgPort: number;
  /** Patroni REST API port (default 8008). */
  restApiPort: number;
}

/** Input of {@link renderHaproxyCfg}; ports are TCP. */
export interface HaproxyCfgArgs {
  /** Read-write port: always the Patroni leader. */
  listenPort: number;
  /** Optional HTTP stats page (bind address is bindAddress too). */
  statsPort?: number;
  /** Adds a read-only, round-robin backend over healthy replicas on listenPort + 1. */
  replicas?: boolean;
  /** Address to bind the frontends on; default "*" (all). */
  bindAddress?: string;
  /** The cluster's members (at least one, distinct names). */
  members: PatroniMember[];
  /** Per-server connection cap; keep below each member's max_connections. Default 100. */
  maxConnPerServer?: number;
  /** DNS servers (ip:port) that resolve member names at run time. Default: Docker's embedded DNS, 127.0.0.11:53. */
  nameservers?: string[];
}

import { RenderInvariantError } from "./invariant";

/** Docker's embedded DNS server, reachable from every container on a user-defined network. */
export const DOCKER_DNS = "127.0.0.11:53";
const NAMESERVER_RE = /^(?:\d{1,3}\.){3}\d{1,3}:\d{1,5}$/;

/** A haproxy.cfg renderer invariant failed; the message starts with `haproxy.cfg:`. */
export class HaproxyConfigError extends RenderInvariantError {
  constructor(message: string) {
    super(message);
    this.name = "HaproxyConfigError";
  }
}

function fail(message: string): never {
  throw new HaproxyConfigError(`haproxy.cfg: ${message}`);
}

const SERVER_NAME_RE = /^[A-Za-z0-9][A-Za-z0-9_.:-]{0,62}$/;
// IPv4, bracket-less IPv6 is ambiguous with the port separator in HAProxy: require hostnames or IPv4,
// or IPv6 in brackets.
const HOST_RE = /^(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*|\[[0-9A-Fa-f:.]+\])$/;
const BIND_RE = /^(?:\*|[0-9.]+|\[[0-9A-Fa-f:.]+\]|::)$/;

function checkPort(value: unknown, field: string): number {
  if (typeof value !== "number" || !Number.isInteger(value) || value < 1 || value > 65535) {
    fail(`${field} must be an integer port 1..65535, got ${JSON.stringify(value)}`);
  }
  return value;
}

function bindSpec(address: string, port: number): string {
  return address === "::" ? `:::${port}` : `${address}:${port}`;
}

/**
 * haproxy.cfg routing `listenPort` to the Patroni leader (and optionally `listenPort + 1` to healthy
 * replicas). Pure; checked by the real `haproxy -c` in tests.
 * @throws HaproxyConfigError on a bad or clashing port, bind address, member or connection cap.
 */
export function renderHaproxyCfg(args: HaproxyCfgArgs): string {
  const listenPort = checkPort(args.listenPort, "listenPort");
  const replicas = args.replicas ?? false;
  const replicaPort = replicas ? checkPort(listenPort + 1, "listenPort + 1 (replica port)") : undefined;
  const statsPort = args.statsPort === undefined ? undefined : checkPort(args.statsPort, "statsPort");
  const bind = args.bindAddress ?? "*";
  if (!BIND_RE.test(bind)) fail(`bindAddress ${JSON.stringify(bind)} must be "*", "::", an IPv4 or a bracketed IPv6 address`);
  const maxConn = args.maxConnPerServer ?? 100;
  if (!Number.isInteger(maxConn) || maxConn < 1) fail(`maxConnPerServer must be a positive integer, got ${maxConn}`);

  const ports = [listenPort, replicaPort, statsPort].filter((p): p is number => p !== undefined);
  if (new Set(ports).size !== ports.length) {
    fail(`listenPort${replicas ? ", listenPort + 1 (replicas)" : ""} and statsPort must differ, got ${ports.join(", ")}`);
  }

  if (!Array.isArray(args.members) || args.members.length === 0) fail("members must list at least one Patroni member");
  const names = new Set<string>();
  args.members.forEach((m, i) => {
    if (!SERVER_NAME_RE.test(m.name)) fail(`members[${i}].name ${JSON.stringify(m.name)} must match ${SERVER_NAME_RE}`);
    if (names.has(m.name)) fail(`members[${i}].name ${JSON.stringify(m.name)} is used twice`);
    names.add(m.name);
    if (!HOST_RE.test(m.host)) fail(`members[${i}].host ${JSON.stringify(m.host)} must be a hostname, IPv4 or [IPv6]`);
    checkPort(m.pgPort, `members[${i}].pgPort`);
    checkPort(m.restApiPort, `members[${i}].restApiPort`);
  });

  const nameservers = args.nameservers ?? [DOCKER_DNS];
  if (nameservers.length === 0) fail("nameservers must list at least one ip:port");
  nameservers.forEach((ns, i) => {
    if (!NAMESERVER_RE.test(ns)) fail(`nameservers[${i}] ${JSON.stringify(ns)} must be an IPv4 ip:port such as 127.0.0.11:53`);
    checkPort(Number(ns.split(":")[1]), `nameservers[${i}] port`);
  });

  // init-addr last,libc,none: start even when a name does not resolve (the server stays in
  // maintenance until the resolver finds it); `resolvers` re-resolves names while running.
  const servers = args.members.map(
    (m) => `    server ${m.name} ${m.host}:${m.pgPort} maxconn ${maxConn} check port ${m.restApiPort} resolvers members init-addr last,libc,none resolve-prefer ipv4`,
  );
  const healthCheck = (endpoint: string) => [
    "    option httpchk",
    `    http-check send meth GET uri ${endpoint}`,
    "    http-check expect status 200",
    "    default-server inter 3s fall 3 rise 2 on-marked-down shutdown-sessions",
  ];

  const lines: string[] = [
    "# Rendered by twinstack (components/render/haproxy.ts). Routes Postgres clients to the",
    "# Patroni leader, health-checked through each member's REST API.",
    "global",
    "    log stdout format raw local0",
    "    maxconn 2000",
    "",
    "defaults",
    "    mode tcp",
    "    log global",
    "    option tcplog",
    "    option dontlognull",
    "    retries 2",
    "    timeout connect 4s",
    // Long client/server timeouts: idle pooled Postgres connections must survive.
    "    timeout client 30m",
    "    timeout server 30m",
    "    timeout check 5s",
    "",
    "resolvers members",
    ...nameservers.map((ns, i) => `    nameserver dns${i + 1} ${ns}`),
    "    accepted_payload_size 8192",
    "    resolve_retries 3",
    "    timeout resolve 1s",
    "    timeout retry 1s",
    // A member whose name vanished (no running task) is held briefly, then put in maintenance.
    "    hold valid 10s",
    "    hold nx 10s",
    "    hold timeout 10s",
    "    hold refused 10s",
    "    hold other 10s",
    "    hold obsolete 10s",
    "",
  ];
  if (statsPort !== undefined) {
    lines.push("listen stats", "    mode http", `    bind ${bindSpec(bind, statsPort)}`, "    stats enable", "    stats uri /", "    stats refresh 10s", "");
  }
  lines.push("listen postgres_primary", `    bind ${bindSpec(bind, listenPort)}`, ...healthCheck("/primary"), ...servers, "");
  if (replicaPort !== undefined) {
    lines.push("listen postgres_replicas", `    bind ${bindSpec(bind, replicaPort)}`, "    balance roundrobin", ...healthCheck("/replica"), ...servers, "");
  }
  return lines.join("\n");
}
