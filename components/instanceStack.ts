// One environment (prod or dev) of the application on one or more Docker hosts: network, volumes,
// the app and its optional services, a database, a reverse proxy and a virtual IP.
import * as pulumi from "@pulumi/pulumi";
import { appEnvironment } from "./appContract";
import * as docker from "@pulumi/docker";
import * as random from "@pulumi/random";
import { BACKUP_SCRIPT_PATH, BackupJob } from "./backupJob";
import { certificateAuthority } from "./certificates";
import { isGeneratedEnvVar } from "./appEnv";
import { HOST_NODE_LABEL } from "./dockerHosts";
import { FORGE_IMAGES, FORGE_RUNNER_IMAGES, HEALTH_PROBE, MOSQUITTO, REDIS, httpProbeTest } from "./images";
import { ProxyRoute, ProxyTls } from "./render/caddyfile";
import { Monitoring, MonitoringArgs, siteProbeTargets } from "./monitoring";
import { renderMosquittoConf } from "./render/mosquitto";
import { ReleaseTask } from "./releaseTask";
import { ReverseProxy, ReverseProxySiteArgs } from "./reverseProxy";
import { SharedPostgresDb } from "./sharedPostgresDb";
import { VipPair } from "./vipPair";
import { KEEPALIVED_HEALTH_PORT_BASE } from "../model/ports";
import { databaseName as physicalDatabaseName, namePrefix } from "../model/names";
import { Runtime, WorkloadLimits, WorkloadSpec, declareWorkload } from "./workload";
import { InvariantError } from "./render/invariant";
import { LABELS } from "../model/labels";
import { FORGE_HTTP_PORT, VAULT_PORT } from "../model/ports";
import { dedicatedRedisUrl } from "../model/names";

export interface InstanceHost {
  name: string;
  /** Docker endpoint: unix:///var/run/docker.sock or ssh://user@host. */
  docker: pulumi.Input<string>;
  address?: pulumi.Input<string>;
  /** Cloud server id (hcloud/DO) when the host was provisioned; a cloud VIP is assigned to it. */
  serverId?: pulumi.Input<string>;
}

export interface InstanceWorker {
  name: string;
  command: string[];
  replicas: number;
  limits?: WorkloadLimits;
}

export interface InstanceSite {
  domains: string[];
  /** "app" or host:port: the upstream of the catch-all route. */
  upstream: string;
}

export interface InstanceStackArgs {
  appName: string;
  /** Env token carried by every physical name: "prod" or "dev". */
  env: "prod" | "dev";
  stack: string;
  runtime: Runtime;
  hosts: InstanceHost[];
  /** Prod: protect databases, volumes and VIPs. */
  protect: boolean;
  /** Limits of a non-prod workload that sets none (prod workloads run unlimited unless set). */
  defaultLimits?: WorkloadLimits;
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
  database:
    | { mode: "shared"; host: pulumi.Input<string>; port: number; adminUser: string; adminPassword: pulumi.Input<string>; sslmode: string; network?: string; appHost?: pulumi.Input<string>; extensions: string[]; connectionLimit: number; template?: string }
    | { mode: "dedicated"; image: string; publishPort?: number; limits?: WorkloadLimits; extensions: string[]; connectionLimit: number };
  /**
   * Declares the server a shared-mode database lives on (e.g. an HA Postgres cluster) on the env
   * network, before the database; the database then depends on it.
   */
  databaseServer?: (ctx: DatabaseServerContext) => pulumi.Resource;
  redis: { mode: "none" } | { mode: "dedicated"; image: string; limits?: WorkloadLimits; prefix: string } | { mode: "shared"; url: string; prefix: string };
  mqtt?: { port: number; image: string; devices: string[]; limits?: WorkloadLimits };
  vault?: { domain?: string; hostPath: string; image: string; plainHttp: boolean; limits?: WorkloadLimits };
  gitea?: { kind: "gitea" | "forgejo"; image: string; sshPort: number; limits?: WorkloadLimits; runner?: { image: string; labels: string[]; registrationToken: pulumi.Input<string>; limits?: WorkloadLimits } };
  browser?: { image: string; port: number; limits?: WorkloadLimits };
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
  vip?:
    | { mode: "keepalived"; address: string; interface: string; routerId: number; image: string; nodes: string[] }
    | {
        mode: "hcloud" | "digitalocean";
        location: string;
        node: string;
        /** hcloud, two or more VIP nodes: keepalived over the private network moves the IP (VipPair cloud.failover). */
        failover?: { nodes: string[]; routerId: number; image: string; apiToken: pulumi.Input<string> };
      };
  /** image: the client whose pg_dump takes the dumps (major >= the server's). */
  backup?: { keep: number; intervalSeconds: number; image: string };
  /** Prometheus, exporters and Alertmanager of this env (components/monitoring.ts); probes the env's sites. */
  monitoring?: Omit<MonitoringArgs, "namePrefix" | "runtime" | "provider" | "networkName" | "externalLabels" | "labels" | "probes" | "insecureTls" | "databaseUrl" | "pinnedConstraints" | "protect">;
}

