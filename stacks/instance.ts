// Composition of a prod or dev stack: maps the validated stack config onto an InstanceStack and
// exports what users and preview stacks need.
import * as pulumi from "@pulumi/pulumi";
import { InstanceHost, InstanceStack, InstanceStackArgs } from "../components/instanceStack";
import { AlertReceiver } from "../components/render/alertmanager";
import { LoadedConfig } from "./config";
import { PreviewHandoff } from "../model/handoff";
import { dedicatedRedisUrl, namePrefix, redisKeyPrefix } from "../model/names";
import { StackConfig } from "../model/schema";
import { CLOUD_VIP_DEFAULT_ROUTER_ID, cloudVipFailover, cloudVipNodes } from "../model/hosts";

import { BACKUP_CLIENT, FORGE_IMAGES, FORGE_RUNNER_IMAGES } from "../model/images";
import { backupServerMajor } from "./config";

/** The backup client: backup.image, else the dedicated server's image, else postgres:<server major>-alpine. */
export function backupImage(c: StackConfig): string {
  if (c.backup.image) return c.backup.image;
  if (c.postgres.mode === "dedicated" && !c.haPostgres.enabled) return c.postgres.image;
  return BACKUP_CLIENT.imageFor(backupServerMajor(c) ?? BACKUP_CLIENT.defaultMajor);
}

/** The image repository without tag or digest: registry.example.com:5000/org/app:1.2 -> registry.example.com:5000/org/app */
export function imageRepository(image: string): string {
  const withoutDigest = image.split("@")[0];
  const lastSlash = withoutDigest.lastIndexOf("/");
  const colon = withoutDigest.lastIndexOf(":");
  return colon > lastSlash ? withoutDigest.slice(0, colon) : withoutDigest;
}

