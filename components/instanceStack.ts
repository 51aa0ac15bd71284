// One environment (prod or dev) of the application on one or more Docker hosts: network, volumes,
// the app and its optional services, a database, a reverse proxy and a virtual IP. The stack is
// thin: each service is declared by its builder in components/instance/ (database, redis, backup,
// app and workers, forge and runner, browser, mqtt, vault, proxy sites, vip, monitoring), all
// sharing one context (components/instance/context.ts) and the one workload helper
// (components/workload.ts). Children are named from the stack's name, as before the split.
import * as pulumi from "@pulumi/pulumi";
import * as docker from "@pulumi/docker";
import { BackupJob } from "./backupJob";
import { MonitoringArgs } from "./monitoring";
import { ReverseProxy } from "./reverseProxy";
import { PostgresDatabase } from "./postgresDatabase";
import { VirtualIp } from "./virtualIp";
import { Runtime, WorkloadLimits } from "./workload";
import { instanceContext } from "./instance/context";
import { declareDatabase } from "./instance/database";
import { declareRedis } from "./instance/redis";
import { declareBackup } from "./instance/backup";
import { declareApp } from "./instance/app";
import { declareForge } from "./instance/forge";
import { declareBrowser } from "./instance/browser";
import { declareMqtt } from "./instance/mqtt";
import { declareVault } from "./instance/vault";
import { declareProxy } from "./instance/proxy";
import { declareVip } from "./instance/vip";
import { declareMonitoring } from "./instance/monitoring";

export { KEEPALIVED_HEALTH_PORT_BASE } from "../model/ports";
export { proxyNodeNames } from "./instance/proxy";
export { FORGEJO_RUNNER_START } from "./instance/forge";
export { registryDigest } from "./instance/app";

/** One Docker host of the env, in config order; the first is the main host (the first Swarm manager). */
export interface InstanceHost {
  name: string;
  /** Docker endpoint: unix:///var/run/docker.sock or ssh://user@host. */
  docker: pulumi.Input<string>;
  address?: pulumi.Input<string>;
  /** Cloud server id (hcloud/DO) when the host was provisioned; a cloud VIP is assigned to it. */
  serverId?: pulumi.Input<string>;
}

/**
 * A worker process of the app image: `command` (exec form), `replicas` (>= 1) and optional limits
 * (CPUs, MiB); named `<prefix>-worker-<name>`.
 */
export interface InstanceWorker {
  name: string;
  command: string[];
  replicas: number;
  limits?: WorkloadLimits;
}

/** A further proxy site (tenant or extra host): its domains and the upstream of its catch-all route. */
export interface InstanceSite {
  domains: string[];
  /** "app" or host:port: the upstream of the catch-all route. */
  upstream: string;
}

/**
 * Everything an environment declares, resolved from the validated stack config by stacks/instance.ts
 * (components read no config). Plain values except where a secret or a provisioned host's value
 * arrives as a `pulumi.Input`. Errors in it are config errors caught before this point; what the
 * builders still check throws InvariantError.
 */