export interface DatabaseServerContext {
  /** The InstanceStack's resource name, to name children from. */
  name: string;
  namePrefix: string;
  networkName: pulumi.Output<string>;
  /** Docker provider per host name. */
  providers: Record<string, docker.Provider>;
  runtime: Runtime;
  parent: pulumi.Resource;
}

const NOINDEX = "noindex, nofollow";
export { KEEPALIVED_HEALTH_PORT_BASE };

/**
 * The hosts that run their own proxy container, or undefined for one proxy workload. In a Swarm a
 * proxy bound to one address (the keepalived VIP, or `proxy.bindAddress`) or serving a loopback
 * health port cannot be a service (service ports bind every address): it runs as a standalone
 * container on each VIP node (every node that may hold the VIP), or on the main host for a plain
 * bind address. Standalone, everything runs on the main host and one container is the proxy.
 */
export function proxyNodeNames(args: Pick<InstanceStackArgs, "runtime" | "hosts" | "proxy" | "vip">): string[] | undefined {
  if (args.runtime !== "swarm" || !args.proxy) return undefined;
  if (args.vip?.mode === "keepalived") return args.vip.nodes;
  if (args.proxy.bindAddress) return [args.hosts[0].name];
  return undefined;
}

/**
 * Forgejo runner start: register once from the environment (`forgejo-runner register
 * --no-interactive`, which writes .runner in the working directory /data), then run the daemon.
 * https://forgejo.org/docs/latest/admin/actions/registration/
 */
export const FORGEJO_RUNNER_START = [
  "cd /data",
  '[ -s .runner ] || forgejo-runner register --no-interactive --instance "$GITEA_INSTANCE_URL" --token "$GITEA_RUNNER_REGISTRATION_TOKEN" --name "$GITEA_RUNNER_NAME" --labels "$GITEA_RUNNER_LABELS"',
  "unset GITEA_RUNNER_REGISTRATION_TOKEN",
  "exec forgejo-runner daemon",
].join(" && ");

export class InstanceStack extends pulumi.ComponentResource {
  readonly namePrefix: string;
  readonly networkName: pulumi.Output<string>;
  readonly providers: Record<string, docker.Provider>;
  readonly database: SharedPostgresDb;
  readonly proxy?: ReverseProxy;
  readonly vip?: VipPair;
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
    const prefix = namePrefix(args.appName, args.env);
    this.namePrefix = prefix;
    const nonProd = args.env !== "prod";
    const limitsOf = (own?: WorkloadLimits) => own ?? (nonProd ? args.defaultLimits : undefined);

    this.providers = {};
    for (const host of args.hosts) {
      this.providers[host.name] = new docker.Provider(
        `${name}-docker-${host.name}`,
        { host: host.docker, sshOpts: ["-o", "StrictHostKeyChecking=accept-new", "-o", "ServerAliveInterval=30"] },
        { parent: this },
      );
    }
    // Swarm services are declared on the first manager; standalone workloads run on the first host.
    const mainHost = args.hosts[0].name;
    const provider = this.providers[mainHost];
    const runtime = args.runtime;
    const commonLabels = { [LABELS.env]: args.env, [LABELS.stack]: args.stack, [LABELS.host]: mainHost };
    // Volumes and bind mounts are local to a node: in a swarm, a service that has them stays on the
    // main host (nodes carry the label twinstack.host=<name>), where its data and the host paths are.
    const pinToMainHost = [`node.labels.${HOST_NODE_LABEL}==${mainHost}`];
    const put = (logicalName: string, spec: Omit<WorkloadSpec, "labels"> & { labels?: Record<string, pulumi.Input<string>> }, extra: { protect?: boolean; dependsOn?: pulumi.Resource[] } = {}) =>
      declareWorkload(
        `${name}-${logicalName}`,
        {
          ...spec,
          labels: { ...commonLabels, ...(spec.labels ?? {}) },
          constraints: spec.constraints ?? (runtime === "swarm" && (spec.volumes?.length || spec.binds?.length) ? pinToMainHost : undefined),
        },
        { runtime, provider, parent: this, ...extra },
      );

