// Scheduled PostgreSQL backups as one long-running container: scripts/backup-loop.sh runs
// scripts/backup.sh (pg_dump, verify, atomic rename, keep the newest N) every intervalSeconds,
// writing into a backup volume. The scripts are read from the repo at construction time and
// uploaded into the container, so the stock Postgres image (same major as the server) suffices.
import * as fs from "fs";
import * as path from "path";
import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { InvariantError } from "./render/invariant";
import { LABELS } from "../model/labels";
import { declareWorkload } from "./workload";

/**
 * How the backup container reaches the database: server `host` and TCP `port`, login `user` and
 * `password` (always stored as a Pulumi secret), and the `database` to dump. Set as the libpq
 * variables PGHOST, PGPORT, PGUSER, PGPASSWORD, PGDATABASE
 * (https://www.postgresql.org/docs/current/libpq-envars.html).
 */
export interface BackupJobConnection {
  host: pulumi.Input<string>;
  port: pulumi.Input<number>;
  user: pulumi.Input<string>;
  /** Wrapped in pulumi.secret() here in any case. */
  password: pulumi.Input<string>;
  database: pulumi.Input<string>;
}

/** Arguments of {@link BackupJob}. */
export interface BackupJobArgs {
  /**
   * The Docker host to run on. A resource option must be a concrete provider, so an
   * Output<Provider> is not accepted.
   */
  provider: docker.Provider;
  /** Physical name prefix carrying the env token, e.g. "gigi-prod"; also the dump file prefix. */
  namePrefix: string;
  /** Docker network the container joins to reach the database server. */
  networkName: pulumi.Input<string>;
  /** The postgres image, same major version as the server (pg_dump refuses newer servers). */
  image: pulumi.Input<string>;
  /** The database to dump and the login to dump it with. */
  connection: BackupJobConnection;
  /** How many good dumps to keep. */
  keep: number;
  /**
   * Seconds between dumps (a positive integer; the config asks >= 60, default 86400). The first dump is
   * taken at start; the container is unhealthy when no dump is younger than two intervals.
   */
  intervalSeconds: number;
  /** Use an existing volume instead of declaring `<namePrefix>-backups`. */
  volumeName?: pulumi.Input<string>;
  /** Protect the declared backup volume against deletion (prod). */
  protectVolume?: boolean;
  /** Container limits: `cpus` in CPUs, `memoryMb` in MiB; absent: unlimited. */
  limits?: { cpus: number; memoryMb: number };
  /** Labels shared by the env's workloads (env, stack, host); the role label is added here. */
  labels?: Record<string, string>;
}

const SCRIPTS_DIR = path.join(__dirname, "..", "scripts");
/** Where the backup volume is mounted in the container; dumps are `<namePrefix>-<timestamp>.dump` in it. */
export const BACKUP_MOUNT = "/backups";
/** Where scripts/backup.sh (one dump: pg_dump, verify, atomic rename, prune) is uploaded in the container. */
export const BACKUP_SCRIPT_PATH = "/usr/local/bin/twinstack-backup.sh";
/** Where scripts/backup-loop.sh (runs the backup script every `intervalSeconds`) is uploaded; the container's command. */
export const BACKUP_LOOP_PATH = "/usr/local/bin/twinstack-backup-loop.sh";
/** Shipped beside the backups so a restore needs nothing but `docker exec`. */
export const RESTORE_SCRIPT_PATH = "/usr/local/bin/twinstack-restore.sh";

/**
 * Scheduled PostgreSQL dumps: one long-running container `<namePrefix>-backup` of a stock postgres
 * image (its pg_dump major >= the server's) that dumps every `intervalSeconds` into the volume
 * `<namePrefix>-backups` (or `volumeName`) and keeps the newest `keep`. Type token
 * `twinstack:index:BackupJob`. Children: `${name}-backups` (docker.Volume, unless `volumeName`),
 * `${name}-backup` (docker.Container, fixed name, delete-before-replace).
 * @throws InvariantError when `namePrefix` is not a Docker name, or `keep` / `intervalSeconds` is not a positive integer.
 * @example
 * const backup = new BackupJob("prod-backup", {
 *   provider, namePrefix: "gigi-prod", networkName, image: "postgres:17-alpine",
 *   connection: { host: "postgres", port: 5432, user: "postgres", password, database: "gigi_prod" },
 *   keep: 7, intervalSeconds: 86400, protectVolume: true,
 * }, { parent: this, dependsOn: [database] });
 */
export class BackupJob extends pulumi.ComponentResource {
  public readonly volumeName: pulumi.Output<string>;
  public readonly containerName: pulumi.Output<string>;