/** `extra` overrides what other composition steps decide (e.g. the database on an HA cluster, stacks/haPostgres.ts). */
export function instanceArgs(loaded: LoadedConfig, hosts: InstanceHost[], extra: Partial<InstanceStackArgs> = {}): InstanceStackArgs {
  const c: StackConfig = loaded.config;
  const app = c.app!;
  const env = c.env as "prod" | "dev";
  const pg = c.postgres;
  return {
    appName: app.name,
    env,
    stack: loaded.stack,
    runtime: c.runtime,
    hosts,
    protect: env === "prod",
    defaultLimits: env === "prod" ? undefined : c.budget.defaultLimits,
    app: {
      image: app.image,
      version: app.version,
      pullTrigger: app.pullTrigger,
      port: app.port,
      healthPath: app.healthPath,
      replicas: app.replicas,
      websocketPort: app.websocketPort,
      publishPort: app.publishPort,
      command: app.command,
      env: app.env,
      secretEnv: Object.fromEntries(Object.entries(app.secretEnv).map(([name, key]) => [name, loaded.secret(key)])),
      features: app.features,
      dataPath: app.dataPath,
      limits: app.limits,
      workers: app.workers.map((w) => ({ name: w.name, command: w.command, replicas: w.replicas, limits: w.limits })),
      release: app.release ? { command: app.release.command } : undefined,
      healthCheckCommand: app.healthCheck.command,
      healthProbeImage: app.healthCheck.probeImage,
    },
    database:
      pg.mode === "shared"
        ? {
            mode: "shared",
            host: pg.host!,
            port: pg.port,
            adminUser: pg.adminUser,
            adminPassword: loaded.secret(pg.adminPasswordKey!),
            sslmode: pg.sslmode,
            network: pg.network,
            appHost: pg.appHost,
            extensions: pg.extensions,
            connectionLimit: pg.connectionLimit,
            template: pg.template,
          }
        : { mode: "dedicated", image: pg.image, publishPort: pg.publishPort, limits: pg.limits, extensions: pg.extensions, connectionLimit: pg.connectionLimit },
    redis:
      c.redis.mode === "none"
        ? { mode: "none" }
        : c.redis.mode === "dedicated"
          ? { mode: "dedicated", image: c.redis.image, limits: c.redis.limits, prefix: redisKeyPrefix(env, c.redis.prefix) }
          : { mode: "shared", url: c.redis.url!, prefix: redisKeyPrefix(env, c.redis.prefix) },
    mqtt: c.mqtt.enabled ? { port: c.mqtt.port, image: c.mqtt.image, devices: c.mqtt.devices, limits: c.mqtt.limits } : undefined,
    vault: c.vault?.enabled ? { domain: c.vault.domain, hostPath: c.vault.hostPath, image: c.vault.image, plainHttp: c.vault.plainHttp, limits: c.vault.limits } : undefined,
    gitea: c.gitea.enabled
      ? {
          kind: c.gitea.kind,
          image: c.gitea.image ?? FORGE_IMAGES[c.gitea.kind].image,
          sshPort: c.gitea.sshPort,
          limits: c.gitea.limits,
          runner: c.gitea.runner.enabled
            ? {
                image: c.gitea.runner.image ?? FORGE_RUNNER_IMAGES[c.gitea.kind].image,
                labels: c.gitea.runner.labels,
                registrationToken: loaded.secret(c.gitea.runner.registrationTokenKey!),
                limits: c.gitea.runner.limits,
              }
            : undefined,
        }
      : undefined,
    browser: c.browser.enabled ? { image: c.browser.image, port: c.browser.port, limits: c.browser.limits } : undefined,
    proxy: c.proxy.enabled
      ? {
          image: c.proxy.image,
          tls: c.proxy.tls,
          acmeEmail: c.proxy.acmeEmail,
          httpPort: c.proxy.httpPort,
          httpsPort: c.proxy.httpsPort,
          basicAuthUsers: c.proxy.basicAuth.map((u) => u.user),
          headers: c.proxy.headers,
          domains: c.domains,
          sites: [...c.proxy.sites.map((s) => ({ domains: s.domains, upstream: s.upstream })), ...tenantSites(c)],
          bindAddress: c.proxy.bindAddress,
          limits: c.proxy.limits,
        }
      : undefined,
    vip:
      c.vip.mode === "none"
        ? undefined
        : c.vip.mode === "keepalived"
          ? {
              mode: "keepalived",
              address: c.vip.address!,
              interface: c.vip.interface,
              routerId: c.vip.routerId!,
              image: c.vip.image,
              nodes: c.vip.nodes ?? c.hosts.map((h) => h.name),
            }
          : {
              mode: c.vip.mode,
              location: c.vip.location ?? c.hosts[0].provision?.location ?? "",
              node: cloudVipNodes(c)[0],
              failover: cloudVipFailover(c)
                ? { nodes: cloudVipNodes(c), routerId: c.vip.routerId ?? CLOUD_VIP_DEFAULT_ROUTER_ID, image: c.vip.image, apiToken: loaded.secret(c.vip.apiTokenKey) }
                : undefined,
            },
    backup: c.backup.enabled ? { keep: c.backup.keep, intervalSeconds: c.backup.intervalSeconds, image: backupImage(c) } : undefined,
    monitoring: c.monitoring.enabled ? monitoringArgs(loaded) : undefined,
    ...extra,
  };
}

/** monitoring.* of an enabled stack; the receiver's secrets are read with requireSecret. */
function monitoringArgs(loaded: LoadedConfig): NonNullable<InstanceStackArgs["monitoring"]> {
  const m = loaded.config.monitoring;
  const t = m.thresholds;
  const email = m.alerts.email;
  const receiver: pulumi.Output<AlertReceiver> = m.alerts.webhookUrlKey
    ? loaded.secret(m.alerts.webhookUrlKey).apply((url): AlertReceiver => ({ kind: "webhook", url }))
    : pulumi.output(email!.passwordKey ? loaded.secret(email!.passwordKey) : undefined).apply((password): AlertReceiver => ({
        kind: "email",
        to: email!.to,
        from: email!.from,
        smarthost: email!.smarthost,
        username: email!.username,
        password,
        requireTls: email!.requireTls,
      }));
  return {
    scrapeIntervalSeconds: m.scrapeIntervalSeconds,
    retentionDays: m.retentionDays,
    receiver,
    repeatIntervalHours: m.alerts.repeatIntervalHours,
    thresholds: {
      latencyP99Seconds: t.latencyP99Ms / 1000,
      diskUsedRatio: t.diskUsedPercent / 100,
      memoryUsedRatio: t.memoryUsedPercent / 100,
      certificateDays: t.certificateDays,
      dbConnectionsRatio: t.dbConnectionsPercent / 100,
      containerMemoryRatio: t.containerMemoryPercent / 100,
      containerCpuThrottledRatio: t.containerCpuThrottledPercent / 100,
    },
    images: m.images,
    limits: m.limits,
  };
}