    const network = new docker.Network(
      `${name}-net`,
      { name: `${prefix}-net`, driver: runtime === "swarm" ? "overlay" : "bridge", attachable: runtime === "swarm" ? true : undefined, labels: [{ label: LABELS.env, value: args.env }] },
      { parent: this, provider },
    );
    this.networkName = network.name;
    const onNet = (aliases: string[]) => ({ name: network.name, aliases });
    const volume = (part: string) =>
      new docker.Volume(`${name}-${part}`, { name: `${prefix}-${part}`, labels: [{ label: LABELS.env, value: args.env }] }, { parent: this, provider, protect: args.protect });

    // ---- database ----
    const databaseServer = args.databaseServer?.({ name, namePrefix: prefix, networkName: network.name, providers: this.providers, runtime, parent: this });
    const databaseName = physicalDatabaseName(args.appName, args.env);
    this.database =
      args.database.mode === "shared"
        ? new SharedPostgresDb(
            `${name}-db`,
            {
              databaseName,
              mode: "shared",
              protect: args.protect,
              extensions: args.database.extensions,
              connectionLimit: args.database.connectionLimit,
              template: args.database.template,
              shared: {
                host: args.database.host,
                port: args.database.port,
                adminUser: args.database.adminUser,
                adminPassword: args.database.adminPassword,
                sslmode: args.database.sslmode,
                appHost: args.database.appHost ?? args.database.host,
                appPort: args.database.port,
              },
            },
            { parent: this, dependsOn: databaseServer ? [databaseServer] : undefined },
          )
        : new SharedPostgresDb(
            `${name}-db`,
            {
              databaseName,
              mode: "dedicated",
              protect: args.protect,
              extensions: args.database.extensions,
              connectionLimit: args.database.connectionLimit,
              dedicated: {
                dockerProvider: provider,
                networkName: network.name,
                image: args.database.image,
                namePrefix: prefix,
                publishPort: args.database.publishPort,
                limits: limitsOf(args.database.limits),
                labels: commonLabels,
              },
            },
            { parent: this },
          );
    const dbNetworks = args.database.mode === "shared" && args.database.network ? [args.database.network] : [];

    // ---- redis ----
    let redisUrl: string | undefined;
    let redisPrefix: string | undefined;
    if (args.redis.mode === "dedicated") {
      const data = volume("redis-data");
      put("redis", {
        name: `${prefix}-redis`,
        role: "redis",
        image: args.redis.image,
        command: ["redis-server", "--appendonly", "yes"],
        network: onNet(["redis"]),
        volumes: [{ volumeName: data.name, path: REDIS.paths.data }],
        limits: limitsOf(args.redis.limits),
        healthcheck: { test: ["CMD", ...REDIS.health!] },
      });
      redisUrl = dedicatedRedisUrl();
      redisPrefix = args.redis.prefix;
    } else if (args.redis.mode === "shared") {
      redisUrl = args.redis.url;
      redisPrefix = args.redis.prefix;
    }
    this.redisUrl = redisUrl;

    // ---- backups ---- (before the app: prod's release phase takes a backup first)
    let backupJob: BackupJob | undefined;
    if (args.backup) {
      backupJob = new BackupJob(
        `${name}-backup`,
        {
          provider,
          namePrefix: prefix,
          networkName: network.name,
          image: args.backup.image,
          connection: {
            host: this.database.appHost,
            port: this.database.appPort,
            user: this.database.roleName,
            password: this.database.password,
            database: this.database.databaseName,
          },
          keep: args.backup.keep,
          intervalSeconds: args.backup.intervalSeconds,
          protectVolume: args.protect,
          limits: limitsOf(undefined),
          labels: commonLabels,
        },
        // The first dump is taken at start: not before the database is up (else the first backup fails and the next is an interval away).
        { parent: this, dependsOn: [this.database] },
      );
    }

