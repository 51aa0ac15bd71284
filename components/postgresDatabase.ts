// One environment's PostgreSQL database: a login role + database `<app>_<env>` on an existing
// server (shared mode, postgresql provider) or a Postgres container of the environment's own
// (dedicated mode). Either way the outputs are the same, so callers don't care which.
import * as docker from "@pulumi/docker";
import * as postgresql from "@pulumi/postgresql";
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import { checkExtensionName, renderExtensionsInitScript } from "./render/pgInit";
import { InvariantError } from "./render/invariant";
import { LABELS } from "../model/labels";
import { declareWorkload } from "./workload";
import { POSTGRES_PORT } from "../model/ports";

/**
 * Arguments of {@link PostgresDatabase}: the database/role name, the mode with its matching block, and
 * prod protection.
 */
export interface PostgresDatabaseArgs {
  /** Physical name of the database and its login role: `<app>_<env>` e.g. gigi_dev, gigi_preview_feature_x. Caller computes it. */
  databaseName: string;
  /**
   * "shared": create the database and role on an existing server (needs `shared`); "dedicated": run a
   * PostgreSQL container of the env's own (needs `dedicated`).
   */
  mode: "shared" | "dedicated";
  /** Prod: protect + retainOnDelete on the database, role (and in dedicated mode the data volume). */
  protect: boolean;
  /**
   * Shared mode: created by the admin user, so they must be trusted extensions (or the admin
   * a superuser). Dedicated mode: the image must ship them; they are created on first start only.
   */
  extensions?: string[];
  /** -1 = none. Shared mode only (the dedicated role is its server's superuser, which Postgres exempts). */
  connectionLimit?: number;
  /** Clone from (previews clone the dev DB). Shared mode only. */
  template?: pulumi.Input<string>;
  /**
   * Shared mode: the server's address and TCP port, its admin login (password kept a Pulumi secret),
   * the `sslmode` of the connections (libpq sslmode,
   * https://www.postgresql.org/docs/current/libpq-ssl.html), and where app containers reach it.
   */
  shared?: {
    host: pulumi.Input<string>;
    port: pulumi.Input<number>;
    adminUser: pulumi.Input<string>;
    /** Wrapped in pulumi.secret() here in any case. */
    adminPassword: pulumi.Input<string>;
    sslmode: pulumi.Input<string>;
    /** How app containers reach the server (may differ from host, e.g. a container name on a docker network). */
    appHost?: pulumi.Input<string>;
    appPort?: pulumi.Input<number>;
  };
  /**
   * Dedicated mode: the Docker host and env network of the `<namePrefix>-postgres` container, its
   * image (official postgres, https://hub.docker.com/_/postgres), an optional loopback host port, limits
   * (`cpus` in CPUs, `memoryMb` in MiB) and labels.
   */
  dedicated?: {
    dockerProvider: pulumi.ProviderResource;
    networkName: pulumi.Input<string>;
    /** e.g. postgres:16-alpine */
    image: pulumi.Input<string>;
    /** Container/volume name prefix carrying the env token, e.g. "gigi-dev" -> gigi-dev-postgres, gigi-dev-pgdata */
    namePrefix: string;
    /** Publish on 127.0.0.1:<port> of the docker host (admin access, e.g. for previews and backups). */
    publishPort?: number;
    limits?: { cpus: number; memoryMb: number };
    /** Labels shared by the env's workloads (env, stack, host); the role label is added here. */
    labels?: Record<string, string>;
  };
}

/**
 * The admin login to the env's server (host, TCP port, user, password, libpq `sslmode`), for
 * previews and backups; always handed out inside a Pulumi secret Output.
 */
export interface PostgresAdminAccess {
  host: string;
  port: number;
  user: string;
  password: string;
  sslmode: string;
}

const DATABASE_NAME_RE = /^[a-z][a-z0-9_]{0,62}$/;
const NAME_PREFIX_RE = /^[a-z0-9][a-z0-9_.-]*$/;
/** Network alias of the dedicated server: what app containers connect to. */
export const DEDICATED_APP_HOST = "postgres";
const DEDICATED_PORT = POSTGRES_PORT;
/**
 * The volume is mounted at .../data and PGDATA is a subdirectory of it: the mount then holds
 * the data on every image major (postgres 18 moved the default PGDATA and refuses a
 * .../data mount unless PGDATA points into it; ≤17 declare VOLUME at .../data).
 */
export const PG_DATA_MOUNT = "/var/lib/postgresql/data";
/**
 * PGDATA of the dedicated container: a subdirectory of the volume mount {@link PG_DATA_MOUNT}
 * (https://github.com/docker-library/postgres, docker-entrypoint.sh honours PGDATA).
 */
