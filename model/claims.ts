// What a stack claims exclusively on shared infrastructure (addresses, ports, names), derived from
// its config with the same naming conventions the program uses. Two stacks of the project must
// never claim the same thing; the policy pack's cross-stack rule compares these lists.
import type { StackConfig, HostConfig } from "./schema";
import { isWellFormedUnicode, previewBranch, previewSlug } from "./slug";
import { KEEPALIVED_HEALTH_PORT_BASE, REDIS_PORT } from "./ports";
import { CLOUD_VIP_DEFAULT_ROUTER_ID, cloudVipFailover, cloudVipNodes } from "./hosts";
import { databaseName, hostServerName, namePrefix, previewDatabaseName, redisKeyPrefix } from "./names";

/** What a stack can claim exclusively; two stacks may never claim the same value of a kind (policy rule 2). */
export type ClaimKind = "vip" | "routerId" | "hostPort" | "database" | "role" | "domain" | "mqttPort" | "redisPrefix" | "volumePath" | "previewSlug";

/** One exclusive claim of a stack, computed from its validated config by {@link stackClaims}. */
export interface Claim {
  kind: ClaimKind;
  /**
   * The claimed value, scoped where the scope matters:
   * hostPort/mqttPort `<docker endpoint>|<bind address>:<port>`, routerId `<docker endpoint>|<id>`,
   * database/role `<server host>:<port>/<name>`, redisPrefix `<host>:<port>/<db>|<prefix>` (never the
   * URL's user or password), volumePath `<docker endpoint>|<path>`,
   * previewSlug `<slug> on dev stack "<dev stack name>"`.
   */
  value: string;
  /** The config key that made the claim, e.g. twinstack:vip.address. */
  key: string;
  /** hostPort/mqttPort: the name of the stack's host (`hosts[].name`) the port is published on. */
  host?: string;
}

/** How a violation message names each {@link ClaimKind}. */
export const CLAIM_LABELS: Record<ClaimKind, string> = {
  vip: "VIP",
  routerId: "VRRP router id",
  hostPort: "published host port",
  database: "database",
  role: "database role",
  domain: "domain",
  mqttPort: "MQTT port",
  redisPrefix: "Redis key prefix",
  volumePath: "volume path",
  previewSlug: "preview slug",
};

const WILDCARD = "0.0.0.0";
const LOOPBACK = "127.0.0.1";

/**
 * The Docker endpoint a host is reached on. Provisioned hosts have none before they exist: they
 * are new machines named `<app>-<env>-host-<name>`, so that name identifies them.
 */
export function hostEndpoint(config: StackConfig, host: HostConfig): string {
  if (host.docker) return host.docker;
  const app = config.app?.name ?? "app";
  return `provisioned:${hostServerName(namePrefix(app, config.env), host.name)}`;
}

/**
 * The machine behind an endpoint, so ssh://deploy@10.0.0.5 and ssh://root@10.0.0.5:22 (and
 * tcp://10.0.0.5:2376) compare equal. Every unix:// socket is "this machine".
 */
export function machineOf(endpoint: string): string {
  const match = /^(ssh|tcp|https?):\/\/(?:[^@/]*@)?(\[[^\]]+\]|[^:/]+)/.exec(endpoint);
  if (match) return `host:${match[2].toLowerCase()}`;
  if (endpoint.startsWith("unix://") || endpoint.startsWith("npipe://")) return "local";
  return endpoint;
}

/** A host name as DNS compares it: case-insensitive, trailing dot optional. */
export function normalHost(host: string): string {
  return host
    .toLowerCase()
    .replace(/\.$/, "")
    .replace(/^\[|\]$/g, "");
}