    // ---- app ----
    const sessionSecret = new random.RandomPassword(`${name}-session-secret`, { length: 48, special: false }, { parent: this });
    // A mutable tag (:main, :dev-latest) is pulled once unless pullTriggers change: non-prod stacks
    // resolve the tag to its registry digest at every deploy (docker.getRegistryImage, the pattern of
    // https://www.pulumi.com/registry/packages/docker/api-docs/getregistryimage/ and .../remoteimage/),
    // or take app.pullTrigger from CI. Prod pins digests or release tags (policy prod-images-immutable).
    const pullTriggers = args.env === "prod" ? undefined : [args.app.pullTrigger ?? registryDigest(args.app.image, provider, this)];
    const image = new docker.RemoteImage(`${name}-app-image`, { name: args.app.image, keepLocally: true, pullTriggers }, { parent: this, provider });
    this.appImageDigest = image.repoDigest;
    // Invariant (config validation rejects them first): generated variables are never overridden.
    const overridden = [...Object.keys(args.app.env), ...Object.keys(args.app.secretEnv)].filter(isGeneratedEnvVar);
    if (overridden.length) throw new InvariantError(`InstanceStack ${name}: app env cannot set the generated ${overridden.join(", ")}`);
    // Swarm resolves a tag when a service is updated, and Pulumi updates it only when its spec changes:
    // a non-prod service runs <image>@<resolved digest>, so a new push is a new spec.
    const swarmImage = pullTriggers && !args.app.pullTrigger ? pulumi.interpolate`${args.app.image.split("@")[0]}@${pullTriggers[0]}` : args.app.image;
    // Separate secrets: a token signer and the cookie signer rotate independently (model/appContract.ts).
    const jwtSecret = new random.RandomPassword(`${name}-jwt-secret`, { length: 48, special: false }, { parent: this });
    const appEnv = pulumi
      .all([this.database.connectionString, sessionSecret.result, jwtSecret.result, pulumi.all(args.app.secretEnv)])
      .apply(([dbUrl, session, jwt, secretEnv]) =>
        appEnvironment({
          env: args.env,
          port: args.app.port,
          version: args.app.version,
          redis: redisUrl ? { url: redisUrl, prefix: redisPrefix ?? "" } : undefined,
          features: args.app.features,
          dataPath: args.app.dataPath,
          env_: args.app.env,
          databaseUrl: dbUrl,
          sessionSecret: session,
          jwtSecret: jwt,
          secretEnv,
        }),
      );
    const secretAppEnv = pulumi.secret(appEnv);
    const appData = args.app.dataPath ? volume("app-data") : undefined;
    // The app's health check must work whatever the image holds (node:*-slim and distroless have no
    // shell, wget or curl): by default a static busybox from a probe volume does the GET; an image
    // that can check itself may name its own exec-form command instead (app.healthCheck.command).
    let probe: { volumeName: pulumi.Input<string>; seeder: pulumi.Resource } | undefined;
    if (!args.app.healthCheckCommand) {
      const probeVolume = `${prefix}-probe`;
      // Swarm creates the volume on each node with the seeder's task; standalone declares it (protected in prod like every volume).
      const seederVolume = runtime === "swarm" ? pulumi.output(probeVolume) : volume("probe").name;
      const seeder = put("probe", {
        name: `${prefix}-probe`,
        role: "probe",
        image: args.app.healthProbeImage ?? HEALTH_PROBE.image,
        // Copy the static binary into the volume, then idle: the volume stays filled on every node.
        command: ["/bin/sh", "-c", `cp /bin/busybox /probe/busybox.new && mv -f /probe/busybox.new /probe/busybox && exec sleep 2147483647`],
        volumes: [{ volumeName: seederVolume, path: "/probe" }],
        limits: limitsOf({ cpus: 0.05, memoryMb: 16 }),
        healthcheck: { test: ["CMD", "test", "-x", "/probe/busybox"], intervalSeconds: 5, startPeriodSeconds: 5 },
        // Swarm: one task per node, so wherever an app task lands the volume is filled there.
        global: runtime === "swarm",
        constraints: [],
      });
      probe = { volumeName: seederVolume, seeder };
    }
    const appHealth = {
      test: args.app.healthCheckCommand ? ["CMD", ...args.app.healthCheckCommand] : httpProbeTest(args.app.port, args.app.healthPath),
      startPeriodSeconds: 30,
    };
    const appSpec = (suffix: string, replicas: number): WorkloadSpec => ({
      name: `${prefix}-app${suffix}`,
      role: "app",
      image: runtime === "swarm" ? swarmImage : image.imageId,
      command: args.app.command,
      env: secretAppEnv,
      network: onNet(["app"]),
      extraNetworks: dbNetworks,
      ports: args.app.publishPort ? [{ internal: args.app.port, external: args.app.publishPort }] : undefined,
      volumes: [
        ...(appData ? [{ volumeName: appData.name, path: args.app.dataPath as string }] : []),
        ...(probe ? [{ volumeName: probe.volumeName, path: HEALTH_PROBE.mountPath, readOnly: true }] : []),
      ],
      // Only the app's own data pins it to the main host; the probe volume exists on every node.
      constraints: runtime === "swarm" && appData ? pinToMainHost : [],
      limits: limitsOf(args.app.limits),
      healthcheck: appHealth,
      replicas,
      gated: true,
    });
    const appDeps: pulumi.Resource[] = [this.database, ...(probe ? [probe.seeder] : [])];
    // ---- release phase: once per release, before the new version is declared ----
    if (args.app.release) {
      const release = new ReleaseTask(
        `${name}-release`,
        {
          dockerHost: args.hosts[0].docker,
          namePrefix: prefix,
          image: runtime === "swarm" ? args.app.image : image.imageId,
          command: args.app.release.command,
          version: args.app.version,
          env: secretAppEnv,
          networkName: network.name,
          extraNetworks: dbNetworks,
          limits: limitsOf(args.app.limits),
          labels: commonLabels,
          backup: backupJob && args.env === "prod" ? { containerName: backupJob.containerName, scriptPath: BACKUP_SCRIPT_PATH, dependsOn: [backupJob] } : undefined,
          dependsOn: [this.database],
        },
        { parent: this },
      );
      appDeps.push(release.task);
    }
    if (runtime === "swarm" || args.app.replicas === 1) put("app", appSpec("", args.app.replicas), { dependsOn: appDeps });
    else for (let i = 0; i < args.app.replicas; i++) put(`app-${i}`, appSpec(`-${i}`, 1), { dependsOn: appDeps });
    for (const worker of args.app.workers) {
      put(`worker-${worker.name}`, {
        name: `${prefix}-worker-${worker.name}`,
        role: "worker",
        image: runtime === "swarm" ? swarmImage : image.imageId,
        command: worker.command,
        env: secretAppEnv,
        network: onNet([`worker-${worker.name}`]),
        extraNetworks: dbNetworks,
        limits: limitsOf(worker.limits),
        replicas: worker.replicas,
        gated: true,
      }, { dependsOn: appDeps });
    }