/** Every domain a tenant brings or gets from the org templates. */
export function tenantDomains(tenant: StackConfig["tenants"][number]): string[] {
  const fromTemplates = tenant.orgs.flatMap((o) => tenant.templates.map((t) => t.replace("{org}", o.org).replace("{tld}", o.tld)));
  return [...new Set([...tenant.domains, ...fromTemplates])];
}

function tenantSites(c: StackConfig) {
  return c.tenants.map((t) => ({ domains: tenantDomains(t), upstream: t.upstream }));
}

export function composeInstance(
  loaded: LoadedConfig,
  hosts: InstanceHost[],
  extra: Partial<InstanceStackArgs> = {},
): { instance: InstanceStack; outputs: Record<string, unknown> } {
  const c = loaded.config;
  const args = instanceArgs(loaded, hosts, extra);
  const instance = new InstanceStack(namePrefix(args.appName, args.env), args);
  const outputs: Record<string, unknown> = {
    env: c.env,
    url: instance.url,
    networkName: instance.networkName,
    appImageDigest: instance.appImageDigest,
    databaseName: instance.database.databaseName,
    connectionString: instance.database.connectionString,
    caddyfile: instance.caddyfile,
    basicAuthPasswords: instance.basicAuthPasswords,
    vip: instance.vip?.address,
    caCertificate: instance.proxy?.caCertificate,
    mqttCaCertificate: instance.mqttCaCertificate,
    mqttDeviceCertificates: instance.mqttDeviceCertificates,
  };
  if (c.env === "dev" && instance.proxy && c.domains.length) {
    const handoff: pulumi.Output<PreviewHandoff> = pulumi
      .all([
        instance.networkName,
        instance.database.admin,
        instance.database.appHost,
        instance.database.appPort,
        instance.database.databaseName,
        pulumi.output(hosts[0].docker),
        instance.database.connectionString,
        pulumi.all(instance.proxy.nodeNames.map((node) => hosts.find((h) => h.name === node)!.docker)),
      ])
      .apply(([networkName, admin, appHost, appPort, devDatabase, dockerHost, devDatabaseUrl, proxyHosts]): PreviewHandoff => ({
        appName: args.appName,
        dockerHost,
        dockerSshOpts: ["-o", "StrictHostKeyChecking=accept-new"],
        networkName,
        postgres: {
          host: admin.host,
          port: admin.port,
          appHost,
          appPort,
          adminUser: admin.user,
          adminPassword: admin.password,
          sslmode: admin.sslmode,
          devDatabase,
          devDatabaseUrl,
          clientImage: backupImage(c),
          extensions: c.postgres.extensions,
        },
        proxy: { label: instance.proxy!.label, previewsDir: instance.proxy!.previewsDir, ...(proxyHosts.length ? { dockerHosts: proxyHosts } : {}) },
        domain: c.domains[0],
        httpsPort: c.proxy.httpsPort,
        imageRepository: imageRepository(args.app.image),
        app: {
          port: args.app.port,
          healthPath: args.app.healthPath,
          env: args.app.env,
          features: args.app.features,
          version: args.app.version,
          redisUrl: args.redis.mode === "dedicated" ? dedicatedRedisUrl() : args.redis.mode === "shared" ? args.redis.url : undefined,
          ...(args.app.healthCheckCommand ? { healthCheckCommand: args.app.healthCheckCommand } : { probeVolume: `${instance.namePrefix}-probe` }),
        },
      }));
    // The handoff holds the Postgres admin password: the whole output stays secret.
    outputs.previewHandoff = pulumi.secret(handoff);
  }
  return { instance, outputs };
}