  constructor(name: string, args: BackupJobArgs, opts?: pulumi.ComponentResourceOptions) {
    super("twinstack:index:BackupJob", name, {}, opts);

    if (!/^[A-Za-z0-9][A-Za-z0-9_.-]*$/.test(args.namePrefix)) {
      throw new InvariantError(`BackupJob ${name}: namePrefix must be letters, digits, '_', '.', '-', got '${args.namePrefix}'`);
    }
    if (!Number.isInteger(args.keep) || args.keep < 1) {
      throw new InvariantError(`BackupJob ${name}: keep must be a positive integer, got ${args.keep}`);
    }
    if (!Number.isInteger(args.intervalSeconds) || args.intervalSeconds < 1) {
      throw new InvariantError(`BackupJob ${name}: intervalSeconds must be a positive integer, got ${args.intervalSeconds}`);
    }

    const backupScript = fs.readFileSync(path.join(SCRIPTS_DIR, "backup.sh"), "utf8");
    const loopScript = fs.readFileSync(path.join(SCRIPTS_DIR, "backup-loop.sh"), "utf8");
    const restoreScript = fs.readFileSync(path.join(SCRIPTS_DIR, "restore.sh"), "utf8");
    const childOpts = { parent: this, provider: args.provider };

    let volumeName: pulumi.Output<string>;
    if (args.volumeName !== undefined) {
      volumeName = pulumi.output(args.volumeName);
    } else {
      const volume = new docker.Volume(`${name}-backups`, { name: `${args.namePrefix}-backups` }, { ...childOpts, protect: args.protectVolume ?? false });
      volumeName = volume.name;
    }

    const c = args.connection;
    const plainEnv = pulumi
      .all([c.host, c.port, c.user, c.database])
      .apply(([host, port, user, database]) => [
        `PGHOST=${host}`,
        `PGPORT=${port}`,
        `PGUSER=${user}`,
        `PGDATABASE=${database}`,
        `BACKUP_DIR=${BACKUP_MOUNT}`,
        `BACKUP_KEEP=${args.keep}`,
        `BACKUP_PREFIX=${args.namePrefix}`,
        `BACKUP_INTERVAL_SECONDS=${args.intervalSeconds}`,
        `BACKUP_SCRIPT=${BACKUP_SCRIPT_PATH}`,
      ]);
    const passwordEnv = pulumi.secret(pulumi.interpolate`PGPASSWORD=${c.password}`);
    // One secret element makes the whole envs list secret in state: the password never shows.
    const envs = pulumi.all([plainEnv, passwordEnv]).apply(([plain, pw]) => [...plain, pw]);

    // Healthy while a dump younger than two intervals exists; the first one is taken at start.
    const staleMinutes = Math.ceil((2 * args.intervalSeconds) / 60);
    const dumpGlob = `${args.namePrefix}-*.dump`;

    const container = declareWorkload(
      `${name}-backup`,
      {
        name: `${args.namePrefix}-backup`,
        role: "backup",
        image: args.image,
        labels: { ...(args.labels ?? {}), [LABELS.role]: "backup" },
        labelOrder: "given",
        entrypoint: ["/bin/sh"],
        command: [BACKUP_LOOP_PATH],
        env: envs,
        files: [
          { path: BACKUP_SCRIPT_PATH, content: backupScript, executable: true },
          { path: BACKUP_LOOP_PATH, content: loopScript, executable: true },
          { path: RESTORE_SCRIPT_PATH, content: restoreScript, executable: true },
        ],
        volumes: [{ volumeName, path: BACKUP_MOUNT }],
        extraNetworks: [args.networkName],
        mustRun: true,
        healthcheck: {
          test: ["CMD-SHELL", `test -n "$(find ${BACKUP_MOUNT} -maxdepth 1 -name '${dumpGlob}' -mmin -${staleMinutes})"`],
          intervalSeconds: "5m",
          timeoutSeconds: 30,
          startPeriodSeconds: "1h",
          retries: 1,
        },
        // Not waited for: the container is healthy only once its first dump exists.
        waitHealthy: false,
        limits: args.limits,
      },
      // Fixed name: the replacement can only start once the old container is gone (the helper
      // deletes a named container before replacing it). What the job depends on (the database)
      // is up before the first dump, which is taken at start.
      { runtime: "standalone", provider: args.provider, parent: this, dependsOn: opts?.dependsOn },
    );

    this.volumeName = volumeName;
    this.containerName = container.name;
    this.registerOutputs({ volumeName: this.volumeName, containerName: this.containerName });
  }
}