    // ---- gitea / forgejo and its runner ----
    if (args.gitea) {
      // Rootless Gitea/Forgejo: data in /var/lib/gitea, config in /etc/gitea, SSH on 2222 (model/images.ts).
      const forge = FORGE_IMAGES[args.gitea.kind];
      const data = volume("gitea-data");
      const config = volume("gitea-config");
      const rootDomain = args.proxy?.domains[0] ?? "localhost";
      const vipAddress = args.vip?.mode === "keepalived" ? args.vip.address : undefined;
      put("gitea", {
        name: `${prefix}-gitea`,
        role: "gitea",
        image: args.gitea.image,
        env: [
          `GITEA__server__ROOT_URL=https://${rootDomain}/gitea/`,
          `GITEA__server__SSH_DOMAIN=${rootDomain}`,
          `GITEA__server__SSH_PORT=${args.gitea.sshPort}`,
          `GITEA__server__SSH_LISTEN_PORT=${forge.ports.ssh}`,
          "GITEA__actions__ENABLED=true",
        ],
        network: onNet(["gitea"]),
        // Git over SSH is published beside the proxy, not through it: standalone on the env's VIP; in a
        // Swarm through the ingress mesh on every node (a service port has no address), so the VIP
        // reaches it wherever the VIP is held.
        ports: [{ internal: forge.ports.ssh, external: args.gitea.sshPort, ip: runtime === "swarm" ? undefined : vipAddress }],
        // Fresh named volumes take the image's git:git (1000:1000) ownership of these directories.
        volumes: [
          { volumeName: data.name, path: forge.paths.data },
          { volumeName: config.name, path: forge.paths.config },
        ],
        limits: limitsOf(args.gitea.limits),
        healthcheck: { test: ["CMD", ...forge.health!] },
      });
      if (args.gitea.runner) {
        const runnerData = volume("gitea-runner-data");
        const runnerFacts = FORGE_RUNNER_IMAGES[args.gitea.kind];
        put("gitea-runner", {
          name: `${prefix}-gitea-runner`,
          role: "runner",
          image: args.gitea.runner.image,
          // act_runner registers itself from GITEA_* variables; Forgejo's runner image does not, so it
          // is registered once (its .runner file lives in /data) and then runs as a daemon.
          command: args.gitea.kind === "forgejo" ? ["/bin/sh", "-c", FORGEJO_RUNNER_START] : undefined,
          // The host's docker.sock is root:docker; the Forgejo image's own user (1000) cannot open it.
          user: runnerFacts.user,
          env: pulumi.secret(
            pulumi.output(args.gitea.runner.registrationToken).apply((token) => [
              `GITEA_INSTANCE_URL=http://gitea:${FORGE_HTTP_PORT}`,
              `GITEA_RUNNER_REGISTRATION_TOKEN=${token}`,
              `GITEA_RUNNER_NAME=${prefix}-runner`,
              `GITEA_RUNNER_LABELS=${args.gitea!.runner!.labels.join(",")}`,
            ]),
          ),
          network: onNet(["gitea-runner"]),
          volumes: [{ volumeName: runnerData.name, path: runnerFacts.paths.data }],
          // Jobs run as sibling containers on this host's engine.
          binds: [{ hostPath: "/var/run/docker.sock", path: runnerFacts.paths.dockerSocket }],
          limits: limitsOf(args.gitea.runner.limits),
        });
      }
    }

