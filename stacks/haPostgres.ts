// haPostgres.enabled: the env's database lives on an HA Postgres cluster of its own (etcd + Patroni
// + HAProxy, components/haPostgres.ts): the InstanceStack's `ha` database variant declares it on the
// env network and creates the env's role and database through HAProxy (components/instance/database.ts).
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import { InstanceHost, InstanceStackArgs } from "../components/instanceStack";
import { LoadedConfig } from "./config";
import { namePrefix } from "../model/names";

export function haPostgresDatabase(loaded: LoadedConfig, hosts: InstanceHost[], publicAddresses: Record<string, pulumi.Input<string>>): Pick<InstanceStackArgs, "database"> {
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
      mode: "ha",
      members: members.map((h) => h.name),
      patroniImage: ha.image,
      etcdImage: ha.etcdImage,
      haproxyImage: ha.haproxyImage,
      port: ha.port,
      // The operator's postgresql provider reaches HAProxy on the first host (the firewall admits the admin range only).
      adminHost: publicAddresses[hosts[0].name],
      superuserPassword: superuser.result,
      limits: ha.limits,
      extensions: c.postgres.extensions,
      connectionLimit: c.postgres.connectionLimit,
      template: c.postgres.template,
    },
  };
}