export interface InstanceStackArgs {
  /** The app name (`twinstack:app.name`): first part of every physical name, `<app>-<env>-<part>`. */
  appName: string;
  /** Env token carried by every physical name: "prod" or "dev". */
  env: "prod" | "dev";
  /** The Pulumi stack name, set as the `twinstack.stack` label of every workload. */
  stack: string;
  /** "standalone" (containers on the first host) or "swarm" (services on a Swarm of the hosts). */
  runtime: Runtime;
  /** The env's Docker hosts (at least one); a Docker provider is declared per host. */
  hosts: InstanceHost[];
  /** Prod: protect databases, volumes and VIPs. */
  protect: boolean;
  /** Limits of a non-prod workload that sets none (prod workloads run unlimited unless set). */
  defaultLimits?: WorkloadLimits;
  /**
   * The app: image, listen `port` (TCP), `healthPath` (URL path), `replicas`, optional `websocketPort`
   * (routed at `/ws`) and `publishPort` (host port), env, secret env (Pulumi secrets), feature flags
   * (FEATURE_<NAME>), data path, limits (CPUs, MiB), workers, release command and health check.
   */
  app: {
    image: string;
    version?: string;
    /** Non-prod only: re-pull when this changes instead of resolving the tag's registry digest. */
    pullTrigger?: string;
    port: number;
    healthPath: string;
    replicas: number;
    websocketPort?: number;
    publishPort?: number;
    command?: string[];
    env: Record<string, string>;
    secretEnv: Record<string, pulumi.Input<string>>;
    features: Record<string, boolean>;
    dataPath?: string;
    limits?: WorkloadLimits;
    workers: InstanceWorker[];
    /** Release phase: run once per release before the new version (components/releaseTask.ts). */
    release?: { command: string[] };
    /** An exec-form health check the app image can run itself; default: the image-independent HTTP probe (model/images.ts). */
    healthCheckCommand?: string[];
    /** Image with a static /bin/busybox for the default probe; default HEALTH_PROBE.image (model/images.ts). */
    healthProbeImage?: string;
  };
  /**
   * The env's database (components/instance/database.ts): on an existing server (`shared`), in a
   * container of its own (`dedicated`), or on an HA cluster of its own declared on the env network
   * (`ha`: etcd, Patroni and HAProxy, components/haPostgres.ts; runtime "swarm").
   */
  database:
    | {
        mode: "shared";
        host: pulumi.Input<string>;
        port: number;
        adminUser: string;
        adminPassword: pulumi.Input<string>;
        sslmode: string;
        network?: string;
        appHost?: pulumi.Input<string>;
        extensions: string[];
        connectionLimit: number;
        template?: string;
      }
    | { mode: "dedicated"; image: string; publishPort?: number; limits?: WorkloadLimits; extensions: string[]; connectionLimit: number }
    | {
        mode: "ha";
        /** Host names of the members (one etcd and one Patroni member each; an odd number). */
        members: string[];
        patroniImage: string;
        etcdImage: string;
        haproxyImage: string;
        /** HAProxy's leader port: in the network and published on the hosts. */
        port: number;
        /** Where the operator's postgresql provider reaches HAProxy (a host's public address). */
        adminHost: pulumi.Input<string>;
        /** The cluster superuser's password, which is also the database's admin login. Secret. */
        superuserPassword: pulumi.Input<string>;
        limits?: WorkloadLimits;
        extensions: string[];
        connectionLimit: number;
        template?: string;
      };
  /** The env's Redis: none, a dedicated container (`redis://redis:6379`), or a shared server's `url`; keys under `prefix`. */
  redis: { mode: "none" } | { mode: "dedicated"; image: string; limits?: WorkloadLimits; prefix: string } | { mode: "shared"; url: string; prefix: string };
  /** Mosquitto over TLS on host `port` (TCP) with a client certificate per device name; absent: no broker. */
  mqtt?: { port: number; image: string; devices: string[]; limits?: WorkloadLimits };
  /** A Caddy file server over the host directory `hostPath` (read-only), served at `domain`; absent: none. */
  vault?: { domain?: string; hostPath: string; image: string; plainHttp: boolean; limits?: WorkloadLimits };
  /**
   * A Gitea or Forgejo forge with Git SSH published on host port `sshPort`, and its runner (registration
   * token: a Pulumi secret); absent: none.
   */
  gitea?: {
    kind: "gitea" | "forgejo";
    image: string;
    sshPort: number;
    limits?: WorkloadLimits;
    runner?: { image: string; labels: string[]; registrationToken: pulumi.Input<string>; limits?: WorkloadLimits };
  };
  /** A headless browser (browserless) the app reaches on the env network at `port`; absent: none. */
  browser?: { image: string; port: number; limits?: WorkloadLimits };
  /**
   * The env's Caddy proxy: TLS mode, host ports `httpPort`/`httpsPort`, basic-auth users (non-prod),
   * headers, main domains, further sites and bind address; absent: no proxy and no URL.
   */
  proxy?: {
    image: string;
    tls: "acme" | "internal" | "selfsigned";
    acmeEmail?: string;
    httpPort: number;
    httpsPort: number;
    /** Non-prod: users that must authenticate (passwords generated here). */
    basicAuthUsers: string[];
    headers: Record<string, string>;
    /** Main domains: path routes for app, gitea, browser, ws; previews import on dev. */
    domains: string[];
    /** Further sites (tenants, extra hosts) whose catch-all goes to an upstream. */
    sites: InstanceSite[];
    /** Host address to publish 80/443 on (one address per env on a shared host); default: the keepalived VIP, else all. */
    bindAddress?: string;
    limits?: WorkloadLimits;
  };
  /**
   * The env's virtual IP: keepalived VRRP on `interface` with `routerId` (1-255) over `nodes`, or a cloud
   * floating/reserved IP assigned to `node` (hcloud with failover: keepalived moves it); absent: none.
   * @throws InvariantError (at construction) when a cloud VIP's node is not a provisioned host.
   */
  vip?:
    | { mode: "keepalived"; address: string; interface: string; routerId: number; image: string; nodes: string[] }
    | {
        mode: "hcloud" | "digitalocean";
        location: string;
        node: string;
        /** hcloud, two or more VIP nodes: keepalived over the private network moves the IP (VirtualIp cloud.failover). */
        failover?: { nodes: string[]; routerId: number; image: string; apiToken: pulumi.Input<string> };
      };
  /** image: the client whose pg_dump takes the dumps (major >= the server's). */
  backup?: { keep: number; intervalSeconds: number; image: string };
  /** Prometheus, exporters and Alertmanager of this env (components/monitoring.ts); probes the env's sites. */
  monitoring?: Omit<
    MonitoringArgs,
    "namePrefix" | "runtime" | "provider" | "networkName" | "externalLabels" | "labels" | "probes" | "insecureTls" | "databaseUrl" | "pinnedConstraints" | "protect"
  >;
}