    // ---- headless browser ----
    if (args.browser) {
      put("browser", {
        name: `${prefix}-browser`,
        role: "browser",
        image: args.browser.image,
        network: onNet(["browser"]),
        limits: limitsOf(args.browser.limits),
      });
    }

    // ---- MQTT broker with mutual TLS from this env's own CA ----
    if (args.mqtt) {
      const mqtt = args.mqtt;
      const ca = certificateAuthority(
        `${name}-mqtt-ca`,
        { validityPeriodHours: 24 * 365 * 5, allowedUses: ["cert_signing", "crl_signing"], subject: { commonName: `${prefix} MQTT CA` } },
        this,
      );
      const issue = (id: string, commonName: string, allowedUses: string[], dnsNames?: string[]) =>
        ca.issue(`${name}-mqtt-${id}`, { subject: { commonName }, dnsNames, validityPeriodHours: 24 * 365, allowedUses });
      const server = issue("server", args.proxy?.domains[0] ?? "mqtt", ["digital_signature", "key_encipherment", "server_auth"], [...(args.proxy?.domains ?? []), "mqtt"]);
      const devices = mqtt.devices.map((device) => ({ device, ...issue(`device-${device}`, device, ["digital_signature", "key_encipherment", "client_auth"]) }));
      this.mqttCaCertificate = ca.cert.certPem;
      this.mqttDeviceCertificates = pulumi.secret(
        pulumi.all(devices.map((d) => pulumi.all([d.cert.certPem, d.key.privateKeyPem]))).apply((pairs) =>
          Object.fromEntries(pairs.map(([certPem, privateKeyPem], i) => [devices[i].device, { certPem, privateKeyPem }])),
        ),
      );
      const certs = MOSQUITTO.paths.certs;
      const conf = renderMosquittoConf({ port: MOSQUITTO.ports.mqtts, caFile: `${certs}/ca.crt`, certFile: `${certs}/server.crt`, keyFile: `${certs}/server.key`, persistenceDir: `${MOSQUITTO.paths.data}/` });
      // Mosquitto 2 reads certificates after dropping root to 1883:1883: the files must be its own.
      const mosquittoUser = { uid: 1883, gid: 1883 };
      const data = volume("mqtt-data");
      put("mqtt", {
        name: `${prefix}-mqtt`,
        role: "mqtt",
        image: mqtt.image,
        network: onNet(["mqtt"]),
        ports: [{ internal: MOSQUITTO.ports.mqtts, external: mqtt.port }],
        volumes: [{ volumeName: data.name, path: MOSQUITTO.paths.data }],
        files: [
          { path: MOSQUITTO.paths.config, content: conf, owner: mosquittoUser },
          { path: `${certs}/ca.crt`, content: ca.cert.certPem, owner: mosquittoUser },
          { path: `${certs}/server.crt`, content: server.cert.certPem, owner: mosquittoUser },
          { path: `${certs}/server.key`, content: server.key.privateKeyPem, secret: true, owner: mosquittoUser },
        ],
        limits: limitsOf(mqtt.limits),
      });
    }

