// haPostgres.enabled: the env's database lives on an HA Postgres cluster of its own (etcd + Patroni
// + HAProxy, components/haPostgres.ts) declared on the env network; SharedPostgresDb then creates
// the env's role and database in shared mode through HAProxy.
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import { HA_POSTGRES_HOST, HaPostgres, SUPERUSER } from "../components/haPostgres";
import { InstanceHost, InstanceStackArgs } from "../components/instanceStack";
import { LoadedConfig } from "./config";
import { LABELS } from "../model/labels";
import { namePrefix } from "../model/names";

export function haPostgresDatabase(
  loaded: LoadedConfig,
  hosts: InstanceHost[],
  publicAddresses: Record<string, pulumi.Input<string>>,
): Pick<InstanceStackArgs, "database" | "databaseServer"> {
  const c = loaded.config;
  const ha = c.haPostgres;
  // runtime "swarm", no shared postgres.mode and an odd member count are checked by config
  // validation (model/validate.ts) before anything is declared; HaPostgres keeps them as invariants.
  const env = c.env as "prod" | "dev";
  const prefix = namePrefix(c.app!.name, env);
  const members = hosts.slice(0, ha.members);
  // Created before the InstanceStack: the database's admin password and the cluster's superuser are one.
  const superuser = new random.RandomPassword(`${prefix}-pg-superuser`, { length: 32, special: false });

  return {
    database: {
      mode: "shared",
      // The operator's postgresql provider reaches HAProxy on the first host (the firewall admits the admin range only).
      host: publicAddresses[hosts[0].name],
      port: ha.port,
      adminUser: SUPERUSER,
      adminPassword: superuser.result,
      sslmode: "prefer",
      appHost: HA_POSTGRES_HOST,
      extensions: c.postgres.extensions,
      connectionLimit: c.postgres.connectionLimit,
      template: c.postgres.template,
    },
    databaseServer: (ctx) =>
      new HaPostgres(
        `${ctx.name}-ha-postgres`,
        {
          namePrefix: ctx.namePrefix,
          env,
          dockerProvider: ctx.providers[hosts[0].name],
          networkName: ctx.networkName,
          members: members.map((h) => ({ host: h.name, dockerProvider: ctx.providers[h.name] })),
          patroniImage: ha.image,
          etcdImage: ha.etcdImage,
          haproxyImage: ha.haproxyImage,
          port: ha.port,
          publish: true,
          superuserPassword: superuser.result,
          limits: ha.limits ?? (env === "prod" ? undefined : c.budget.defaultLimits),
          protect: env === "prod",
          labels: { [LABELS.env]: env, [LABELS.stack]: loaded.stack },
        },
        { parent: ctx.parent },
      ),
  };
}
