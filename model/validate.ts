// Every semantic check of a stack's config, run by parseStackConfig (stacks/config.ts) after the
// schema and before the program declares anything. Each problem is one line naming file and key;
// a value is only shown when the engine does not mark its key secret. Renderers and components
// keep their own checks as invariants only (components/render/invariant.ts).
import { maskCredentials } from "./redact";
import { cloudVipNodes, privateNetworkPlan } from "./hosts";
import { claimsClash, stackClaims } from "./claims";
import { isIP } from "net";
import { isGeneratedEnvVar, GENERATED_ENV_VARS } from "./appEnv";
import { caddyValueProblem } from "./caddyValues";
import { LABEL_RE, SSH_KEY_RE, VERSION_RE } from "./hostValues";
import { IFACE_RE } from "./hostValues";
import { StackConfig } from "./schema";
import { branchFromStackName, isWellFormedUnicode, previewSlug } from "./slug";
import { hostServerName, namePrefix, PREVIEW_REDIS_PREFIX_START, RUNNER_MACHINE_NAME_RE, runnerMachineName, runnerNamePrefix } from "./names";

/**
 * Upper bounds of counts and sizes (documented in the README). A bigger value is a typo or would
 * plan thousands of resources; raise a bound here if a real stack needs it.
 */
export const MAXIMA = {
  replicas: 50,
  workers: 100,
  runners: 50,
  hosts: 50,
  cpus: 512,
  memoryMb: 1024 * 1024,
  mqttDevices: 1000,
  tenants: 1000,
  connectionLimit: 10000,
  backupKeep: 1000,
  backupIntervalSeconds: 366 * 86400,
  dnsTtl: 7 * 86400,
} as const;

/** A StackReference name: stack, org/stack or org/project/stack. */
export const STACK_REFERENCE_RE = /^(?!.*(^|\/)\.{1,2}(\/|$))([A-Za-z0-9_.-]+\/){0,2}[A-Za-z0-9_.-]+$/;

/** Tokens that make a name belong to prod (a non-prod stack must not name prod's things). */
const PROD_TOKENS = ["prod", "production", "prd", "live"];

type Path = PropertyKey[];

/**
 * What {@link validateStack} needs beside the parsed config: the stack file (named in each message),
 * which keys are secret, whether the stack declares runners, the stack name, and the keys that already
 * failed the schema.
 */
export interface ValidateContext {
  file: string;
  /** Whether a top-level key is secret (the engine decrypted it): its values are never shown. */
  isSecret: (topLevelKey: string) => boolean;
  declaresRunners: boolean;
  /** The stack's name (names of provisioned servers fall back to it without an app). */
  stack?: string;
  /**
   * Key paths whose values failed the schema and were dropped (defaults in their place) so the
   * rest of the file could still be checked (stacks/config.ts). A check whose key or inputs
   * overlap one of them is skipped: its problem would only echo the schema's.
   */
  tainted?: Path[];
}

/**
 * Whether two key paths overlap: one is a prefix of the other ("*" matches any one segment), e.g.
 * hosts and hosts[1].cpus, or hosts.*.name and hosts[2].name.
 */
export function pathsOverlap(a: Path, b: Path): boolean {
  for (let i = 0; i < Math.min(a.length, b.length); i++) {
    if (a[i] !== "*" && b[i] !== "*" && String(a[i]) !== String(b[i])) return false;
  }
  return true;
}

/** Whether any of `paths` overlaps a tainted path (see ValidateContext.tainted). */
export function touchesTainted(tainted: Path[] | undefined, paths: Path[]): boolean {
  return !!tainted?.length && paths.some((p) => tainted.some((t) => pathsOverlap(p, t)));
}

/** `["app", "workers", 0, "command"]` -> `twinstack:app.workers[0].command`. */
export function keyPath(path: Path): string {
  let text = `twinstack:${String(path[0])}`;
  for (const segment of path.slice(1)) text += typeof segment === "number" ? `[${segment}]` : `.${String(segment)}`;
  return text;
}

