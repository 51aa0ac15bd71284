// The one schema for a twinstack stack's configuration. Every key a stack file may hold under the
// `twinstack:` namespace is declared here, with its default, so a short Pulumi.<stack>.yaml works.
// Objects are strict: a typo is an error, never silently ignored.
import { z } from "zod";
import * as images from "./images";

const dnsName = /^(\*\.)?([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)*[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;
const identifier = /^[a-z][a-z0-9]*([_-][a-z0-9]+)*$/;
const ipv4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;

/** Numbers may come from `pulumi config set --path x 8080` (a number) or be typed as a string by hand. */
function coerceNumeric(value: unknown): unknown {
  return typeof value === "string" && /^-?\d+(\.\d+)?$/.test(value.trim()) ? Number(value) : value;
}
function numberWhere(message: string, ok: (n: number) => boolean) {
  return z.preprocess(coerceNumeric, z.number({ error: message }).refine(ok, { error: message }));
}
const isInt =
  (lo: number, hi = Number.MAX_SAFE_INTEGER) =>
  (n: number) =>
    Number.isInteger(n) && n >= lo && n <= hi;

/** A TCP/UDP port number, an integer 1-65535 (a numeric string from the stack file is accepted). */
export const port = numberWhere("expected a number from 1 to 65535", isInt(1, 65535));
const positive = (what: string) => numberWhere(`expected ${what}`, (n) => n > 0);

const bool = z.preprocess((value) => (value === "true" ? true : value === "false" ? false : value), z.boolean({ error: "expected true or false" }));

/** Container limits: `cpus` (a positive number of CPUs, e.g. 0.5) and `memoryMb` (whole MiB, e.g. 512). */
export const limitsSchema = z.strictObject({
  cpus: positive("a positive number of CPUs, e.g. 0.5"),
  memoryMb: numberWhere("expected a whole positive number of MiB, e.g. 512", isInt(1)),
});
/** Parsed {@link limitsSchema}: `cpus` in CPUs, `memoryMb` in MiB. */
export type Limits = z.infer<typeof limitsSchema>;

const domain = z.string({ error: "expected a domain name" }).regex(dnsName, {
  error: "expected a lower-case domain name such as dev.example.com",
});
const name = z.string({ error: "expected a name" }).regex(identifier, {
  error: "expected a lower-case name of letters, digits, '-' or '_', starting with a letter",
});
/**
 * Start of every message of {@link secretKey}: a value it rejects may be the secret itself pasted
 * in place of its key name, so model/config.ts never echoes the value of an issue with this message.
 */
export const SECRET_KEY_NAME_EXPECTED = "expected the name of a secret config key";
/** The name of another top-level config key that holds a secret (`pulumi config set --secret <key>`). */
const secretKey = z.string({ error: SECRET_KEY_NAME_EXPECTED }).regex(/^[a-zA-Z][a-zA-Z0-9_]*$/, {
  error: `${SECRET_KEY_NAME_EXPECTED}, e.g. telegramBotToken`,
});
const envVarName = /^[A-Z_][A-Z0-9_]*$/;
const envMap = z.record(z.string().regex(envVarName, { error: "expected an UPPER_CASE environment variable name" }), z.string({ error: "expected a string" }));
const command = z.array(z.string(), { error: "expected a list of strings" });
const cidr = z.string().regex(/^[0-9a-fA-F:.]+\/\d{1,3}$/, { error: "expected a CIDR such as 203.0.113.0/24" });

/**
 * `hosts[].provision`: a server to create on `provider` (hcloud or digitalocean) of `type` in
 * `location`, from `image` (@default "ubuntu-24.04") with `sshKeys` (@default []).
 */
export const provisionSchema = z.strictObject({
  provider: z.enum(["hcloud", "digitalocean"], { error: 'expected "hcloud" or "digitalocean"' }),
  type: z.string({ error: "expected a server type, e.g. ccx13 or s-2vcpu-4gb" }),
  location: z.string({ error: "expected a location/region, e.g. ash or nyc3" }),
  image: z.string().default("ubuntu-24.04"),
  sshKeys: z.array(z.string()).default([]),
});

/**
 * One entry of `twinstack:hosts`: a Docker host by `name`, reached at `docker` (or provisioned),
 * with capacity `cpus` (@default 2) and `memoryMb` (MiB, @default 4096) and a Swarm `role`
 * (@default "manager").
 */
export const hostSchema = z.strictObject({
  name,
  /** Docker endpoint: unix:///var/run/docker.sock, ssh://user@host. Omitted for provisioned hosts (derived). */
  docker: z
    .string()
    .regex(/^(unix|ssh|tcp):\/\/\S+$/, { error: "expected unix:///path, ssh://user@host or tcp://host:port" })
    .optional(),
  /** LAN or public address, used for VRRP unicast peers and Swarm joins. */
  address: z.string().optional(),
  /**
   * Login for the remote steps (Swarm formation) where the docker endpoint names none. Provisioned
   * hosts: the non-root admin user cloud-init creates (root login is disabled); default "deploy".
   * Existing hosts: default "root".
   */
  sshUser: z.string().optional(),
  /** Capacity, used by the non-prod budget policy. */
  cpus: positive("a positive number of CPUs").default(2),
  memoryMb: positive("a positive number of MiB").default(4096),
  /** Swarm role in swarm runtime. The first manager initialises the swarm. */
  role: z.enum(["manager", "worker"]).default("manager"),
  provision: provisionSchema.optional(),
  labels: z.record(z.string(), z.string()).default({}),
});
/** A parsed {@link hostSchema} entry, defaults filled in. */
export type HostConfig = z.infer<typeof hostSchema>;

/**
 * One entry of `twinstack:app.workers`: a worker process of the app image with its own command,
 * `replicas` (@default 1) and optional limits.
 */
export const workerSchema = z.strictObject({
  name,
  command,
  replicas: positive("a positive number of replicas").default(1),
  limits: limitsSchema.optional(),
});

/**
 * `twinstack:app`: the app's image, `port` (@default 3000), `healthPath` (@default "/healthz"),
 * `replicas` (@default 1), env, secret env (env var -> secret config key), feature flags, workers,
 * release command and health check.
 */
export const appSchema = z.strictObject({
  name,
  image: z.string({ error: "expected an image reference such as ghcr.io/org/app:1.2.3" }).min(1),
  /** Release version pinned by `npm run promote`; exported as APP_VERSION. */
  version: z.string().optional(),
  /** Non-prod: re-pull the image when this changes, instead of asking the registry for the tag's digest (CI passes the pushed digest or commit). */
  pullTrigger: z.string().min(1).optional(),
  port: port.default(3000),
  healthPath: z
    .string()
    .regex(/^\/[\w\-./]*$/, { error: "expected an absolute URL path such as /healthz" })
    .default("/healthz"),
  replicas: positive("a positive number of replicas").default(1),
  websocketPort: port.optional(),
  /** Host port the app is published on directly (e.g. a bot with no proxy: lugh prod 3000, staging 3001). */
  publishPort: port.optional(),
  command: command.optional(),
  env: envMap.default({}),
  /** Environment variable -> name of a secret config key read with requireSecret (bot tokens, OAuth secrets). */
  secretEnv: z.record(z.string().regex(envVarName, { error: "expected an UPPER_CASE environment variable name" }), secretKey).default({}),
  /** Feature flags of this env, exported as FEATURE_<NAME>=true|false. */
  features: z.record(z.string().regex(/^[A-Za-z][A-Za-z0-9_]*$/), bool).default({}),
  /** Where the app keeps its files (LUGH_HOME, workspace): a volume named with the env token. */
  dataPath: z.string().optional(),
  limits: limitsSchema.optional(),
  workers: z.array(workerSchema).default([]),
  /**
   * Release phase: a command run once per release (image, version or command changed) in a one-shot
   * container of the app image with the app's env, before the new version is deployed; a failure
   * stops the release and the old version keeps serving. Prod with backups takes a backup first.
   */
  release: z
    .strictObject({
      /** e.g. ["alembic", "upgrade", "head"] (makapix) or ["bun", "run", "migrate"] (lugh). */
      command: z
        .array(z.string().min(1, { error: "expected a non-empty word" }), { error: "expected a list of strings" })
        .min(1, { error: "expected a command such as [alembic, upgrade, head]" }),
    })
    .optional(),
  /**
   * The health check behind `pulumi up`'s wait and Swarm's start-first updates. Default: GET
   * http://127.0.0.1:<port><healthPath> with a static busybox mounted into the container
   * (nothing needed inside the image). `command`: an exec-form check the image itself can run
   * instead, e.g. ["node", "healthcheck.js"].
   */
  healthCheck: z
    .strictObject({
      command: z.array(z.string()).min(1, { error: 'expected an exec-form command such as ["node", "healthcheck.js"]' }).optional(),
      /** Image whose static /bin/busybox the default probe copies into the env's probe volume (a registry mirror's copy, say). */
      probeImage: z.string().min(1).default(images.HEALTH_PROBE.image),
    })
    .prefault({}),
});

/**
 * `twinstack:postgres`: `mode` "dedicated" (a container per env, @default) or "shared" (a database
 * and role on an existing server at `host`:`port`, @default port 5432), `sslmode` (@default "prefer"),
 * image, extensions, `connectionLimit` (@default -1, no limit).
 */
export const postgresSchema = z.strictObject({
  mode: z.enum(["shared", "dedicated"], { error: 'expected "shared" or "dedicated"' }).default("dedicated"),
  // shared mode: an existing server reached by the postgresql provider
  host: z.string().optional(),
  port: port.default(images.POSTGRES.ports.postgres),
  adminUser: z.string().default("postgres"),
  adminPasswordKey: secretKey.optional(),
  sslmode: z.enum(["disable", "require", "verify-ca", "verify-full", "prefer"]).default("prefer"),
  /** Name of the Docker network the app reaches the shared server on (seed 000: databases_default). */
  network: z.string().optional(),
  /** Host name of the server as the app containers see it (defaults to host). */
  appHost: z.string().optional(),
  // dedicated mode: a Postgres container of the env's own
  image: z.string().default(images.POSTGRES.image),
  /** Shared mode: the server's major version (e.g. 17); the backup client's pg_dump must be at least as new. Default 16. */
  version: numberWhere("expected a PostgreSQL major version such as 17", isInt(9, 99)).optional(),
  /** Publish the dedicated server on 127.0.0.1:<port> of the Docker host (previews and admin reach it there). */
  publishPort: port.optional(),
  limits: limitsSchema.optional(),
  // both
  extensions: z.array(z.string().regex(/^[a-z][a-z0-9_]*$/)).default([]),
  connectionLimit: numberWhere("expected an integer (-1 for no limit)", isInt(-1)).default(-1),
  /** Template database to clone from (previews clone dev). */
  template: z.string().optional(),
});

/**
 * `twinstack:redis`: `mode` "none" (@default), "dedicated" (a container per env) or "shared"
 * (`url` of an existing server, keys under `prefix`).
 */
export const redisSchema = z.strictObject({
  mode: z.enum(["none", "dedicated", "shared"], { error: 'expected "none", "dedicated" or "shared"' }).default("none"),
  /** shared mode: URL of the shared server; dedicated: ignored. */
  url: z
    .string()
    .regex(/^rediss?:\/\//, { error: "expected redis://host:port" })
    .optional(),
  /** Key prefix of this env on a shared server. Defaults to "<env>:". */
  prefix: z.string().optional(),
  image: z.string().default(images.REDIS.image),
  limits: limitsSchema.optional(),
});

/**
 * `twinstack:mqtt`: a Mosquitto broker (@default off) on TLS `port` (@default 8883, the image's
 * MQTT-over-TLS port in model/images.ts) for the listed `devices`.
 */
export const mqttSchema = z.strictObject({
  enabled: bool.default(false),
  /** Published mTLS port, distinct per env (makapix: 8883 prod, 8884 dev). */
  port: port.default(images.MOSQUITTO.ports.mqtts),
  image: z.string().default(images.MOSQUITTO.image),
  /** Device client certificates issued from this env's CA. */
  devices: z.array(name).default([]),
  limits: limitsSchema.optional(),
});

/** `twinstack:vault`: a Caddy file server (@default off) for `hostPath` at `domain`, optionally over plain HTTP. */
export const vaultSchema = z.strictObject({
  enabled: bool.default(false),
  domain: domain.optional(),
  /** Host directory served read-only (makapix: /mnt/vault-1, /mnt/vault-dev). */
  hostPath: z.string().regex(/^\/[\w\-./]*$/, { error: "expected an absolute path" }),
  image: z.string().default(images.VAULT_CADDY.image),
  /** Serve over plain HTTP (IoT players that cannot do TLS). Must also be allowed by the policy config. */
  plainHttp: bool.default(false),
  limits: limitsSchema.optional(),
});

/**
 * `twinstack:gitea`: a Gitea or Forgejo forge (`kind`, @default "gitea"; @default off) with Git SSH
 * on `sshPort` (@default 22) and an optional runner.
 */
export const giteaSchema = z.strictObject({
  enabled: bool.default(false),
  kind: z.enum(["gitea", "forgejo"]).default("gitea"),
  image: z.string().optional(),
  /** Git SSH published on the VIP (or host) at this port. */
  sshPort: port.default(22),
  runner: z
    .strictObject({
      enabled: bool.default(false),
      image: z.string().optional(),
      labels: z.array(z.string()).default(["docker"]),
      registrationTokenKey: secretKey.optional(),
      limits: limitsSchema.optional(),
    })
    .prefault({}),
  limits: limitsSchema.optional(),
});

/** `twinstack:browser`: a headless browser service (browserless, @default off) on `port`. */
export const browserSchema = z.strictObject({
  enabled: bool.default(false),
  image: z.string().default(images.BROWSERLESS.image),
  port: port.default(images.BROWSERLESS.ports.http),
  limits: limitsSchema.optional(),
});

/** One basic-auth user of the non-prod proxy (its password is generated). */
export const basicAuthUserSchema = z.strictObject({
  user: z.string().regex(/^[A-Za-z0-9._@-]+$/, { error: "expected a user name without spaces" }),
});

/** One extra proxy site: `domains` (at least one) routed to `upstream` (@default "app"). */
export const siteSchema = z.strictObject({
  domains: z.array(domain).min(1, { error: "expected at least one domain" }),
  /** Upstream of the catch-all route: "app" (default) or host:port. */
  upstream: z.string().default("app"),
});

/**
 * `twinstack:proxy`: the Caddy proxy (@default on), `tls` "acme" (@default), "internal" or
 * "selfsigned", `httpPort` (@default 80), `httpsPort` (@default 443), non-prod `basicAuth`
 * (@default one user "dev"), extra headers and sites, optional `bindAddress`.
 */
export const proxySchema = z.strictObject({
  enabled: bool.default(true),
  image: z.string().default(images.CADDY.image),
  tls: z.enum(["acme", "internal", "selfsigned"], { error: 'expected "acme", "internal" or "selfsigned"' }).default("acme"),
  acmeEmail: z.string().optional(),
  httpPort: port.default(80),
  httpsPort: port.default(443),
  /** Non-prod sites require these users (passwords generated, exported as secrets). */
  basicAuth: z.array(basicAuthUserSchema).default([{ user: "dev" }]),
  headers: z.record(z.string(), z.string()).default({}),
  /** Extra sites served by this env's proxy (besides the main domains and tenants). */
  sites: z.array(siteSchema).default([]),
  /** Host address the proxy publishes 80/443 on (one address of a host per env); default: the keepalived VIP, else all interfaces. */
  bindAddress: z.string().regex(ipv4, { error: "expected an IPv4 address of the host, e.g. 203.0.113.10" }).optional(),
  limits: limitsSchema.optional(),
});

/**
 * `twinstack:vip`: the virtual IP, `mode` "none" (@default), "keepalived" (VRRP on `interface`,
 * @default "eth0", with `routerId` 1-255), "hcloud" or "digitalocean" (a cloud floating/reserved IP;
 * API token from the secret key `apiTokenKey`, @default "vipApiToken").
 */
export const vipSchema = z.strictObject({
  mode: z.enum(["none", "keepalived", "hcloud", "digitalocean"], { error: 'expected "none", "keepalived", "hcloud" or "digitalocean"' }).default("none"),
  /** keepalived: the virtual IP; cloud modes: ignored (allocated). */
  address: z.string().regex(ipv4, { error: "expected an IPv4 address such as 192.168.1.51" }).optional(),
  interface: z.string().default("eth0"),
  routerId: numberWhere("expected a VRRP router id from 1 to 255", isInt(1, 255)).optional(),
  /** Hosts (by name) holding the VIP, highest priority first. Defaults to every host. */
  nodes: z.array(name).optional(),
  image: z.string().default(images.KEEPALIVED.image),
  /** Cloud modes: home location (hcloud) or region (digitalocean). */
  location: z.string().optional(),
  /** hcloud on two or more nodes: name of the secret config key with the Hetzner API token keepalived assigns the floating IP with. */
  apiTokenKey: secretKey.default("vipApiToken"),
});

/**
 * `twinstack:budget`: the share (0-1, @default 0.4) of each host a non-prod stack's limits may use,
 * and `defaultLimits` (@default 0.15 CPUs, 256 MiB) for workloads without their own.
 */
export const budgetSchema = z.strictObject({
  /** Share of each host that this non-prod env's limits may add up to. */
  share: numberWhere("expected a fraction between 0 and 1, e.g. 0.4", (n) => n > 0 && n <= 1).default(0.4),
  /** Limits of a non-prod workload that does not set its own. */
  defaultLimits: limitsSchema.default({ cpus: 0.15, memoryMb: 256 }),
});

/**
 * `twinstack:runners`: the CI runner fleet, `count` machines (@default 0) of `size` (@default
 * "s-2vcpu-4gb") in `region` (@default "nyc3") on `provider` (@default "digitalocean"), registered
 * with `forge` (@default "forgejo") at `forgeUrl`, runner `runnerVersion` (@default "6.3.1").
 */
export const runnersSchema = z.strictObject({
  count: numberWhere("expected a whole number of runners (0 = none)", isInt(0)).default(0),
  provider: z.enum(["digitalocean", "hcloud"], { error: 'expected "digitalocean" or "hcloud"' }).default("digitalocean"),
  size: z.string().default("s-2vcpu-4gb"),
  region: z.string().default("nyc3"),
  /** A golden snapshot id (docker and the runner baked in) or a base image; default: Ubuntu 24.04 of the provider. */
  image: z.string().optional(),
  golden: bool.default(false),
  forge: z.enum(["forgejo", "gitea"]).default("forgejo"),
  forgeUrl: z
    .string()
    .regex(/^https?:\/\//, { error: "expected the forge URL, e.g. https://forge.example.com" })
    .optional(),
  registrationTokenKey: secretKey.default("runnerRegistrationToken"),
  labels: z.array(z.string()).default(["docker"]),
  runnerVersion: z.string().default("6.3.1"),
  adminCidr: cidr.optional(),
  sshKeys: z.array(z.string()).default([]),
});

/**
 * `twinstack:dns`: DNS records for the domains at `provider` ("none" @default), pointing at
 * `target`, `ttl` in seconds (>= 30, @default 300).
 */
export const dnsSchema = z.strictObject({
  provider: z.enum(["none", "digitalocean", "hcloud"]).default("none"),
  /** Address the records point at (the VIP / edge host's public IP). */
  target: z.string().optional(),
  ttl: numberWhere("expected a TTL in seconds (>= 30)", isInt(30)).default(300),
  /** Also declare the tenants' zones (apex domains and org zones); default: records in existing zones. */
  manageZones: bool.default(false),
});

/**
 * `twinstack:provisioning`: the SSH admin range of provisioned hosts and their hcloud private network
 * (`ipRange` @default 10.0.0.0/16, `subnet` @default 10.0.1.0/24).
 */
export const provisioningSchema = z.strictObject({
  /** The only range allowed to SSH into provisioned hosts (default: runners.adminCidr). */
  adminCidr: cidr.optional(),
  /** hcloud: a private network the provisioned hosts join; Swarm, etcd and Patroni talk over it. */
  privateNetwork: z
    .strictObject({
      /**
       * Default: on when two or more hcloud hosts form a Swarm or run HA Postgres (their firewall only
       * admits the admin range and the env's public ports, so members must talk over the private network).
       */
      enabled: bool.optional(),
      ipRange: cidr.default("10.0.0.0/16"),
      /** Hosts get .11, .12, ... of this subnet, in config order. */
      subnet: cidr.default("10.0.1.0/24"),
      /** Hetzner network zone of the subnet (eu-central, us-east, us-west, ap-southeast): every host must be in it. Default: the zone of the hosts' location. */
      zone: z.string().optional(),
    })
    .prefault({}),
});

/** One entry of `twinstack:tenants`: domains and per-org template domains (`ai.{org}.{tld}`) routed to `upstream` (@default "app"). */
export const tenantSchema = z.strictObject({
  name,
  /** Apex zones the tenant brings; each is a DNS zone we manage. */
  domains: z.array(domain).default([]),
  /** Orgs with their brand TLD: {org: "cocotte", tld: "maison"}. */
  orgs: z.array(z.strictObject({ org: name, tld: z.string().regex(/^[a-z]{2,63}$/) })).default([]),
  /** Subdomain templates applied to every org, e.g. "ai.{org}.{tld}". */
  templates: z.array(z.string().regex(/^([a-z0-9-]+\.)*\{org\}\.\{tld\}$/, { error: 'expected a template such as "ai.{org}.{tld}"' })).default([]),
  upstream: z.string().default("app"),
});

/**
 * `twinstack:haPostgres`: a Patroni/Spilo cluster (@default off) of `members` 3-7 (@default 3) with
 * etcd and HAProxy, clients on `port` (@default 5000).
 */
export const haPostgresSchema = z.strictObject({
  enabled: bool.default(false),
  /** Patroni members are placed one per host (first three hosts). */
  members: numberWhere("expected 3 to 7 members", isInt(3, 7)).default(3),
  image: z.string().default(images.SPILO.image),
  etcdImage: z.string().default(images.ETCD.image),
  haproxyImage: z.string().default(images.HAPROXY.image),
  /** HAProxy leader port; PostgresDatabase connects here. */
  port: port.default(5000),
  limits: limitsSchema.optional(),
});

/**
 * `twinstack:backup`: periodic pg_dump (@default off) every `intervalSeconds` (seconds, >= 60,
 * @default 86400) keeping `keep` dumps (@default 7).
 */
export const backupSchema = z.strictObject({
  enabled: bool.default(false),
  keep: numberWhere("expected how many dumps to keep (>= 1)", isInt(1)).default(7),
  intervalSeconds: numberWhere("expected an interval in seconds (>= 60)", isInt(60)).default(86400),
  /**
   * Image whose pg_dump/pg_restore take the backups; its major must be >= the server's. Default:
   * the dedicated server's own image, else postgres:<postgres.version>-alpine (HA: the Spilo major).
   */
  image: z.string().optional(),
});

const percent = (what: string) => numberWhere(`expected ${what} as a percentage from 1 to 100`, (n) => n > 0 && n <= 100);

/**
 * `twinstack:monitoring`: Prometheus, Alertmanager and blackbox (@default off), scraping every
 * `scrapeIntervalSeconds` (5-300, @default 30), keeping `retentionDays` (@default 15), with alert
 * thresholds (e.g. P99 latency @default 500 ms, disk @default 80%, memory @default 90%).
 */
export const monitoringSchema = z.strictObject({
  /** Off by default (dev and preview too); prod's runs when enabled. */
  enabled: bool.default(false),
  scrapeIntervalSeconds: numberWhere("expected a scrape interval in seconds (5 to 300)", isInt(5, 300)).default(30),
  retentionDays: numberWhere("expected how many days of metrics to keep (>= 1)", isInt(1)).default(15),
  /** Where alerts go: a webhook (URL in a secret key) or email. Exactly one. */
  alerts: z
    .strictObject({
      /** Name of the secret config key holding the webhook URL (Slack, Matrix, ntfy... tokens live in URLs). */
      webhookUrlKey: secretKey.optional(),
      email: z
        .strictObject({
          to: z.string().regex(/^[^@\s]+@[^@\s]+$/, { error: "expected an email address" }),
          from: z.string().regex(/^[^@\s]+@[^@\s]+$/, { error: "expected an email address" }),
          /** SMTP server host:port. */
          smarthost: z.string().regex(/^[A-Za-z0-9.-]+:\d{1,5}$/, { error: "expected host:port, e.g. smtp.example.com:587" }),
          username: z.string().optional(),
          passwordKey: secretKey.optional(),
          requireTls: bool.default(true),
        })
        .optional(),
      repeatIntervalHours: positive("a positive number of hours").default(4),
    })
    .prefault({}),
  /** Alert thresholds; defaults are the Makapix seed's (§10 Monitoring Recommendations). */
  thresholds: z
    .strictObject({
      latencyP99Ms: positive("a P99 latency in milliseconds").default(500),
      diskUsedPercent: percent("disk usage").default(80),
      memoryUsedPercent: percent("host memory usage").default(90),
      certificateDays: positive("a number of days").default(14),
      dbConnectionsPercent: percent("database connections of max_connections").default(80),
      containerMemoryPercent: percent("a container's memory of its limit").default(90),
      containerCpuThrottledPercent: percent("CPU periods throttled by a container's limit").default(50),
    })
    .prefault({}),
  images: z
    .strictObject({
      prometheus: z.string().default(images.MONITORING_IMAGES.prometheus),
      alertmanager: z.string().default(images.MONITORING_IMAGES.alertmanager),
      blackbox: z.string().default(images.MONITORING_IMAGES.blackbox),
      nodeExporter: z.string().default(images.MONITORING_IMAGES.nodeExporter),
      cadvisor: z.string().default(images.MONITORING_IMAGES.cadvisor),
      postgresExporter: z.string().default(images.MONITORING_IMAGES.postgresExporter),
    })
    .prefault({}),
  limits: limitsSchema.optional(),
});

/**
 * `twinstack:preview`: the `devStack` a preview builds on (@default "dev"), its `branch`, whether to
 * clone dev's database, and the preview's limits (@default 0.5 CPUs, 512 MiB).
 */
export const previewSchema = z.strictObject({
  /** The dev stack a preview reads (StackReference name: stack, org/project/stack). */
  devStack: z.string().default("dev"),
  /** Branch of a preview stack; defaults to the part of the stack name after "preview-". */
  branch: z.string().optional(),
  cloneDevDatabase: bool.default(false),
  limits: limitsSchema.default({ cpus: 0.5, memoryMb: 512 }),
});

/** The environment tokens a stack may set in `twinstack:env`. */
export const ENVS = ["prod", "dev", "preview"] as const;
/** One of {@link ENVS}. */
export type Env = (typeof ENVS)[number];

/**
 * The whole `twinstack:*` config of a stack file (strict: an unknown key is an error). Only `env` is
 * required; every block has the defaults of its schema; `hosts` @default one host "local" at
 * unix:///var/run/docker.sock.
 */
export const stackConfigSchema = z.strictObject({
  env: z.enum(ENVS, { error: 'expected "prod", "dev" or "preview"' }),
  runtime: z.enum(["standalone", "swarm"], { error: 'expected "standalone" or "swarm"' }).default("standalone"),
  domains: z.array(domain).default([]),
  hosts: z
    .array(hostSchema)
    .min(1, { error: "expected at least one host" })
    .default(() => [hostSchema.parse({ name: "local", docker: "unix:///var/run/docker.sock" })]),
  app: appSchema.optional(),
  postgres: postgresSchema.prefault({}),
  redis: redisSchema.prefault({}),
  mqtt: mqttSchema.prefault({}),
  vault: vaultSchema.optional(),
  gitea: giteaSchema.prefault({}),
  browser: browserSchema.prefault({}),
  proxy: proxySchema.prefault({}),
  vip: vipSchema.prefault({}),
  budget: budgetSchema.prefault({}),
  runners: runnersSchema.prefault({}),
  dns: dnsSchema.prefault({}),
  tenants: z.array(tenantSchema).default([]),
  haPostgres: haPostgresSchema.prefault({}),
  provisioning: provisioningSchema.prefault({}),
  backup: backupSchema.prefault({}),
  monitoring: monitoringSchema.prefault({}),
  preview: previewSchema.prefault({}),
});

/** A parsed {@link stackConfigSchema}: every default filled in. Semantic checks: model/validate.ts. */
export type StackConfig = z.infer<typeof stackConfigSchema>;
/** A parsed `twinstack:app` ({@link appSchema}). */
export type AppConfig = z.infer<typeof appSchema>;
/** A parsed `twinstack:tenants` entry ({@link tenantSchema}). */
export type TenantConfig = z.infer<typeof tenantSchema>;

/** Strips defaults, optionals and preprocess pipes off a schema, down to the object/array/leaf type. */
export function unwrapSchema(schema: z.ZodType): z.ZodType {
  for (;;) {
    const def = (schema as unknown as { _zod: { def: { innerType?: z.ZodType; out?: z.ZodType; type: string } } })._zod.def;
    if (def.innerType) schema = def.innerType;
    else if (def.type === "pipe" && def.out) schema = def.out;
    else return schema;
  }
}
