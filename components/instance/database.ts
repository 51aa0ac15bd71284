// The env's PostgreSQL database and role, by variant (InstanceStackArgs.database):
//   shared     on an existing server (the operator's), through its admin login;
//   dedicated  in a container of the env's own (PostgresDatabase's dedicated mode);
//   ha         on an HA cluster of the env's own (etcd + Patroni + HAProxy, components/haPostgres.ts)
//              declared first on the env network, then used like a shared server through HAProxy.
import * as pulumi from "@pulumi/pulumi";
import { HA_POSTGRES_HOST, HaPostgres, SUPERUSER } from "../haPostgres";
import { PostgresDatabase } from "../postgresDatabase";
import { databaseName as physicalDatabaseName } from "../../model/names";
import { InvariantError } from "../render/invariant";
import { LABELS } from "../../model/labels";
import { InstanceContext } from "./context";

/**
 * The env's database as the other builders use it: the PostgresDatabase component and the networks
 * the app joins to reach it.
 */
export interface InstanceDatabase {
  database: PostgresDatabase;
  /** Extra networks the app's containers join to reach a shared server (`database.network`). */
  dbNetworks: string[];
}

/** Children: `${name}-db` (PostgresDatabase); for `ha` also `${name}-ha-postgres` (HaPostgres), which the database depends on. */
export function declareDatabase(ctx: InstanceContext): InstanceDatabase {
  const { name, args, parent } = ctx;
  const db = args.database;
  const databaseName = physicalDatabaseName(args.appName, args.env);
  const common = { databaseName, protect: args.protect, extensions: db.extensions, connectionLimit: db.connectionLimit };
  // The shared and ha variants alike: the database on a server reached through an admin login,
  // on the variant's port (the app's port too).
  const onServer = (
    variant: { template?: pulumi.Input<string>; port: number },
    login: { host: pulumi.Input<string>; adminUser: pulumi.Input<string>; adminPassword: pulumi.Input<string>; sslmode: pulumi.Input<string>; appHost: pulumi.Input<string> },
    opts: pulumi.ComponentResourceOptions,
  ) =>
    new PostgresDatabase(
      `${name}-db`,
      {
        ...common,
        mode: "shared",
        template: variant.template,
        shared: {
          host: login.host,
          port: variant.port,
          adminUser: login.adminUser,
          adminPassword: login.adminPassword,
          sslmode: login.sslmode,
          appHost: login.appHost,
          appPort: variant.port,
        },
      },
      opts,
    );
  switch (db.mode) {
    case "shared":
      return {
        database: onServer(db, { host: db.host, adminUser: db.adminUser, adminPassword: db.adminPassword, sslmode: db.sslmode, appHost: db.appHost ?? db.host }, { parent }),
        dbNetworks: db.network ? [db.network] : [],
      };
    case "ha": {
      const members = db.members.map((host) => {
        const provider = ctx.providers[host];
        if (!provider) throw new InvariantError(`HA Postgres member "${host}" is not a host of this stack`);
        return { host, dockerProvider: provider };
      });
      const cluster = new HaPostgres(
        `${name}-ha-postgres`,
        {
          namePrefix: ctx.prefix,
          env: args.env,
          dockerProvider: ctx.provider,
          networkName: ctx.networkName,
          members,
          patroniImage: db.patroniImage,
          etcdImage: db.etcdImage,
          haproxyImage: db.haproxyImage,
          port: db.port,
          publish: true,
          superuserPassword: db.superuserPassword,
          limits: ctx.limitsOf(db.limits),
          protect: args.protect,
          labels: { [LABELS.env]: args.env, [LABELS.stack]: args.stack },
        },
        { parent },
      );
      return {
        database: onServer(
          db,
          // The cluster's superuser is the database's admin login (one generated password).
          { host: db.adminHost, adminUser: SUPERUSER, adminPassword: db.superuserPassword, sslmode: "prefer", appHost: HA_POSTGRES_HOST },
          { parent, dependsOn: [cluster] },
        ),
        dbNetworks: [],
      };
    }
    case "dedicated":
      return {
        database: new PostgresDatabase(
          `${name}-db`,
          {
            ...common,
            mode: "dedicated",
            dedicated: {
              dockerProvider: ctx.provider,
              networkName: ctx.networkName,
              image: db.image,
              namePrefix: ctx.prefix,
              publishPort: db.publishPort,
              limits: ctx.limitsOf(db.limits),
              labels: ctx.commonLabels,
            },
          },
          { parent },
        ),
        dbNetworks: [],
      };
  }
}