    // ---- static-file vault ----
    if (args.vault) {
      put("vault", {
        name: `${prefix}-vault`,
        role: "vault",
        image: args.vault.image,
        command: ["caddy", "file-server", "--root", "/srv", "--listen", `:${VAULT_PORT}`],
        network: onNet(["vault"]),
        binds: [{ hostPath: args.vault.hostPath, path: "/srv", readOnly: true }],
        limits: limitsOf(args.vault.limits),
      });
    }

    // ---- reverse proxy ----
    const passwords: Record<string, pulumi.Output<string>> = {};
    let healthPort: number | undefined;
    if (args.proxy) {
      const proxy = args.proxy;
      const users = nonProd
        ? proxy.basicAuthUsers.map((user) => {
            const password = new random.RandomPassword(`${name}-basic-auth-${user}`, { length: 24, special: false }, { parent: this });
            passwords[user] = password.result;
            return { user, hash: password.bcryptHash };
          })
        : [];
      const basicAuth = users.length ? pulumi.all(users.map((u) => pulumi.all([u.user, u.hash]))).apply((pairs) => pairs.map(([user, bcryptHash]) => ({ user, bcryptHash }))) : undefined;
      const headers = { ...proxy.headers, ...(nonProd ? { "X-Robots-Tag": NOINDEX } : {}) };
      const tlsFor = (plainHttp = false): ReverseProxySiteArgs["tls"] =>
        plainHttp ? { mode: "off" } : proxy.tls === "acme" ? ({ mode: "acme", email: proxy.acmeEmail } as ProxyTls) : proxy.tls === "internal" ? { mode: "internal" } : { mode: "selfsigned" };
      const mainRoutes: ProxyRoute[] = [
        ...(args.gitea ? [{ path: "/gitea/", upstream: `gitea:${FORGE_HTTP_PORT}`, stripPrefix: true }] : []),
        ...(args.browser ? [{ path: "/browser/", upstream: `browser:${args.browser.port}`, stripPrefix: true }] : []),
        ...(args.app.websocketPort ? [{ path: "/ws", upstream: `app:${args.app.websocketPort}`, websocket: true }] : []),
        { path: "/", upstream: `app:${args.app.port}` },
      ];
      const sites: ReverseProxySiteArgs[] = [];
      if (proxy.domains.length) {
        sites.push({ domains: proxy.domains, routes: mainRoutes, tls: tlsFor(), basicAuth, headers, importPreviews: args.env === "dev" });
      }
      for (const site of proxy.sites) {
        const upstream = site.upstream === "app" ? `app:${args.app.port}` : site.upstream;
        sites.push({ domains: site.domains, routes: [{ path: "/", upstream }], tls: tlsFor(), basicAuth, headers });
      }
      if (args.vault?.domain) {
        sites.push({ domains: [args.vault.domain], routes: [{ path: "/", upstream: `vault:${VAULT_PORT}` }], tls: tlsFor(args.vault.plainHttp), basicAuth, headers });
      }
      const bindAddress = proxy.bindAddress ?? (args.vip?.mode === "keepalived" ? args.vip.address : undefined);
      healthPort = args.vip?.mode === "keepalived" ? KEEPALIVED_HEALTH_PORT_BASE + args.vip.routerId : undefined;
      const proxyNodes = proxyNodeNames(args);
      this.proxy = new ReverseProxy(
        `${name}-proxy`,
        {
          namePrefix: prefix,
          runtime,
          dockerProvider: provider,
          networkName: network.name,
          image: proxy.image,
          sites,
          global: { email: proxy.acmeEmail },
          httpPort: proxy.httpPort,
          httpsPort: proxy.httpsPort,
          bindAddress,
          healthPort,
          // Its data volume, and the preview route scripts that find it with `docker ps` on the main host.
          constraints: runtime === "swarm" ? pinToMainHost : undefined,
          nodes: proxyNodes?.map((node) => ({ name: node, provider: this.providers[node] })),
          limits: limitsOf(proxy.limits),
          labels: commonLabels,
          protect: args.protect,
        },
        { parent: this },
      );
      this.caddyfile = this.proxy.caddyfile;
      const portSuffix = proxy.httpsPort === 443 ? "" : `:${proxy.httpsPort}`;
      // Every TLS mode serves the main domains over HTTPS.
      this.url = proxy.domains.length ? `https://${proxy.domains[0]}${portSuffix}/` : undefined;
    }
    this.basicAuthPasswords = pulumi.secret(pulumi.all(passwords));