const HOSTNAME_RE = /^(?=.{1,253}$)([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*\.?$/;
/** A host name or an IP address: nothing that could change the URL or file it is written into. */
export function isHostOrIp(value: string): boolean {
  return isIP(value) !== 0 || HOSTNAME_RE.test(value);
}

/** Lower-case tokens of a name: lugh-prod-net -> [lugh, prod, net]. */
export function nameTokens(value: string): string[] {
  return value
    .toLowerCase()
    .split(/[^a-z0-9]+/)
    .filter(Boolean);
}

/** A cloud key id/fingerprint/name, or a whole single-line OpenSSH public key. */
const CLOUD_KEY_RE = /^[A-Za-z0-9][A-Za-z0-9:._-]{0,127}$/;

function ipv4ToInt(ip: string): number {
  return ip.split(".").reduce((n, o) => n * 256 + Number(o), 0);
}
function parseIpv4Cidr(cidr: string): { base: number; bits: number } | undefined {
  const [ip, bits] = cidr.split("/");
  if (isIP(ip) !== 4 || !/^\d{1,2}$/.test(bits ?? "") || Number(bits) > 32) return undefined;
  return { base: ipv4ToInt(ip), bits: Number(bits) };
}

/**
 * Every semantic problem of a parsed stack config (beyond the schema), each one line
 * `<file>: twinstack:<key>: <message>`; empty when valid. A secret key's value is
 * never shown.
 */
export function validateStack(c: StackConfig, ctx: ValidateContext): string[] {
  const problems: string[] = [];
  // The env decides most rules; without a valid one, only the schema's problems are reported.
  if (touchesTainted(ctx.tainted, [["env"]])) return problems;
  /** One problem at `path`; `inputs` are the other keys it depends on (skipped when one is tainted). */
  const at = (path: Path, message: string, inputs: Path[] = []) => {
    if (!touchesTainted(ctx.tainted, [path, ...inputs])) problems.push(`${ctx.file}: ${keyPath(path)}: ${message}`);
  };
  // Provisioned hosts that must talk to each other: the private network they need (model/hosts.ts).
  if (!touchesTainted(ctx.tainted, [["hosts"], ["provisioning"], ["runtime"], ["haPostgres"]])) {
    for (const problem of privateNetworkPlan(c).problems) problems.push(`${ctx.file}: twinstack:${problem.key}: ${problem.message}`);
  }
  /** The value for a message, or nothing when its key is secret. */
  const show = (path: Path, value: unknown) => (ctx.isSecret(String(path[0])) ? "(value not shown: the key holds a secret)" : maskCredentials(JSON.stringify(value)));
  const int = (path: Path, value: number | undefined, lo: number, hi: number, what: string) => {
    if (value === undefined) return;
    if (!Number.isInteger(value) || value < lo || value > hi) at(path, `expected a whole number of ${what} from ${lo} to ${hi}, got ${show(path, value)}`);
  };
  const limits = (path: Path, l: { cpus: number; memoryMb: number } | undefined) => {
    if (!l) return;
    if (!(l.cpus > 0 && l.cpus <= MAXIMA.cpus)) at([...path, "cpus"], `expected CPUs above 0 and at most ${MAXIMA.cpus}, got ${show(path, l.cpus)}`);
    int([...path, "memoryMb"], l.memoryMb, 1, MAXIMA.memoryMb, "MiB");
  };
  /** A config error on the second (and later) occurrence of a name. */
  const unique = <T>(items: T[], key: (item: T) => string, path: (i: number) => Path, what: string) => {
    const seen = new Map<string, number>();
    items.forEach((item, i) => {
      const k = key(item);
      const first = seen.get(k);
      if (first !== undefined) at(path(i), `duplicate ${what} ${show(path(i), k)} (also at index ${first})`);
      else seen.set(k, i);
    });
  };
  const host = (path: Path, value: string | undefined, what: string) => {
    if (value !== undefined && !isHostOrIp(value)) at(path, `expected ${what} (a host name or an IP address, nothing else), got ${show(path, value)}`);
  };
  const nonProd = c.env !== "prod";
  const notProds = (path: Path, value: string | undefined, what: string) => {
    if (!nonProd || value === undefined) return;
    const token = nameTokens(value).find((t) => PROD_TOKENS.includes(t));
    if (token) at(path, `a ${c.env} stack cannot use prod's ${what} (the name carries the token "${token}"): name this env's own`);
  };

  // ---- counts and sizes ----
  int(["hosts"], c.hosts.length, 1, MAXIMA.hosts, "hosts");
  c.hosts.forEach((h, i) => {
    if (!(h.cpus > 0 && h.cpus <= MAXIMA.cpus)) at(["hosts", i, "cpus"], `expected CPUs above 0 and at most ${MAXIMA.cpus}, got ${show(["hosts"], h.cpus)}`);
    int(["hosts", i, "memoryMb"], h.memoryMb, 1, MAXIMA.memoryMb, "MiB");
  });
  if (c.app) {
    int(["app", "replicas"], c.app.replicas, 1, MAXIMA.replicas, "replicas");
    int(["app", "workers"], c.app.workers.length, 0, MAXIMA.workers, "workers");
    c.app.workers.forEach((w, i) => {
      int(["app", "workers", i, "replicas"], w.replicas, 1, MAXIMA.replicas, "replicas");
      limits(["app", "workers", i, "limits"], w.limits);
    });
    limits(["app", "limits"], c.app.limits);
  }
  int(["runners", "count"], c.runners.count, 0, MAXIMA.runners, "runners");
  int(["mqtt", "devices"], c.mqtt.devices.length, 0, MAXIMA.mqttDevices, "devices");
  int(["tenants"], c.tenants.length, 0, MAXIMA.tenants, "tenants");
  int(["postgres", "connectionLimit"], c.postgres.connectionLimit, -1, MAXIMA.connectionLimit, "connections (-1 = no limit)");
  int(["backup", "keep"], c.backup.keep, 1, MAXIMA.backupKeep, "dumps");
  int(["backup", "intervalSeconds"], c.backup.intervalSeconds, 60, MAXIMA.backupIntervalSeconds, "seconds");
  int(["dns", "ttl"], c.dns.ttl, 30, MAXIMA.dnsTtl, "seconds");
  for (const key of ["postgres", "redis", "mqtt", "gitea", "browser", "proxy", "haPostgres"] as const) limits([key, "limits"], c[key].limits);
  limits(["gitea", "runner", "limits"], c.gitea.runner.limits);
  limits(["vault", "limits"], c.vault?.limits);
  limits(["budget", "defaultLimits"], c.budget.defaultLimits);
  limits(["preview", "limits"], c.preview.limits);

  // ---- duplicate names ----
  if (c.app)
    unique(
      c.app.workers,
      (w) => w.name,
      (i) => ["app", "workers", i, "name"],
      "worker name",
    );
  unique(
    c.mqtt.devices,
    (d) => d,
    (i) => ["mqtt", "devices", i],
    "device",
  );
  unique(
    c.tenants,
    (t) => t.name,
    (i) => ["tenants", i, "name"],
    "tenant name",
  );
  c.tenants.forEach((t, i) =>
    unique(
      t.orgs,
      (o) => `${o.org}.${o.tld}`,
      (j) => ["tenants", i, "orgs", j],
      "org",
    ),
  );
  unique(
    c.proxy.basicAuth,
    (u) => u.user,
    (i) => ["proxy", "basicAuth", i, "user"],
    "basic-auth user",
  );
  unique(
    c.postgres.extensions,
    (e) => e,
    (i) => ["postgres", "extensions", i],
    "extension",
  );
  unique(
    c.vip.nodes ?? [],
    (n) => n,
    (i) => ["vip", "nodes", i],
    "VIP node",
  );
  if (c.app) {
    const features = Object.keys(c.app.features);
    unique(
      features,
      (f) => f.toUpperCase(),
      (i) => ["app", "features", features[i]],
      "feature (FEATURE_<NAME> is upper case)",
    );
  }
  // Domains: one site per domain across main domains, extra sites, tenants and the vault.
  const domains: { domain: string; path: Path }[] = [];
  c.domains.forEach((d, i) => domains.push({ domain: d, path: ["domains", i] }));
  c.proxy.sites.forEach((s, i) => s.domains.forEach((d, j) => domains.push({ domain: d, path: ["proxy", "sites", i, "domains", j] })));
  c.tenants.forEach((t, i) => {
    // Each tenant is a site of the proxy, which needs a domain to answer for.
    if (t.domains.length === 0 && t.orgs.length * t.templates.length === 0)
      at(["tenants", i], `tenant "${t.name}" has no domain: give it domains, or orgs and templates (each template applied to each org)`);
    t.domains.forEach((d, j) => domains.push({ domain: d, path: ["tenants", i, "domains", j] }));
    t.templates.forEach((tpl, j) => t.orgs.forEach((o) => domains.push({ domain: tpl.replace("{org}", o.org).replace("{tld}", o.tld), path: ["tenants", i, "templates", j] })));
  });
  if (c.vault?.enabled && c.vault.domain) domains.push({ domain: c.vault.domain, path: ["vault", "domain"] });
  const owner = new Map<string, Path>();
  for (const { domain, path } of domains) {
    const key = domain.toLowerCase().replace(/\.$/, "");
    const first = owner.get(key);
    if (first && keyPath(first) !== keyPath(path)) at(path, `duplicate domain "${key}" (also at ${keyPath(first)})`);
    else if (first) at(path, `yields the domain "${key}" twice`);
    else owner.set(key, path);
  }

  // ---- app env: what the program generates cannot be set by hand ----
  if (c.app) {
    for (const map of ["env", "secretEnv"] as const) {
      for (const name of Object.keys(c.app[map])) {
        if (isGeneratedEnvVar(name)) {
          at(
            ["app", map, name],
            `is generated by twinstack (${GENERATED_ENV_VARS.join(", ")}, FEATURE_*) and cannot be set: use the config key that controls it (e.g. redis.prefix, app.features)`,
          );
        }
      }
    }
    Object.keys(c.app.env).forEach((name) => {
      if (c.app!.secretEnv[name] !== undefined) at(["app", "secretEnv", name], "is also set in app.env: set it in one of the two");
    });
  }

  // ---- a non-prod stack never names prod's network, database, template or keys ----
  notProds(["postgres", "network"], c.postgres.network, "Docker network");
  notProds(["postgres", "template"], c.postgres.template, "database as a template");
  notProds(["redis", "prefix"], c.redis.prefix, "Redis key prefix");
  if (c.redis.prefix !== undefined && c.redis.prefix === "") at(["redis", "prefix"], "expected a non-empty key prefix (an empty prefix covers every other env's keys)");
  else if (c.redis.prefix !== undefined && c.env !== "preview") {
    // Previews keep their keys under preview-<slug>: on dev's Redis (model/names.ts previewRedisPrefix).
    const previews = PREVIEW_REDIS_PREFIX_START;
    if (c.redis.prefix.startsWith(previews) || previews.startsWith(c.redis.prefix))
      at(
        ["redis", "prefix"],
        `${show(["redis", "prefix"], c.redis.prefix)} overlaps the preview stacks' keys (${previews}<slug>: on dev's Redis): choose a prefix that does not start with "${previews}"`,
      );
  }

  // ---- values that reach a generated text ----
  host(["postgres", "host"], c.postgres.host, "the server's host");
  host(["postgres", "appHost"], c.postgres.appHost, "the server's host as the app sees it");
  if (c.postgres.network !== undefined && !/^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/.test(c.postgres.network))
    at(["postgres", "network"], `expected a Docker network name, got ${show(["postgres"], c.postgres.network)}`);
  if (c.postgres.template !== undefined && !/^[a-z_][a-z0-9_]{0,62}$/.test(c.postgres.template))
    at(["postgres", "template"], `expected a database name (lower case letters, digits, "_"), got ${show(["postgres"], c.postgres.template)}`);
  if (c.postgres.mode === "dedicated" && !c.haPostgres.enabled) {
    const modeKeys: Path[] = [
      ["postgres", "mode"],
      ["haPostgres", "enabled"],
    ];
    if (c.postgres.template !== undefined) at(["postgres", "template"], 'needs postgres.mode "shared" (a dedicated server starts empty)', modeKeys);
    if (c.postgres.connectionLimit !== -1)
      at(["postgres", "connectionLimit"], 'needs postgres.mode "shared" (the dedicated role is the server\'s superuser, which Postgres exempts from connection limits)', modeKeys);
  }
  if (c.redis.url !== undefined) {
    let parsed: URL | undefined;
    try {
      parsed = new URL(c.redis.url);
    } catch {
      parsed = undefined;
    }
    const dbPath = parsed?.pathname ?? "";
    if (!parsed || !isHostOrIp(parsed.hostname.replace(/^\[|\]$/g, "")) || !/^(\/\d{0,2})?$/.test(dbPath) || parsed.search || parsed.hash) {
      at(["redis", "url"], `expected redis://[user:password@]host[:port][/db], got ${show(["redis"], c.redis.url)}`);
    } else if (parsed.password && !ctx.isSecret("redis")) {
      // The URL is not shown: it holds the password.
      at(["redis", "url"], "holds a password in plain text: make it a secret (pulumi config set --secret --path 'twinstack:redis.url' <url>)");
    }
  }
  Object.entries(c.proxy.headers).forEach(([name, value]) => {
    const bad = caddyValueProblem.headerName(name);
    if (bad) at(["proxy", "headers", name], bad);
    else if (caddyValueProblem.headerValue(value)) at(["proxy", "headers", name], `${caddyValueProblem.headerValue(value)}, got ${show(["proxy"], value)}`);
  });
  const lowerHeaders = Object.keys(c.proxy.headers).map((h) => h.toLowerCase());
  Object.keys(c.proxy.headers).forEach((h, i) => {
    if (lowerHeaders.indexOf(h.toLowerCase()) !== i) at(["proxy", "headers", h], "is set twice (header names ignore case)");
    if (nonProd && h.toLowerCase() === "x-robots-tag") at(["proxy", "headers", h], `is set by twinstack on a ${c.env} stack (noindex): remove it`);
  });
  if (c.proxy.acmeEmail !== undefined) {
    const bad = caddyValueProblem.email(c.proxy.acmeEmail);
    if (bad) at(["proxy", "acmeEmail"], `expected an email address such as ops@example.com, got ${show(["proxy"], c.proxy.acmeEmail)}`);
  }
  const upstream = (path: Path, value: string) => {
    if (value === "app") return;
    if (caddyValueProblem.upstream(value)) at(path, `expected "app", host:port, [ipv6]:port or http(s)://host[:port], got ${show(path, value)}`);
  };
  c.proxy.sites.forEach((s, i) => upstream(["proxy", "sites", i, "upstream"], s.upstream));
  c.tenants.forEach((t, i) => upstream(["tenants", i, "upstream"], t.upstream));
  if (c.vip.mode === "keepalived") {
    if (!IFACE_RE.test(c.vip.interface) || c.vip.interface === "lo")
      at(["vip", "interface"], `expected a Linux interface name (not lo), e.g. eth0, got ${show(["vip"], c.vip.interface)}`);
    const holders = c.vip.nodes ?? c.hosts.map((h) => h.name);
    c.hosts.forEach((h, i) => {
      if (holders.includes(h.name) && h.address !== undefined && isIP(h.address) !== 4)
        at(["hosts", i, "address"], `expected the host's IPv4 address (keepalived unicast peer), got ${show(["hosts"], h.address)}`, [
          ["vip", "nodes"],
          ["hosts", "*", "name"],
        ]);
    });
  }
  if (c.vip.mode === "hcloud" || c.vip.mode === "digitalocean") {
    const nodes = cloudVipNodes(c);
    const inputs: Path[] = [["vip", "nodes"], ["hosts"]];
    for (const node of nodes) {
      const h = c.hosts.find((x) => x.name === node);
      if (h && !h.provision) at(["vip", "mode"], `a ${c.vip.mode} VIP is assigned to a provisioned host, and "${node}" is not provisioned`, inputs);
      else if (h?.provision && h.provision.provider !== c.vip.mode) at(["vip", "mode"], `host "${node}" is provisioned on ${h.provision.provider}, not ${c.vip.mode}`, inputs);
    }
    if (c.vip.mode === "digitalocean" && nodes.length > 1) {
      // https://docs.digitalocean.com/reference/api/digitalocean/#tag/Firewalls (protocol: tcp, udp or icmp)
      at(
        ["vip", "nodes"],
        `a DigitalOcean reserved IP cannot move between ${nodes.length} droplets here: keepalived's VRRP (IP protocol 112) is dropped by the droplets' Cloud Firewall, which passes only tcp, udp and icmp; name one node (vip.nodes: [${nodes[0]}])`,
        [["vip", "mode"]],
      );
    }
  }
  c.hosts.forEach((h, i) => {
    if (h.address !== undefined && !isHostOrIp(h.address)) at(["hosts", i, "address"], `expected an IP address or host name, got ${show(["hosts"], h.address)}`);
    if (h.sshUser !== undefined && !/^[a-z_][a-z0-9_-]{0,31}$/.test(h.sshUser)) at(["hosts", i, "sshUser"], `expected a Unix user name, got ${show(["hosts"], h.sshUser)}`);
    else if (h.provision && h.sshUser === "root")
      at(["hosts", i, "sshUser"], 'a provisioned host logs in as a non-root admin user (cloud-init disables root login): remove the key (default "deploy") or name another user', [
        ["hosts", i, "provision"],
      ]);
    h.provision?.sshKeys.forEach((k, j) => {
      if (!SSH_KEY_RE.test(k) && !CLOUD_KEY_RE.test(k)) at(["hosts", i, "provision", "sshKeys", j], "expected a single-line OpenSSH public key or a cloud SSH key id/fingerprint");
    });
    if (h.provision)
      unique(
        h.provision.sshKeys,
        (k) => k,
        (j) => ["hosts", i, "provision", "sshKeys", j],
        "SSH key",
      );
    Object.entries(h.labels).forEach(([k, v]) => {
      if (!/^[A-Za-z0-9][A-Za-z0-9_.\/-]{0,62}$/.test(k) || !/^[\x21-\x7e]{0,63}$/.test(v))
        at(["hosts", i, "labels", k], "expected a node label key of letters, digits, ._/- and a printable value without spaces");
    });
  });
  if (c.hosts.some((h) => h.provision) && !(c.provisioning.adminCidr ?? c.runners.adminCidr)) {
    at(["provisioning", "adminCidr"], "required key is missing (provisioned hosts): the only range allowed to SSH in", [["runners", "adminCidr"]]);
  }
  const adminCidr = c.provisioning.adminCidr;
  if (adminCidr && /\/0$/.test(adminCidr)) at(["provisioning", "adminCidr"], `opens SSH to the whole internet (${adminCidr}): use your admin range`);
  // Firewalls take an IPv4 or IPv6 range: an address and a prefix length that fits it.
  for (const path of [
    ["provisioning", "adminCidr"],
    ["runners", "adminCidr"],
  ] as const) {
    const value = c[path[0]].adminCidr;
    if (value === undefined) continue;
    const [ip, bits] = value.split("/");
    const family = isIP(ip);
    if (family === 0 || !/^\d{1,3}$/.test(bits ?? "") || Number(bits) > (family === 4 ? 32 : 128))
      at([...path], `expected an IPv4 or IPv6 range such as 203.0.113.0/24, got ${show([...path], value)}`);
  }
  // Provisioned servers are named <app>-<env>-host-<host>: a host name (RFC 1123 label) has at most 63 characters.
  const serverPrefix = hostServerName(namePrefix(c.app?.name ?? ctx.stack ?? "", c.env), "");
  c.hosts.forEach((h, i) => {
    if (h.provision && serverPrefix.length + h.name.length > 63)
      at(
        ["hosts", i, "name"],
        `at most ${63 - serverPrefix.length} characters for a provisioned host (its server is named ${serverPrefix}<name>, at most 63), got ${h.name.length}`,
        [["app", "name"]],
      );
    // The policy pack tells runner machines (ephemeral: no reserved IP, no volume) by their name,
    // ...-runner-<i> (model/names.ts): a server must not be named like one.
    else if (h.provision && RUNNER_MACHINE_NAME_RE.test(serverPrefix + h.name))
      at(
        ["hosts", i, "name"],
        `a provisioned host's server, ${serverPrefix}${h.name}, would end in runner-<digits>, the name of a CI runner machine (which the policy pack holds to be ephemeral): name the host otherwise`,
      );
  });
  // Servers, swarm nodes, HA Postgres members and runner machines are named from <app>-<env>: host
  // names, so no "_" there (components/dockerHosts.ts, haPostgres.ts, runnerFleet.ts).
  const machineNames = c.hosts.some((h) => h.provision) || c.runtime === "swarm" || c.haPostgres.enabled || c.runners.count > 0;
  const HOST_LABEL_RE = /^[a-z][a-z0-9-]*[a-z0-9]$/;
  if (machineNames && c.app && !HOST_LABEL_RE.test(c.app.name)) {
    at(["app", "name"], `expected letters, digits and "-" only (no "_"): it names this stack's machines (provisioned hosts, swarm, HA Postgres or runners), which are host names`, [
      ["hosts"],
      ["runtime"],
      ["haPostgres", "enabled"],
      ["runners", "count"],
    ]);
  }
  if (c.runners.count > 0 && !c.app && ctx.stack !== undefined) {
    const longest = runnerMachineName(runnerNamePrefix(namePrefix(ctx.stack, c.env)), c.runners.count - 1);
    if (!HOST_LABEL_RE.test(ctx.stack) || longest.length > 63)
      at(["runners", "count"], `the runner machines are named after the stack, ${longest}: a host name of letters, digits and "-", at most 63 characters`);
  }
  // A swarm is formed over SSH and advertises each existing member's address (components/dockerHosts.ts).
  if (c.runtime === "swarm") {
    c.hosts.forEach((h, i) => {
      if (h.provision) return;
      if (!h.address) at(["hosts", i, "address"], 'required key is missing (runtime "swarm": an existing member advertises its address)', [["runtime"], ["hosts", i, "provision"]]);
      if (h.docker !== undefined && !/^ssh:\/\//.test(h.docker))
        at(["hosts", i, "docker"], `runtime "swarm" forms the swarm over SSH: expected ssh://user@host, got ${show(["hosts"], h.docker)}`, [
          ["runtime"],
          ["hosts", i, "provision"],
        ]);
    });
  }
  const net = c.provisioning.privateNetwork;
  if (net.enabled) {
    const range = parseIpv4Cidr(net.ipRange);
    const subnet = parseIpv4Cidr(net.subnet);
    if (!range) at(["provisioning", "privateNetwork", "ipRange"], `expected an IPv4 CIDR such as 10.0.0.0/16, got ${show(["provisioning"], net.ipRange)}`);
    if (!subnet) at(["provisioning", "privateNetwork", "subnet"], `expected an IPv4 CIDR such as 10.0.1.0/24, got ${show(["provisioning"], net.subnet)}`);
    else {
      const size = 2 ** (32 - subnet.bits);
      if (subnet.base % size !== 0) at(["provisioning", "privateNetwork", "subnet"], "is not a network address (host bits set)");
      if (10 + c.hosts.length >= size - 1) at(["provisioning", "privateNetwork", "subnet"], `has no room for ${c.hosts.length} hosts from .11 on`, [["hosts"]]);
      if (range && (subnet.bits < range.bits || Math.floor(subnet.base / 2 ** (32 - range.bits)) !== Math.floor(range.base / 2 ** (32 - range.bits)))) {
        at(["provisioning", "privateNetwork", "subnet"], "is not inside provisioning.privateNetwork.ipRange", [["provisioning", "privateNetwork", "ipRange"]]);
      }
    }
  }
  // Runner labels and versions go into the runner's command line (comma-separated) and cloud-init.
  const labels = (path: Path, list: string[]) => {
    list.forEach((l, i) => {
      if (!LABEL_RE.test(l)) at([...path, i], `expected a runner label without whitespace, commas or non-ASCII characters, got ${show(path, l)}`);
    });
    unique(
      list,
      (l) => l.split(":")[0],
      (i) => [...path, i],
      "runner label name",
    );
  };
  if (c.runners.count > 0) {
    labels(["runners", "labels"], c.runners.labels);
    if (c.runners.labels.length === 0) at(["runners", "labels"], "expected at least one label");
    if (!VERSION_RE.test(c.runners.runnerVersion))
      at(["runners", "runnerVersion"], `expected a version such as 6.3.1 (no leading "v"), got ${show(["runners"], c.runners.runnerVersion)}`);
    c.runners.sshKeys.forEach((k, j) => {
      if (!SSH_KEY_RE.test(k) && !CLOUD_KEY_RE.test(k)) at(["runners", "sshKeys", j], "expected a single-line OpenSSH public key or a cloud SSH key id/fingerprint");
    });
    if (c.runners.forgeUrl !== undefined) {
      let ok = false;
      try {
        const u = new URL(c.runners.forgeUrl);
        ok = !u.username && !u.password && !u.search && !u.hash && !/[\s'"\\`$]/.test(c.runners.forgeUrl);
      } catch {
        ok = false;
      }
      if (!ok) at(["runners", "forgeUrl"], `expected a base URL such as https://forge.example.com (no credentials, query or quotes), got ${show(["runners"], c.runners.forgeUrl)}`);
    }
  }
  if (c.gitea.enabled && c.gitea.runner.enabled) {
    labels(["gitea", "runner", "labels"], c.gitea.runner.labels);
    if (!c.gitea.runner.registrationTokenKey)
      at(
        ["gitea", "runner", "registrationTokenKey"],
        "required key is missing (gitea.runner.enabled is true): the name of the secret config key holding the runner registration token",
      );
  }

  // ---- HA Postgres ----
  if (c.haPostgres.enabled) {
    if (c.runtime !== "swarm") at(["haPostgres", "enabled"], 'needs runtime "swarm": the members are Swarm services pinned one per host', [["runtime"]]);
    if (c.postgres.mode === "shared")
      at(["postgres", "mode"], 'is "shared", but haPostgres.enabled gives the env a cluster of its own: remove postgres.mode', [["haPostgres", "enabled"]]);
    if (c.haPostgres.members % 2 === 0) at(["haPostgres", "members"], `expected an odd number of members (etcd quorum), got ${c.haPostgres.members}`);
  }

  // ---- names and endpoints that reach commands, URLs and cloud APIs ----
  if (!/^[A-Za-z_][A-Za-z0-9_]{0,62}$/.test(c.postgres.adminUser))
    at(["postgres", "adminUser"], `expected a Postgres role name (letters, digits, "_"), got ${show(["postgres"], c.postgres.adminUser)}`);
  if (c.app?.version !== undefined && !/^[A-Za-z0-9_][A-Za-z0-9_.+-]{0,127}$/.test(c.app.version))
    at(["app", "version"], `expected a release version such as v1.2.3 (an image tag), got ${show(["app"], c.app.version)}`);
  const cloudName = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;
  for (const k of ["size", "region", "image"] as const) {
    const v = c.runners[k];
    if (v !== undefined && !cloudName.test(v)) at(["runners", k], `expected a ${k} name of the provider (letters, digits, ".", "_", "-"), got ${show(["runners"], v)}`);
  }
  c.hosts.forEach((h, i) => {
    if (h.docker !== undefined && !/^(unix:\/\/\/[A-Za-z0-9._\/-]+|ssh:\/\/([a-z_][a-z0-9_-]{0,31}@)?[A-Za-z0-9.\[\]:-]+|tcp:\/\/[A-Za-z0-9.\[\]:-]+)$/.test(h.docker)) {
      at(["hosts", i, "docker"], `expected unix:///path, ssh://user@host[:port] or tcp://host:port, got ${show(["hosts"], h.docker)}`);
    }
    if (h.provision) {
      for (const k of ["type", "location", "image"] as const) {
        if (!cloudName.test(h.provision[k]))
          at(["hosts", i, "provision", k], `expected a ${k} name of the provider (letters, digits, ".", "_", "-"), got ${show(["hosts"], h.provision[k])}`);
      }
    }
  });

  const zone = /^[a-z]+(-[a-z0-9]+)*$/;
  if (c.provisioning.privateNetwork.zone !== undefined && !zone.test(c.provisioning.privateNetwork.zone))
    at(["provisioning", "privateNetwork", "zone"], `expected a network zone such as eu-central, got ${show(["provisioning"], c.provisioning.privateNetwork.zone)}`);
  if (c.vip.location !== undefined && !cloudName.test(c.vip.location))
    at(["vip", "location"], `expected a location/region name such as fsn1 or nyc3, got ${show(["vip"], c.vip.location)}`);
  host(["dns", "target"], c.dns.target, "the address the records point at");
  // Image references (docker reference grammar: no spaces, quotes, braces or newlines).
  const image = /^[A-Za-z0-9][A-Za-z0-9._\/:@+-]{0,254}$/;
  const images: [Path, string | undefined][] = [
    [["app", "image"], c.app?.image],
    [["postgres", "image"], c.postgres.image],
    [["redis", "image"], c.redis.image],
    [["mqtt", "image"], c.mqtt.image],
    [["vault", "image"], c.vault?.image],
    [["gitea", "image"], c.gitea.image],
    [["gitea", "runner", "image"], c.gitea.runner.image],
    [["browser", "image"], c.browser.image],
    [["proxy", "image"], c.proxy.image],
    [["vip", "image"], c.vip.image],
    [["haPostgres", "image"], c.haPostgres.image],
    [["haPostgres", "etcdImage"], c.haPostgres.etcdImage],
    [["haPostgres", "haproxyImage"], c.haPostgres.haproxyImage],
  ];
  for (const [p, v] of images) if (v !== undefined && !image.test(v)) at(p, `expected an image reference such as ghcr.io/org/app:1.2.3, got ${show(p, v)}`);

  // ---- ports this stack publishes twice ----
  // Two of the stack's own published ports on the same address of one host (model/claims.ts, the
  // same claims the cross-stack policy compares): the engine would refuse the second container
  // ("port is already allocated") after declaring the first.
  const portSections: Path[] = [["proxy"], ["hosts"], ["vip"], ["app"], ["postgres"], ["gitea"], ["mqtt"], ["haPostgres"], ["runtime"]];
  if (!touchesTainted(ctx.tainted, portSections)) {
    const ports = stackClaims(c, { stack: ctx.stack }).filter((x) => x.kind === "hostPort" || x.kind === "mqttPort");
    const reported = new Set<string>();
    const pathOf = (key: string): Path => key.replace(/^twinstack:/, "").split(".");
    for (let i = 0; i < ports.length; i++) {
      for (let j = i + 1; j < ports.length; j++) {
        const [a, b] = [ports[i], ports[j]];
        if (a.key === b.key || reported.has(`${a.key}\u0000${b.key}`) || !claimsClash(a, b)) continue;
        reported.add(`${a.key}\u0000${b.key}`);
        const port = /:(\d+)$/.exec(b.value)?.[1];
        at(pathOf(b.key), `port ${port} on host "${b.host}" is also published by ${a.key}: give each its own port`, [pathOf(a.key)]);
      }
    }
  }

  // ---- preview ----
  if (!STACK_REFERENCE_RE.test(c.preview.devStack))
    at(["preview", "devStack"], `expected a stack name (stack, org/stack or org/project/stack), got ${show(["preview"], c.preview.devStack)}`);
  if (c.preview.branch !== undefined) {
    if (c.preview.branch === "" || !isWellFormedUnicode(c.preview.branch)) at(["preview", "branch"], "expected a git branch name (non-empty, well-formed Unicode)");
    else {
      // A preview's names, database, image tag and route follow its branch's slug; a stack named
      // preview-<slug> for another branch would look like one preview and be another.
      const named = c.env === "preview" && ctx.stack !== undefined ? branchFromStackName(ctx.stack) : undefined;
      if (named !== undefined && previewSlug(c.preview.branch) !== previewSlug(named)) {
        at(
          ["preview", "branch"],
          `branch ${show(["preview", "branch"], c.preview.branch)} has the preview slug "${previewSlug(c.preview.branch)}", but the stack name "${ctx.stack}" says "${named}": ` +
            `remove the key (the stack name gives the branch) or name the stack preview-${previewSlug(c.preview.branch)}`,
        );
      }
    }
  }
  return problems;
}