/**
 * One environment of the app. Type token `twinstack:index:InstanceStack`.
 *
 * @example
 * const instance = new InstanceStack("prod", instanceArgs(loaded, hosts)); // stacks/instance.ts
 * export const url = instance.url;
 */
export class InstanceStack extends pulumi.ComponentResource {
  readonly namePrefix: string;
  readonly networkName: pulumi.Output<string>;
  readonly providers: Record<string, docker.Provider>;
  readonly database: PostgresDatabase;
  readonly proxy?: ReverseProxy;
  readonly vip?: VirtualIp;
  readonly url?: string;
  readonly caddyfile?: pulumi.Output<string>;
  readonly basicAuthPasswords: pulumi.Output<Record<string, string>>;
  readonly appImageDigest: pulumi.Output<string>;
  /** REDIS_URL the env's app containers get (dedicated: the env's own Redis on its network), if any. */
  readonly redisUrl?: string;
  readonly mqttCaCertificate?: pulumi.Output<string>;
  readonly mqttDeviceCertificates?: pulumi.Output<Record<string, { certPem: string; privateKeyPem: string }>>;

  constructor(name: string, args: InstanceStackArgs, opts?: pulumi.ComponentResourceOptions) {
    super("twinstack:index:InstanceStack", name, {}, opts);
    const ctx = instanceContext(name, args, this);
    this.namePrefix = ctx.prefix;
    this.providers = ctx.providers;
    this.networkName = ctx.networkName;

    const { database, dbNetworks } = declareDatabase(ctx);
    this.database = database;
    const redis = declareRedis(ctx);
    this.redisUrl = redis?.url;
    // Before the app: prod's release phase takes a backup first.
    const backupJob: BackupJob | undefined = declareBackup(ctx, database);
    this.appImageDigest = declareApp(ctx, { database, dbNetworks, redis, backupJob }).appImageDigest;
    declareForge(ctx);
    declareBrowser(ctx);
    const mqtt = declareMqtt(ctx);
    this.mqttCaCertificate = mqtt?.caCertificate;
    this.mqttDeviceCertificates = mqtt?.deviceCertificates;
    declareVault(ctx);
    const proxy = declareProxy(ctx);
    this.proxy = proxy.proxy;
    this.caddyfile = proxy.proxy?.caddyfile;
    this.url = proxy.url;
    this.basicAuthPasswords = pulumi.secret(pulumi.all(proxy.basicAuthPasswords));
    this.vip = declareVip(ctx, proxy.healthPort);
    declareMonitoring(ctx, database);

    this.registerOutputs({
      networkName: this.networkName,
      url: this.url,
      caddyfile: this.caddyfile,
      appImageDigest: this.appImageDigest,
      connectionString: this.database.connectionString,
      basicAuthPasswords: this.basicAuthPasswords,
    });
  }
}
