// The env's Prometheus, exporters and Alertmanager (components/monitoring.ts), probing the env's sites.
import { Monitoring, siteProbeTargets } from "../monitoring";
import { PostgresDatabase } from "../postgresDatabase";
import { InstanceContext } from "./context";

/** Child: `${name}-monitoring` (Monitoring), after the database. Nothing without `monitoring`. */
export function declareMonitoring(ctx: InstanceContext, database: PostgresDatabase): Monitoring | undefined {
  const { args, nonProd } = ctx;
  if (!args.monitoring) return undefined;
  const proxy = args.proxy;
  return new Monitoring(
    `${ctx.name}-monitoring`,
    {
      ...args.monitoring,
      namePrefix: ctx.prefix,
      runtime: ctx.runtime,
      provider: ctx.provider,
      networkName: ctx.networkName,
      externalLabels: { env: args.env, stack: args.stack },
      labels: ctx.commonLabels,
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
      databaseUrl: database.connectionString,
      limits: ctx.limitsOf(args.monitoring.limits),
      pinnedConstraints: ctx.pinToMainHost,
      protect: args.protect,
    },
    // The exporter reads the database: not before it is up.
    { parent: ctx.parent, dependsOn: [database] },
  );
}