export const PG_DATA_DIR = `${PG_DATA_MOUNT}/pgdata`;
/**
 * The script that creates `extensions` in a dedicated server: run once, on first start, by the official
 * image's entrypoint from /docker-entrypoint-initdb.d (https://hub.docker.com/_/postgres, "Initialization scripts").
 */
export const EXTENSIONS_INIT_PATH = "/docker-entrypoint-initdb.d/10-twinstack-extensions.sh";

function connectionUrl(user: string, password: string, host: string, port: number, database: string, sslmode: string): string {
  const h = host.includes(":") && !host.startsWith("[") ? `[${host}]` : host;
  return `postgres://${encodeURIComponent(user)}:${encodeURIComponent(password)}@${h}:${port}/` + `${encodeURIComponent(database)}?sslmode=${encodeURIComponent(sslmode)}`;
}

function adminAccess(
  host: pulumi.Input<string>,
  port: pulumi.Input<number>,
  user: pulumi.Input<string>,
  password: pulumi.Input<string>,
  sslmode: pulumi.Input<string>,
): pulumi.Output<PostgresAdminAccess> {
  return pulumi.secret(pulumi.all([host, port, user, password, sslmode]).apply(([h, p, u, pw, m]) => ({ host: h, port: p, user: u, password: pw, sslmode: m })));
}

/** The type token this component had before it was renamed; its `aliases` keep existing stacks' URNs. */
export const POSTGRES_DATABASE_OLD_TYPE = "twinstack:index:SharedPostgresDb";

/**
 * One env's PostgreSQL database and its owner role: on an existing server through its admin login
 * (`mode: "shared"`), or in a dedicated container of the env's own (`mode: "dedicated"`), which is
 * why it is no longer called SharedPostgresDb. Type token `twinstack:index:PostgresDatabase`,
 * aliased to the old `twinstack:index:SharedPostgresDb`
 * (https://www.pulumi.com/docs/iac/concepts/options/aliases/): a stack declared with the old name
 * keeps the component's URN and, through the parent alias, its children's (named `${name}-...`),
 * so nothing is replaced.
 * @throws InvariantError on a bad database name or namePrefix, an extension listed twice, a
 * connectionLimit below -1, or a mode without its block (or with the other mode's).
 *
 * @example
 * const db = new PostgresDatabase("prod-db", { databaseName: "myapp_prod", mode: "dedicated", protect: true, extensions: [], connectionLimit: -1, dedicated: { ... } }, { parent: this });
 * // db.connectionString (secret): postgres://role:pw@appHost:appPort/db?sslmode=...
 */
export class PostgresDatabase extends pulumi.ComponentResource {
  public readonly databaseName: pulumi.Output<string>;
  public readonly roleName: pulumi.Output<string>;
  /** Secret. */
  public readonly password: pulumi.Output<string>;
  /** Secret: postgres://role:pw@appHost:appPort/db?sslmode=... */
  public readonly connectionString: pulumi.Output<string>;
  public readonly appHost: pulumi.Output<string>;
  public readonly appPort: pulumi.Output<number>;
  /** For the dev stack's preview handoff: how an admin reaches the server. Secret (holds the password). */
  public readonly admin: pulumi.Output<PostgresAdminAccess>;

