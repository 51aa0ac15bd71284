// Scheduled, verified pg_dump backups of the env's database (components/backupJob.ts).
import { BackupJob } from "../backupJob";
import { PostgresDatabase } from "../postgresDatabase";
import { InstanceContext } from "./context";

/** Child: `${name}-backup` (BackupJob), after the database. Returns undefined without `backup`. */
export function declareBackup(ctx: InstanceContext, database: PostgresDatabase): BackupJob | undefined {
  const { args } = ctx;
  if (!args.backup) return undefined;
  return new BackupJob(
    `${ctx.name}-backup`,
    {
      provider: ctx.provider,
      namePrefix: ctx.prefix,
      networkName: ctx.networkName,
      image: args.backup.image,
      connection: {
        host: database.appHost,
        port: database.appPort,
        user: database.roleName,
        password: database.password,
        database: database.databaseName,
      },
      keep: args.backup.keep,
      intervalSeconds: args.backup.intervalSeconds,
      protectVolume: args.protect,
      limits: ctx.limitsOf(undefined),
      labels: ctx.commonLabels,
    },
    // The first dump is taken at start: not before the database is up (else the first backup fails and the next is an interval away).
    { parent: ctx.parent, dependsOn: [database] },
  );
}