    // ---- virtual IP ----
    if (args.vip?.mode === "keepalived") {
      const vip = args.vip;
      const nodes = vip.nodes.map((nodeName, i) => {
        const host = args.hosts.find((h) => h.name === nodeName);
        if (!host) throw new InvariantError(`vip node "${nodeName}" is not a host of this stack`);
        return { name: nodeName, address: host.address as string, priority: 150 - i * 10, dockerProvider: this.providers[nodeName] };
      });
      this.vip = new VipPair(
        `${name}-vip`,
        {
          mode: "keepalived",
          namePrefix: prefix,
          protect: args.protect,
          keepalived: {
            virtualIp: vip.address,
            interface: vip.interface,
            virtualRouterId: vip.routerId,
            image: vip.image,
            // Without a proxy there is nothing to track but the node itself: sshd.
            proxyPort: healthPort ?? 22,
            nodes,
            limits: limitsOf(undefined),
            labels: { [LABELS.env]: args.env, [LABELS.stack]: args.stack },
          },
        },
        { parent: this },
      );
    } else if (args.vip) {
      const vip = args.vip;
      const node = args.hosts.find((h) => h.name === vip.node);
      if (!node?.serverId) throw new InvariantError(`a ${vip.mode} VIP needs a provisioned host to assign to ("${vip.node}" is not provisioned)`);
      const f = vip.failover;
      const failover = f && {
        image: f.image,
        virtualRouterId: f.routerId,
        apiToken: f.apiToken,
        // The proxy is a Swarm service published on every node (ingress); without one, sshd.
        trackPort: args.proxy?.httpsPort ?? 22,
        nodes: f.nodes.map((nodeName, i) => {
          const host = args.hosts.find((h) => h.name === nodeName);
          if (!host?.serverId || typeof host.address !== "string") throw new InvariantError(`vip node "${nodeName}" needs a provisioned host on the private network`);
          return { name: nodeName, privateAddress: host.address, serverId: host.serverId, priority: 150 - i * 10, dockerProvider: this.providers[nodeName] };
        }),
        limits: limitsOf(undefined),
        labels: { [LABELS.env]: args.env, [LABELS.stack]: args.stack },
      };
      this.vip = new VipPair(`${name}-vip`, { mode: vip.mode, namePrefix: prefix, protect: args.protect, cloud: { location: vip.location, assignTo: node.serverId, failover } }, { parent: this });
    }

    // ---- monitoring ----
    if (args.monitoring) {
      const proxy = args.proxy;
      new Monitoring(
        `${name}-monitoring`,
        {
          ...args.monitoring,
          namePrefix: prefix,
          runtime,
          provider,
          networkName: network.name,
          externalLabels: { env: args.env, stack: args.stack },
          labels: commonLabels,
          probes: proxy
            ? siteProbeTargets({
                domains: proxy.domains,
                siteDomains: proxy.sites.flatMap((s) => s.domains),
                vault: args.vault?.domain ? { domain: args.vault.domain, plainHttp: args.vault.plainHttp } : undefined,
                httpPort: proxy.httpPort,
                httpsPort: proxy.httpsPort,
                healthPath: args.app.healthPath,
                authRequired: nonProd && proxy.basicAuthUsers.length > 0,
              })
            : [],
          insecureTls: proxy?.tls === "selfsigned" || proxy?.tls === "internal",
          databaseUrl: this.database.connectionString,
          limits: limitsOf(args.monitoring.limits),
          pinnedConstraints: pinToMainHost,
          protect: args.protect,
        },
        // The first dump is taken at start: not before the database is up (else the first backup fails and the next is an interval away).
        { parent: this, dependsOn: [this.database] },
      );
    }

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

/** The registry's current sha256 digest of an image reference (tag resolved at deploy time). */
export function registryDigest(image: string, provider: docker.Provider | undefined, parent: pulumi.Resource): pulumi.Output<string> {
  return docker.getRegistryImageOutput({ name: image }, { provider, parent }).sha256Digest;
}