  constructor(name: string, args: PostgresDatabaseArgs, opts?: pulumi.ComponentResourceOptions) {
    super("twinstack:index:PostgresDatabase", name, {}, pulumi.mergeOptions(opts, { aliases: [{ type: POSTGRES_DATABASE_OLD_TYPE }] }));

    const dbName = args.databaseName;
    if (typeof dbName !== "string" || !DATABASE_NAME_RE.test(dbName)) {
      throw new InvariantError(
        `PostgresDatabase ${name}: databaseName ${JSON.stringify(dbName)} must match ${DATABASE_NAME_RE} ` +
          `(<app>_<env>: lowercase letter first, then lowercase letters, digits, '_'; at most 63)`,
      );
    }
    const extensions = (args.extensions ?? []).map((e) => {
      try {
        return checkExtensionName(e);
      } catch (err) {
        throw new InvariantError(`PostgresDatabase ${name}: ${(err as Error).message}`);
      }
    });
    const dup = extensions.find((e, i) => extensions.indexOf(e) !== i);
    if (dup !== undefined) throw new InvariantError(`PostgresDatabase ${name}: extension ${JSON.stringify(dup)} is listed twice`);
    const limit = args.connectionLimit;
    if (limit !== undefined && (!Number.isInteger(limit) || limit < -1)) {
      throw new InvariantError(`PostgresDatabase ${name}: connectionLimit must be an integer >= -1 (-1 = none), got ${limit}`);
    }

    // Alphanumeric only: nothing to escape in URLs, env files or shell; 40 chars is ~238 bits.
    const generated = new random.RandomPassword(`${name}-password`, { length: 40, special: false }, { parent: this });
    const password = pulumi.secret(generated.result);
    // Prod data must survive both an accidental delete and a stack being removed from state.
    const keep = args.protect ? { protect: true, retainOnDelete: true } : {};

    let roleName: pulumi.Output<string>;
    let databaseName: pulumi.Output<string>;
    let appHost: pulumi.Output<string>;
    let appPort: pulumi.Output<number>;
    let sslmode: pulumi.Output<string>;
    let admin: pulumi.Output<PostgresAdminAccess>;
    /** Resolves once the database is usable: consumers of the URL wait for it. */
    let ready: pulumi.Output<unknown>;

    if (args.mode === "shared") {
      const s = args.shared;
      if (!s) throw new InvariantError(`PostgresDatabase ${name}: mode "shared" needs args.shared`);
      if (args.dedicated) throw new InvariantError(`PostgresDatabase ${name}: mode "shared" takes no args.dedicated`);
      const adminPassword = pulumi.secret(s.adminPassword);

      const provider = new postgresql.Provider(
        `${name}-pg`,
        {
          host: s.host,
          port: s.port,
          username: s.adminUser,
          password: adminPassword,
          sslmode: s.sslmode,
          // Managed servers (DO, RDS-like) give no superuser; the provider then takes the
          // owner-role-membership route to create databases owned by another role.
          superuser: false,
          connectTimeout: 15,
        },
        { parent: this },
      );
      const child = { parent: this, provider };

      const role = new postgresql.Role(`${name}-role`, { name: dbName, login: true, password, connectionLimit: limit ?? -1 }, { ...child, ...keep });
      const database = new postgresql.Database(`${name}-db`, { name: dbName, owner: role.name, template: args.template, connectionLimit: limit ?? -1 }, { ...child, ...keep });
      // Every role may CONNECT to a new database by default: envs must not see each other's.
      const revokePublic = new postgresql.Grant(`${name}-revoke-public`, { database: database.name, role: "public", objectType: "database", privileges: [] }, child);
      // Sequenced after the revoke: concurrent GRANTs on one database can fail with
      // "tuple concurrently updated".
      const roleGrant = new postgresql.Grant(
        `${name}-role-grant`,
        { database: database.name, role: role.name, objectType: "database", privileges: ["CONNECT", "CREATE", "TEMPORARY"] },
        { ...child, dependsOn: [revokePublic] },
      );
      const extensionDeps: pulumi.Resource[] = [roleGrant];
      if (extensions.length > 0) {
        // The admin creates the extensions inside the database, which PUBLIC may no longer
        // enter; CREATE is what lets a non-superuser create trusted extensions.
        extensionDeps.push(
          new postgresql.Grant(
            `${name}-admin-grant`,
            { database: database.name, role: s.adminUser, objectType: "database", privileges: ["CONNECT", "CREATE"] },
            { ...child, dependsOn: [roleGrant] },
          ),
        );
      }
      const created = extensions.map((ext) => new postgresql.Extension(`${name}-ext-${ext}`, { name: ext, database: database.name }, { ...child, dependsOn: extensionDeps }));

      roleName = role.name;
      databaseName = database.name;
      appHost = pulumi.output(s.appHost ?? s.host);
      appPort = pulumi.output(s.appPort ?? s.port);
      sslmode = pulumi.output(s.sslmode);
      admin = adminAccess(s.host, s.port, s.adminUser, adminPassword, s.sslmode);
      ready = pulumi.all([roleGrant.id, ...created.map((e) => e.id)]);
    } else if (args.mode === "dedicated") {
      const d = args.dedicated;
      if (!d) throw new InvariantError(`PostgresDatabase ${name}: mode "dedicated" needs args.dedicated`);
      if (args.shared) throw new InvariantError(`PostgresDatabase ${name}: mode "dedicated" takes no args.shared`);
      if (!NAME_PREFIX_RE.test(d.namePrefix)) {
        throw new InvariantError(`PostgresDatabase ${name}: namePrefix must be lowercase letters, digits, '_', '.', '-', got ${JSON.stringify(d.namePrefix)}`);
      }
      if (args.template !== undefined) {
        throw new InvariantError(`PostgresDatabase ${name}: template needs mode "shared" (a dedicated server starts empty)`);
      }
      if (limit !== undefined && limit !== -1) {
        throw new InvariantError(
          `PostgresDatabase ${name}: connectionLimit needs mode "shared" (the dedicated role is the ` + `container's superuser, which Postgres exempts from connection limits)`,
        );
      }
      const publishPort = d.publishPort;
      if (publishPort !== undefined && (!Number.isInteger(publishPort) || publishPort < 1 || publishPort > 65535)) {
        throw new InvariantError(`PostgresDatabase ${name}: publishPort must be 1..65535, got ${publishPort}`);
      }
      if (d.limits && !(d.limits.cpus > 0 && Number.isInteger(d.limits.memoryMb) && d.limits.memoryMb > 0)) {
        throw new InvariantError(`PostgresDatabase ${name}: limits need cpus > 0 and a positive integer memoryMb`);
      }
      const child = { parent: this, provider: d.dockerProvider };

      const volume = new docker.Volume(`${name}-pgdata`, { name: `${d.namePrefix}-pgdata` }, { ...child, ...keep });
      // keepLocally: other containers (the backup job) use the same image.
      const image = new docker.RemoteImage(`${name}-image`, { name: d.image, keepLocally: true }, child);

      const container = declareWorkload(
        `${name}-postgres`,
        {
          name: `${d.namePrefix}-postgres`,
          role: "postgres",
          image: image.imageId,
          labels: { ...(d.labels ?? {}), [LABELS.role]: "postgres" },
          labelOrder: "given",
          env: [
            `POSTGRES_USER=${dbName}`,
            `POSTGRES_DB=${dbName}`,
            `PGDATA=${PG_DATA_DIR}`,
            // Only this element is secret, so the rest stays readable in diffs.
            pulumi.secret(pulumi.interpolate`POSTGRES_PASSWORD=${password}`),
          ],
          volumes: [{ volumeName: volume.name, path: PG_DATA_MOUNT }],
          network: { name: d.networkName, aliases: [DEDICATED_APP_HOST] },
          ...(publishPort !== undefined ? { ports: [{ internal: DEDICATED_PORT, external: publishPort, ip: "127.0.0.1" }] } : {}),
          portDefaults: "provider",
          ...(extensions.length > 0 ? { files: [{ path: EXTENSIONS_INIT_PATH, content: renderExtensionsInitScript(extensions), executable: true }] } : {}),
          healthcheck: {
            // Over TCP: while init scripts run the entrypoint's temporary server listens on
            // the socket only, so a socket check would report ready too early.
            test: ["CMD", "pg_isready", "-h", "127.0.0.1", "-U", dbName, "-d", dbName],
            startPeriodSeconds: 60,
          },
          // Dependents (the app) are created only once the server accepts connections (the
          // helper waits for a standalone health check).
          // Give Postgres time for a clean shutdown instead of crash recovery on next start.
          stopGraceSeconds: 60,
          limits: d.limits,
        },
        // Fixed name, and never two servers on one data volume: the helper deletes a named
        // container before creating its replacement.
        { runtime: "standalone", provider: d.dockerProvider, parent: this },
      );

      roleName = pulumi.output(dbName);
      databaseName = pulumi.output(dbName);
      appHost = pulumi.output(DEDICATED_APP_HOST);
      appPort = pulumi.output(DEDICATED_PORT);
      // The stock image serves no TLS; traffic stays on the docker network or loopback.
      sslmode = pulumi.output("disable");
      admin = adminAccess(publishPort !== undefined ? "127.0.0.1" : container.name, publishPort ?? DEDICATED_PORT, dbName, password, "disable");
      ready = container.name;
    } else {
      throw new InvariantError(`PostgresDatabase ${name}: mode must be "shared" or "dedicated", got ${JSON.stringify((args as { mode: unknown }).mode)}`);
    }

    this.databaseName = databaseName;
    this.roleName = roleName;
    this.password = password;
    this.appHost = appHost;
    this.appPort = appPort;
    this.admin = admin;
    this.connectionString = pulumi.secret(
      pulumi.all([roleName, password, appHost, appPort, databaseName, sslmode, ready]).apply(([user, pw, host, port, db, mode]) => connectionUrl(user, pw, host, port, db, mode)),
    );

    this.registerOutputs({
      databaseName: this.databaseName,
      roleName: this.roleName,
      password: this.password,
      connectionString: this.connectionString,
      appHost: this.appHost,
      appPort: this.appPort,
      admin: this.admin,
    });
  }
}