/** A Redis URL's server and database, as the client connects: host (normalised), port (6379), db (0). */
export function redisServer(url: string): string {
  try {
    const u = new URL(url);
    const db = Number(u.pathname.replace(/^\//, "") || "0");
    return `${normalHost(u.hostname)}:${u.port || REDIS_PORT}/${db}`;
  } catch {
    return url;
  }
}

/** A host path with `.`, `..`, repeated and trailing slashes resolved. */
export function normalPath(p: string): string {
  const out: string[] = [];
  for (const seg of p.split("/")) {
    if (seg === "" || seg === ".") continue;
    if (seg === "..") out.pop();
    else out.push(seg);
  }
  return `/${out.join("/")}`;
}

/** Hosts whose addresses a published port binds: the first host standalone, every node in a swarm (ingress publishes everywhere). */
function workloadHosts(config: StackConfig): HostConfig[] {
  return config.runtime === "swarm" ? config.hosts : config.hosts.slice(0, 1);
}

/**
 * Where the env's proxy runs and what it binds, as InstanceStack declares it: standalone, one
 * container on the first host; in a Swarm, one standalone container per VIP node when it binds one
 * address (the keepalived VIP or proxy.bindAddress) or a loopback health port, since a Swarm
 * service's ports bind every address of every node; otherwise a service published on every node.
 */
export function proxyPlacement(config: StackConfig): { hosts: HostConfig[]; bind: string; healthPort?: number } {
  const keepalived = config.vip.mode === "keepalived";
  const bind = config.proxy.bindAddress ?? (keepalived ? config.vip.address : undefined) ?? WILDCARD;
  const healthPort = keepalived && config.vip.routerId !== undefined ? KEEPALIVED_HEALTH_PORT_BASE + config.vip.routerId : undefined;
  if (config.runtime !== "swarm") return { hosts: config.hosts.slice(0, 1), bind, healthPort };
  if (keepalived) {
    const nodes = config.vip.nodes ?? config.hosts.map((h) => h.name);
    return { hosts: config.hosts.filter((h) => nodes.includes(h.name)), bind, healthPort };
  }
  if (config.proxy.bindAddress) return { hosts: config.hosts.slice(0, 1), bind };
  return { hosts: config.hosts, bind: WILDCARD };
}

/**
 * The env's database name (`<app>_<env>`; a preview's `<app>_preview_<slug>`, slug from
 * `preview.branch` or else from the stack name `preview-<slug>`); undefined without `app.name` or
 * when a preview's branch is unknown.
 */
export function physicalDatabaseName(config: StackConfig, stack?: string): string | undefined {
  const app = config.app?.name;
  if (!app) return undefined;
  if (config.env !== "preview") return databaseName(app, config.env);
  const slug = branchSlugOf(config, stack);
  return slug ? previewDatabaseName(app, slug) : undefined;
}

/**
 * The slug of a preview's branch ({@link previewBranch}); undefined when the branch is unknown or
 * has no slug (empty, not well-formed: validation names that key).
 */
function branchSlugOf(config: StackConfig, stack: string | undefined): string | undefined {
  const branch = previewBranch(config.preview.branch, stack);
  if (branch === undefined || branch === "" || !isWellFormedUnicode(branch)) return undefined;
  return previewSlug(branch);
}

/** The claims of one stack. `stack` (the stack name) names a preview's database. */
export function stackClaims(config: StackConfig, opts: { stack?: string } = {}): Claim[] {
  const claims: Claim[] = [];
  const add = (kind: ClaimKind, value: string, key: string) => claims.push({ kind, value, key });
  const preview = config.env === "preview";

  // Domains: the main ones, extra proxy sites, tenants (apex zones and templates per org), the vault.
  config.domains.forEach((d, i) => add("domain", d, `twinstack:domains[${i}]`));
  config.proxy.sites.forEach((site, i) => site.domains.forEach((d, j) => add("domain", d, `twinstack:proxy.sites[${i}].domains[${j}]`)));
  config.tenants.forEach((tenant, i) => {
    tenant.domains.forEach((d, j) => add("domain", d, `twinstack:tenants[${i}].domains[${j}]`));
    tenant.templates.forEach((template, j) =>
      tenant.orgs.forEach((o) => add("domain", template.replace("{org}", o.org).replace("{tld}", o.tld), `twinstack:tenants[${i}].templates[${j}]`)),
    );
  });
  if (config.vault?.enabled && config.vault.domain) add("domain", config.vault.domain, "twinstack:vault.domain");

  // Databases and roles: only a shared server can be claimed twice; a dedicated one is the stack's own.
  if (config.postgres.mode === "shared" && config.postgres.host) {
    const name = physicalDatabaseName(config, opts.stack);
    if (name) {
      const server = `${normalHost(config.postgres.host)}:${config.postgres.port}`;
      // The name is <app>_<env>: two stacks only derive the same one from the same app name and env.
      const key = preview ? "twinstack:preview.branch" : "twinstack:app.name";
      add("database", `${server}/${name}`, key);
      add("role", `${server}/${name}`, key);
    }
  }

  // Redis: a shared server is partitioned by key prefix.
  if (config.redis.mode === "shared" && config.redis.url) {
    const prefix = preview ? config.redis.prefix : redisKeyPrefix(config.env, config.redis.prefix);
    // The server as host:port/db: a URL's user and password are no part of the claim (violation
    // messages quote claims, and a plan's output is posted on pull requests).
    if (prefix !== undefined) add("redisPrefix", `${redisServer(config.redis.url)}|${prefix}`, "twinstack:redis.prefix");
  }

  // A preview runs on the dev stack's host, network and proxy: it publishes nothing of its own, but
  // its container, database, image tag and route on dev's proxy are named from its branch's slug
  // (names come from dev's app, which a preview file does not repeat): one slug per dev stack.
  if (preview) {
    const slug = branchSlugOf(config, opts.stack);
    if (slug !== undefined) {
      const dev = config.preview.devStack.slice(config.preview.devStack.lastIndexOf("/") + 1);
      // The key names where the branch came from: the file's key, or else the stack's own name.
      add("previewSlug", `${slug} on dev stack "${dev}"`, config.preview.branch !== undefined ? "twinstack:preview.branch" : "the stack name");
    }
    return claims;
  }

  const hosts = workloadHosts(config);
  const vipAddress = config.vip.mode === "keepalived" ? config.vip.address : undefined;
  const port = (kind: "hostPort" | "mqttPort", bind: string, p: number, key: string, on: HostConfig[] = hosts) => {
    for (const host of on) claims.push({ kind, value: `${hostEndpoint(config, host)}|${bind}:${p}`, key, host: host.name });
  };
  // Everything below is published by the env's own services: a runner-fleet stack has none.
  if (!config.app) return claims;
  if (config.proxy.enabled) {
    const proxy = proxyPlacement(config);
    port("hostPort", proxy.bind, config.proxy.httpPort, "twinstack:proxy.httpPort", proxy.hosts);
    port("hostPort", proxy.bind, config.proxy.httpsPort, "twinstack:proxy.httpsPort", proxy.hosts);
    if (proxy.healthPort !== undefined) port("hostPort", LOOPBACK, proxy.healthPort, "twinstack:vip.routerId", proxy.hosts);
  }
  if (config.app?.publishPort !== undefined) port("hostPort", WILDCARD, config.app.publishPort, "twinstack:app.publishPort");
  // A dedicated Postgres is a standalone container on the first host, in a Swarm too.
  if (config.postgres.mode === "dedicated" && config.postgres.publishPort !== undefined) {
    port("hostPort", LOOPBACK, config.postgres.publishPort, "twinstack:postgres.publishPort", config.hosts.slice(0, 1));
  }
  // Standalone, git over SSH binds the VIP; a Swarm service port binds every address of every node.
  if (config.gitea.enabled) port("hostPort", config.runtime === "swarm" ? WILDCARD : (vipAddress ?? WILDCARD), config.gitea.sshPort, "twinstack:gitea.sshPort");
  if (config.mqtt.enabled) port("mqttPort", WILDCARD, config.mqtt.port, "twinstack:mqtt.port");
  // HAProxy in front of Patroni is published for the operator's postgresql provider (the host firewall admits the admin range).
  if (config.haPostgres.enabled) port("hostPort", WILDCARD, config.haPostgres.port, "twinstack:haPostgres.port");

  if (config.vip.mode === "keepalived") {
    if (config.vip.address) add("vip", config.vip.address, "twinstack:vip.address");
    if (config.vip.routerId !== undefined) {
      // VRRP router ids only clash on one LAN: scope them by the hosts that run keepalived.
      const nodes = config.vip.nodes ?? config.hosts.map((h) => h.name);
      for (const host of config.hosts.filter((h) => nodes.includes(h.name))) {
        add("routerId", `${hostEndpoint(config, host)}|${config.vip.routerId}`, "twinstack:vip.routerId");
      }
    }
  }

  // A moving hcloud floating IP: keepalived (components/virtualIp.ts) on each VIP node, VRRP over the
  // env's private network, with this router id.
  if (cloudVipFailover(config)) {
    const nodes = cloudVipNodes(config);
    for (const host of config.hosts.filter((h) => nodes.includes(h.name))) {
      add("routerId", `${hostEndpoint(config, host)}|${config.vip.routerId ?? CLOUD_VIP_DEFAULT_ROUTER_ID}`, "twinstack:vip.routerId");
    }
  }

  if (config.vault?.enabled) {
    for (const host of hosts) add("volumePath", `${hostEndpoint(config, host)}|${config.vault.hostPath}`, "twinstack:vault.hostPath");
  }
  return claims;
}

interface ParsedPort {
  machine: string;
  address: string;
  port: string;
}

function parsePortClaim(value: string): ParsedPort | undefined {
  const bar = value.lastIndexOf("|");
  if (bar < 0) return undefined;
  const bind = value.slice(bar + 1);
  const colon = bind.lastIndexOf(":");
  if (colon < 0) return undefined;
  return { machine: machineOf(value.slice(0, bar)), address: bind.slice(0, colon), port: bind.slice(colon + 1) };
}

function scoped(value: string): { scope: string; rest: string } {
  const bar = value.lastIndexOf("|");
  return bar < 0 ? { scope: "", rest: value } : { scope: value.slice(0, bar), rest: value.slice(bar + 1) };
}

const PORT_KINDS: ClaimKind[] = ["hostPort", "mqttPort"];

/** Whether two claims (of two different stacks) are for the same thing. */
export function claimsClash(a: Claim, b: Claim): boolean {
  if (PORT_KINDS.includes(a.kind) && PORT_KINDS.includes(b.kind)) {
    // All port kinds share one port space per machine; 0.0.0.0 overlaps every address.
    const pa = parsePortClaim(a.value);
    const pb = parsePortClaim(b.value);
    if (!pa || !pb) return a.value === b.value;
    return pa.machine === pb.machine && pa.port === pb.port && (pa.address === pb.address || pa.address === WILDCARD || pb.address === WILDCARD);
  }
  if (a.kind !== b.kind) return false;
  switch (a.kind) {
    case "routerId": {
      const sa = scoped(a.value);
      const sb = scoped(b.value);
      return machineOf(sa.scope) === machineOf(sb.scope) && sa.rest === sb.rest;
    }
    case "volumePath": {
      // One path inside the other is the same data.
      const sa = scoped(a.value);
      const sb = scoped(b.value);
      const [pa, pb] = [normalPath(sa.rest), normalPath(sb.rest)];
      const within = (x: string, y: string) => x === y || y === "/" || x.startsWith(`${y}/`);
      return machineOf(sa.scope) === machineOf(sb.scope) && (within(pa, pb) || within(pb, pa));
    }
    case "redisPrefix": {
      // Same server and database, and one prefix a prefix of the other ("prod:" covers "prod:x").
      // stackClaims writes `<host>:<port>/<db>|<prefix>`; a claim written with a URL is normalised here.
      const split = (v: string) => {
        const { server, prefix } = redisClaimParts(v);
        return { server: server.includes("://") ? redisServer(server) : server, prefix };
      };
      const [ra, rb] = [split(a.value), split(b.value)];
      return ra.server === rb.server && (ra.prefix.startsWith(rb.prefix) || rb.prefix.startsWith(ra.prefix));
    }
    case "database":
    case "role":
    case "vip":
      return a.value.toLowerCase() === b.value.toLowerCase();
    case "domain":
      return normalHost(a.value) === normalHost(b.value);
    default:
      return a.value === b.value;
  }
}

/**
 * A redisPrefix claim's value split at its `|`: the server as written (`<host>:<port>/<db>`, or a URL
 * in a hand-written claim, whose own `|`-free scheme part is skipped) and the prefix ("" when none).
 */
function redisClaimParts(value: string): { server: string; prefix: string; hasPrefix: boolean } {
  const bar = value.indexOf("|", value.includes("://") ? value.indexOf("://") + 3 : 0);
  return bar < 0 ? { server: value, prefix: "", hasPrefix: false } : { server: value.slice(0, bar), prefix: value.slice(bar + 1), hasPrefix: true };
}

/** A claim's value as a message shows it: a Redis prefix as `"<prefix>" on <host>:<port>/<db>`, others as they are. */
export function claimText(claim: Claim): string {
  if (claim.kind !== "redisPrefix") return claim.value;
  const { server, prefix, hasPrefix } = redisClaimParts(claim.value);
  return hasPrefix ? `${JSON.stringify(prefix)} on ${server}` : claim.value;
}

/** Two claims of two stacks that collide: `mine` from the checked stack, `theirs` from the other. */
export interface Clash {
  mine: Claim;
  theirs: Claim;
}

/** Every pair of clashing claims, one per distinct (kind, my value, their value). */
export function findClashes(mine: Claim[], theirs: Claim[]): Clash[] {
  const seen = new Set<string>();
  const out: Clash[] = [];
  for (const m of mine) {
    for (const t of theirs) {
      if (!claimsClash(m, t)) continue;
      const id = `${m.kind}\u0000${m.value}\u0000${t.value}`;
      if (seen.has(id)) continue;
      seen.add(id);
      out.push({ mine: m, theirs: t });
    }
  }
  return out;
}
