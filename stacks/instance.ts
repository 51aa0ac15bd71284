// Composition of a prod or dev stack: maps the validated stack config onto an InstanceStack and
// exports what users and preview stacks need.
import * as pulumi from "@pulumi/pulumi";
import { InstanceHost, InstanceStack, InstanceStackArgs } from "../components/instanceStack";
import { LoadedConfig } from "./config";
import { PreviewHandoff } from "./handoff";
import { StackConfig } from "./schema";

const DEFAULT_GITEA_IMAGES = { gitea: "gitea/gitea:1.22-rootless", forgejo: "codeberg.org/forgejo/forgejo:9-rootless" } as const;
const DEFAULT_RUNNER_IMAGES = { gitea: "gitea/act_runner:0.2.11", forgejo: "code.forgejo.org/forgejo/runner:6.3.1" } as const;

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
          ? { mode: "dedicated", image: c.redis.image, limits: c.redis.limits, prefix: c.redis.prefix ?? `${env}:` }
          : { mode: "shared", url: c.redis.url!, prefix: c.redis.prefix ?? `${env}:` },
    mqtt: c.mqtt.enabled ? { port: c.mqtt.port, image: c.mqtt.image, devices: c.mqtt.devices, limits: c.mqtt.limits } : undefined,
    vault: c.vault?.enabled ? { domain: c.vault.domain, hostPath: c.vault.hostPath, image: c.vault.image, plainHttp: c.vault.plainHttp, limits: c.vault.limits } : undefined,
    gitea: c.gitea.enabled
      ? {
          kind: c.gitea.kind,
          image: c.gitea.image ?? DEFAULT_GITEA_IMAGES[c.gitea.kind],
          sshPort: c.gitea.sshPort,
          limits: c.gitea.limits,
          runner: c.gitea.runner.enabled
            ? {
                image: c.gitea.runner.image ?? DEFAULT_RUNNER_IMAGES[c.gitea.kind],
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
          ? { mode: "keepalived", address: c.vip.address!, interface: c.vip.interface, routerId: c.vip.routerId!, image: c.vip.image, nodes: c.vip.nodes ?? c.hosts.map((h) => h.name) }
          : { mode: c.vip.mode, location: c.vip.location ?? c.hosts[0].provision?.location ?? "", node: (c.vip.nodes ?? [c.hosts[0].name])[0] },
    backup: c.backup.enabled ? { keep: c.backup.keep, intervalSeconds: c.backup.intervalSeconds } : undefined,
    ...extra,
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


export function composeInstance(loaded: LoadedConfig, hosts: InstanceHost[], extra: Partial<InstanceStackArgs> = {}): { instance: InstanceStack; outputs: Record<string, unknown> } {
  const c = loaded.config;
  const args = instanceArgs(loaded, hosts, extra);
  const instance = new InstanceStack(`${args.appName}-${args.env}`, args);
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
      .all([instance.networkName, instance.database.admin, instance.database.appHost, instance.database.appPort, instance.database.databaseName, pulumi.output(hosts[0].docker)])
      .apply(([networkName, admin, appHost, appPort, devDatabase, dockerHost]): PreviewHandoff => ({
        appName: args.appName,
        dockerHost,
        dockerSshOpts: ["-o", "StrictHostKeyChecking=accept-new"],
        networkName,
        postgres: { host: admin.host, port: admin.port, appHost, appPort, adminUser: admin.user, adminPassword: admin.password, sslmode: admin.sslmode, devDatabase },
        proxy: { label: instance.proxy!.label, previewsDir: instance.proxy!.previewsDir },
        domain: c.domains[0],
        httpsPort: c.proxy.httpsPort,
        imageRepository: imageRepository(args.app.image),
        app: { port: args.app.port, healthPath: args.app.healthPath, env: args.app.env, features: args.app.features, version: args.app.version, redisUrl: args.redis.mode === "dedicated" ? "redis://redis:6379" : args.redis.mode === "shared" ? args.redis.url : undefined },
      }));
    // The handoff holds the Postgres admin password: the whole output stays secret.
    outputs.previewHandoff = pulumi.secret(handoff);
  }
  return { instance, outputs };
}
