// The e2e applier's postgresql handlers: Role, Database, Grant and Extension realised as real SQL on a
// real PostgreSQL server with `pg`, the way the provider does it. @pulumi/postgresql bridges
// cyrilgdn/terraform-provider-postgresql; references are to files under postgresql/ of that repository
// ("cy:<file>"). Identifiers are quoted with pg's escapeIdentifier and literals with escapeLiteral
// (the provider uses lib/pq's QuoteIdentifier / its pqQuoteLiteral the same way).
//
// Strict: an input the applier does not realise (a provider input, an objectType, a nested key) fails
// with a message naming it.
import { Client, ClientConfig, escapeIdentifier as ident, escapeLiteral as lit } from "pg";
import { HandlerRegistry, ProviderRef, ResourceHandler } from "./types";

// ---------------------------------------------------------------------------------------------
// Provider → connection (cy:provider.go, cy:config.go)

const PROVIDER_INPUTS = ["host", "port", "username", "password", "sslmode", "superuser", "connectTimeout", "database"];

interface PgTarget {
  config: ClientConfig;
  /** The provider's `username`: the "current user" of the provider's SQL (owner fallback, REASSIGN target). */
  username: string;
  /** "prefer"/"allow": try TLS first, then plain, as libpq does. */
  fallbackToPlain: boolean;
}

/** Provider inputs arrive as strings (provider inputs are serialised as strings); coerce the numeric/boolean ones. */
function num(value: unknown, fallback: number): number {
  if (value === undefined || value === null || value === "") return fallback;
  const n = Number(value);
  if (!Number.isFinite(n)) throw new Error(`not a number: ${JSON.stringify(value)}`);
  return n;
}

/**
 * The connection of a postgresql provider: host, port (default 5432), username (default "postgres"),
 * password, database (default "postgres", what the provider connects to for role and database
 * statements), connectTimeout seconds (default 180), sslmode (disable | allow | prefer | require |
 * verify-full, libpq's meanings: https://www.postgresql.org/docs/current/libpq-ssl.html#LIBPQ-SSL-PROTECTION).
 * `superuser` (default true) only tells the provider not to read role passwords back and the like
 * (cy:provider.go); none of the statements below depends on it, so it is accepted and has no effect.
 * An sslmode that is not set fails: the provider's driver default is not guessed.
 */
export function pgTarget(provider: ProviderRef | undefined, database?: string): PgTarget {
  const inputs = provider?.inputs ?? {};
  const where = `postgresql provider ${provider?.urn ?? "(default)"}`;
  for (const [key, value] of Object.entries(inputs)) {
    if (value !== undefined && value !== null && !PROVIDER_INPUTS.includes(key)) throw new Error(`${where}: the applier does not map the input ${key}`);
  }
  if (!inputs.host) throw new Error(`${where}: host is not set`);
  const sslmode = inputs.sslmode;
  if (!sslmode) throw new Error(`${where}: sslmode is not set (the applier does not guess the driver's default)`);
  let ssl: ClientConfig["ssl"];
  switch (sslmode) {
    case "disable":
      ssl = false;
      break;
    case "allow":
    case "prefer":
    case "require":
      // Encrypted, server certificate not verified (libpq's require without a root certificate).
      ssl = { rejectUnauthorized: false };
      break;
    case "verify-full":
      ssl = { rejectUnauthorized: true, servername: String(inputs.host) };
      break;
    default:
      throw new Error(`${where}: sslmode ${JSON.stringify(sslmode)} is not mapped (disable, allow, prefer, require, verify-full)`);
  }
  const username = String(inputs.username ?? "postgres");
  return {
    username,
    fallbackToPlain: sslmode === "prefer" || sslmode === "allow",
    config: {
      host: String(inputs.host),
      port: num(inputs.port, 5432),
      user: username,
      password: inputs.password === undefined ? undefined : String(inputs.password),
      database: database ?? String(inputs.database ?? "postgres"),
      ssl,
      connectionTimeoutMillis: num(inputs.connectTimeout, 180) * 1000,
    },
  };
}

async function connect(provider: ProviderRef | undefined, database?: string): Promise<{ client: Client; username: string }> {
  const target = pgTarget(provider, database);
  const client = new Client(target.config);
  try {
    await client.connect();
  } catch (err) {
    if (target.fallbackToPlain && /does not support SSL/i.test((err as Error).message)) {
      const plain = new Client({ ...target.config, ssl: false });
      await plain.connect();
      return { client: plain, username: target.username };
    }
    throw err;
  }
  return { client, username: target.username };
}

/** Runs `fn` in one transaction on `database` (the provider's startTransaction), always closing the connection. */
async function inTransaction<T>(provider: ProviderRef | undefined, database: string | undefined, fn: (c: Client, username: string) => Promise<T>): Promise<T> {
  const { client, username } = await connect(provider, database);
  try {
    await client.query("BEGIN");
    const out = await fn(client, username);
    await client.query("COMMIT");
    return out;
  } catch (err) {
    await client.query("ROLLBACK").catch(() => undefined);
    throw err;
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** Outside a transaction (CREATE/DROP DATABASE cannot run in one). */
async function onConnection<T>(provider: ProviderRef | undefined, database: string | undefined, fn: (c: Client, username: string) => Promise<T>): Promise<T> {
  const { client, username } = await connect(provider, database);
  try {
    return await fn(client, username);
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** pgLockRole (cy:helpers.go): advisory locks on the role and its members, against concurrent grants. */
async function lockRole(c: Client, role: string): Promise<void> {
  await c.query("SET statement_timeout = 0");
  await c.query("SELECT pg_advisory_xact_lock(oid::bigint) FROM pg_roles WHERE rolname = $1", [role]);
  await c.query("SELECT pg_advisory_xact_lock(member::bigint) FROM pg_auth_members JOIN pg_roles ON roleid = pg_roles.oid WHERE rolname = $1", [role]);
}

/** pgLockDatabase (cy:helpers.go). */
async function lockDatabase(c: Client, database: string): Promise<void> {
  await c.query("SET statement_timeout = 0");
  await c.query("SELECT pg_advisory_xact_lock(oid::bigint) FROM pg_database WHERE datname = $1", [database]);
}

/**
 * grantRoleMembership (cy:helpers.go): GRANT role TO member unless member is role or already a member;
 * true if it granted (and must revoke afterwards). A non-superuser admin needs the membership to
 * create a database owned by, or reassign objects of, another role.
 */
async function grantMembership(c: Client, role: string, member: string): Promise<boolean> {
  if (role === member) return false;
  const hasSetOption = (await c.query("SELECT 1 FROM information_schema.columns WHERE table_name='pg_auth_members' AND column_name='set_option'")).rowCount! > 0;
  const isMember = await c.query(`SELECT 1 FROM pg_auth_members WHERE pg_get_userbyid(roleid) = $1 AND pg_get_userbyid(member) = $2${hasSetOption ? " AND set_option" : ""}`, [
    role,
    member,
  ]);
  if (isMember.rowCount! > 0) return false;
  await c.query(`GRANT ${ident(role)} TO ${ident(member)}`);
  return true;
}

async function revokeMembership(c: Client, role: string, member: string): Promise<void> {
  await c.query(`REVOKE ${ident(role)} FROM ${ident(member)}`);
}

// ---------------------------------------------------------------------------------------------
// Role (cy:resource_postgresql_role.go)

const roleInputs = [
  "name",
  "login",
  "password",
  "encryptedPassword",
  "connectionLimit",
  "inherit",
  "superuser",
  "createDatabase",
  "createRole",
  "replication",
  "bypassRowLevelSecurity",
  "validUntil",
  "skipDropRole",
  "skipReassignOwned",
] as const;

/**
 * The options of CREATE/ALTER ROLE in the provider's order and with its defaults (cy:
 * resource_postgresql_role.go resourcePostgreSQLRoleCreate): [ENCRYPTED] PASSWORD (encrypted_password
 * default true; "NULL" → PASSWORD NULL), VALID UNTIL (default 'infinity'), CONNECTION LIMIT (default -1),
 * then SUPERUSER, CREATEDB, CREATEROLE, INHERIT (default true), LOGIN (default false), BYPASSRLS,
 * REPLICATION, each as the keyword or its NO form.
 */
export function roleOptions(inputs: Record<string, any>): string[] {
  const opts: string[] = [];
  const password = inputs.password;
  if (password !== undefined && password !== null && password !== "") {
    if (String(password).toUpperCase() === "NULL") opts.push("PASSWORD NULL");
    else opts.push(inputs.encryptedPassword === false ? "UNENCRYPTED" : "ENCRYPTED", `PASSWORD ${lit(String(password))}`);
  }
  const validUntil = inputs.validUntil;
  opts.push(`VALID UNTIL ${!validUntil || String(validUntil).toLowerCase() === "infinity" ? "'infinity'" : lit(String(validUntil))}`);
  opts.push(`CONNECTION LIMIT ${Number(inputs.connectionLimit ?? -1)}`);
  const flag = (value: unknown, dflt: boolean, yes: string) => ((value ?? dflt) ? yes : `NO${yes}`);
  opts.push(
    flag(inputs.superuser, false, "SUPERUSER"),
    flag(inputs.createDatabase, false, "CREATEDB"),
    flag(inputs.createRole, false, "CREATEROLE"),
    flag(inputs.inherit, true, "INHERIT"),
    flag(inputs.login, false, "LOGIN"),
    flag(inputs.bypassRowLevelSecurity, false, "BYPASSRLS"),
    flag(inputs.replication, false, "REPLICATION"),
  );
  return opts;
}

const role: ResourceHandler = {
  mappedInputs: roleInputs,
  // No attribute of postgresql_role is ForceNew: a rename is ALTER ROLE ... RENAME TO.
  replaceKeys: [],
  async create(inputs, ctx) {
    const name = String(inputs.name);
    await inTransaction(ctx.provider, undefined, async (c) => {
      await c.query(`CREATE ROLE ${ident(name)} WITH ${roleOptions(inputs).join(" ")}`);
    }).catch((err) => {
      throw new Error(`${ctx.name} (postgresql Role): error creating role ${name}: ${(err as Error).message}`);
    });
    return { id: name, outputs: { ...inputs, name } };
  },
  async update(id, olds, news, _oldOutputs, ctx) {
    const name = String(news.name);
    await inTransaction(ctx.provider, undefined, async (c) => {
      if (olds.name !== news.name) await c.query(`ALTER ROLE ${ident(id)} RENAME TO ${ident(name)}`);
      await c.query(`ALTER ROLE ${ident(name)} WITH ${roleOptions(news).join(" ")}`);
    }).catch((err) => {
      throw new Error(`${ctx.name} (postgresql Role): error updating role ${name}: ${(err as Error).message}`);
    });
    return { id: name, outputs: { ...news, name } };
  },
  /**
   * resourcePostgreSQLRoleDelete: in one transaction on the provider's database, lock the role; unless
   * skipReassignOwned, with the role temporarily granted to the admin, REASSIGN OWNED BY it TO the
   * admin and DROP OWNED BY it; unless skipDropRole, DROP ROLE. (REASSIGN/DROP OWNED act on the
   * connected database and shared objects only, as in the provider.)
   */
  async delete(id, _outputs, inputs, ctx) {
    await inTransaction(ctx.provider, undefined, async (c, admin) => {
      await lockRole(c, id);
      if (!inputs.skipReassignOwned) {
        const granted = await grantMembership(c, id, admin);
        await c.query(`REASSIGN OWNED BY ${ident(id)} TO ${ident(admin)}`);
        await c.query(`DROP OWNED BY ${ident(id)}`);
        if (granted) await revokeMembership(c, id, admin);
      }
      if (!inputs.skipDropRole) await c.query(`DROP ROLE ${ident(id)}`);
    }).catch((err) => {
      throw new Error(`${ctx.name} (postgresql Role): could not delete role ${id}: ${(err as Error).message}`);
    });
  },
};

// ---------------------------------------------------------------------------------------------
// Database (cy:resource_postgresql_database.go)

const databaseInputs = ["name", "owner", "template", "encoding", "lcCollate", "lcCtype", "tablespaceName", "connectionLimit", "allowConnections", "isTemplate"] as const;

/**
 * CREATE DATABASE as createDatabase builds it: OWNER (default: the provider's user), TEMPLATE
 * (default template0; "DEFAULT" as is), ENCODING (default 'UTF8'), LC_COLLATE / LC_CTYPE / TABLESPACE
 * only when set, ALLOW_CONNECTIONS (default true), CONNECTION LIMIT (default -1), IS_TEMPLATE
 * (default false).
 */
export function createDatabaseSql(inputs: Record<string, any>, currentUser: string): string {
  const parts = [`CREATE DATABASE ${ident(String(inputs.name))}`, `OWNER ${ident(String(inputs.owner || currentUser))}`];
  const kw = (v: unknown) => String(v).toUpperCase() === "DEFAULT";
  parts.push(inputs.template ? (kw(inputs.template) ? "TEMPLATE DEFAULT" : `TEMPLATE ${ident(String(inputs.template))}`) : "TEMPLATE template0");
  parts.push(inputs.encoding ? (kw(inputs.encoding) ? "ENCODING DEFAULT" : `ENCODING ${lit(String(inputs.encoding))}`) : "ENCODING 'UTF8'");
  if (inputs.lcCollate) parts.push(kw(inputs.lcCollate) ? "LC_COLLATE DEFAULT" : `LC_COLLATE ${lit(String(inputs.lcCollate))}`);
  if (inputs.lcCtype) parts.push(kw(inputs.lcCtype) ? "LC_CTYPE DEFAULT" : `LC_CTYPE ${lit(String(inputs.lcCtype))}`);
  if (inputs.tablespaceName) parts.push(kw(inputs.tablespaceName) ? "TABLESPACE DEFAULT" : `TABLESPACE ${ident(String(inputs.tablespaceName))}`);
  parts.push(`ALLOW_CONNECTIONS ${inputs.allowConnections ?? true}`);
  parts.push(`CONNECTION LIMIT ${Number(inputs.connectionLimit ?? -1)}`);
  parts.push(`IS_TEMPLATE ${inputs.isTemplate ?? false}`);
  return parts.join(" ");
}

const database: ResourceHandler = {
  mappedInputs: databaseInputs,
  // template, encoding, lc_collate, lc_ctype are ForceNew; the rest is altered in place.
  replaceKeys: ["template", "encoding", "lcCollate", "lcCtype"],
  async create(inputs, ctx) {
    const name = String(inputs.name);
    await onConnection(ctx.provider, undefined, async (c, admin) => {
      // The admin must be a member of the owner role to create a database owned by it (not a superuser).
      const granted = inputs.owner ? await grantMembership(c, String(inputs.owner), admin) : false;
      try {
        await c.query(createDatabaseSql(inputs, admin));
      } finally {
        if (granted) await revokeMembership(c, String(inputs.owner), admin);
      }
    }).catch((err) => {
      throw new Error(`${ctx.name} (postgresql Database): error creating database ${JSON.stringify(name)}: ${(err as Error).message}`);
    });
    return {
      id: name,
      outputs: { ...inputs, name, owner: inputs.owner || pgTarget(ctx.provider).username, template: inputs.template ?? "template0", encoding: inputs.encoding ?? "UTF8" },
    };
  },
  /** Rename, owner, connection limit, allow connections, is_template in place (resourcePostgreSQLDatabaseUpdate). */
  async update(id, olds, news, oldOutputs, ctx) {
    const name = String(news.name);
    await onConnection(ctx.provider, undefined, async (c, admin) => {
      if (olds.name !== news.name) await c.query(`ALTER DATABASE ${ident(id)} RENAME TO ${ident(name)}`);
      if (olds.owner !== news.owner && news.owner) {
        const granted = await grantMembership(c, String(news.owner), admin);
        try {
          await c.query(`ALTER DATABASE ${ident(name)} OWNER TO ${ident(String(news.owner))}`);
        } finally {
          if (granted) await revokeMembership(c, String(news.owner), admin);
        }
      }
      if (olds.connectionLimit !== news.connectionLimit) await c.query(`ALTER DATABASE ${ident(name)} CONNECTION LIMIT ${Number(news.connectionLimit ?? -1)}`);
      if (olds.allowConnections !== news.allowConnections) await c.query(`ALTER DATABASE ${ident(name)} ALLOW_CONNECTIONS ${news.allowConnections ?? true}`);
      if (olds.isTemplate !== news.isTemplate) await c.query(`ALTER DATABASE ${ident(name)} IS_TEMPLATE ${news.isTemplate ?? false}`);
      if (olds.tablespaceName !== news.tablespaceName) await c.query(`ALTER DATABASE ${ident(name)} SET TABLESPACE ${ident(String(news.tablespaceName || "pg_default"))}`);
    }).catch((err) => {
      throw new Error(`${ctx.name} (postgresql Database): error updating database ${name}: ${(err as Error).message}`);
    });
    return { id: name, outputs: { ...oldOutputs, ...news, name, owner: news.owner || oldOutputs.owner } };
  },
  /**
   * resourcePostgreSQLDatabaseDelete: with owner membership granted to the admin if needed; a template
   * database is made a normal one first; then connections are blocked (ALTER DATABASE ...
   * ALLOW_CONNECTIONS false) and terminated (pg_terminate_backend), and DROP DATABASE ... WITH (FORCE)
   * (PostgreSQL 13+; plain DROP before).
   */
  async delete(id, _outputs, inputs, ctx) {
    await onConnection(ctx.provider, undefined, async (c, admin) => {
      const owner = inputs.owner ? String(inputs.owner) : undefined;
      const granted = owner ? await grantMembership(c, owner, admin) : false;
      try {
        if (inputs.isTemplate) await c.query(`ALTER DATABASE ${ident(id)} IS_TEMPLATE false`);
        await c.query(`ALTER DATABASE ${ident(id)} ALLOW_CONNECTIONS false`);
        await c.query("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()", [id]);
        const v = Number((await c.query("SHOW server_version_num")).rows[0].server_version_num);
        await c.query(`DROP DATABASE ${ident(id)}${v >= 130000 ? " WITH (FORCE)" : ""}`);
      } finally {
        if (granted) await revokeMembership(c, owner!, admin).catch(() => undefined);
      }
    }).catch((err) => {
      throw new Error(`${ctx.name} (postgresql Database): error dropping database ${id}: ${(err as Error).message}`);
    });
  },
};

// ---------------------------------------------------------------------------------------------
// Grant (cy:resource_postgresql_grant.go)

const grantInputs = ["database", "role", "objectType", "privileges", "schema", "withGrantOption"] as const;

/** The object of a grant: only the object types the applier realises (database, schema); others fail. */
function grantTarget(inputs: Record<string, any>, where: string): string {
  switch (inputs.objectType) {
    case "database":
      return `DATABASE ${ident(String(inputs.database))}`;
    case "schema":
      if (!inputs.schema) throw new Error(`${where}: parameter 'schema' is mandatory for object type schema`);
      return `SCHEMA ${ident(String(inputs.schema))}`;
    default:
      throw new Error(`${where}: objectType ${JSON.stringify(inputs.objectType)} is not mapped by the applier (database, schema)`);
  }
}

/**
 * Runs a GRANT/REVOKE and fails if PostgreSQL only warned instead of doing it: a user without grant
 * options on the object (not its owner, not a superuser) gets WARNING 01007 "no privileges were
 * granted" / 01006 "no privileges could be revoked" and the statement succeeds having changed nothing
 * (https://www.postgresql.org/docs/current/sql-grant.html, "Notes"; codes in
 * https://www.postgresql.org/docs/current/errcodes-appendix.html). The provider does not look at
 * warnings, so under it such a grant silently does not exist; the applier refuses it loudly.
 */
async function refusedLoudly(c: Client, admin: string, statement: () => Promise<unknown>): Promise<void> {
  const warnings: string[] = [];
  const onNotice = (n: { code?: string; message?: string }) => {
    if (n.code === "01007" || n.code === "01006") warnings.push(String(n.message));
  };
  c.on("notice", onNotice);
  try {
    await statement();
  } finally {
    c.off("notice", onNotice);
  }
  if (warnings.length > 0) {
    throw new Error(
      `PostgreSQL changed nothing (${warnings.join("; ")}): ${admin} has no grant option on the object (it is not its owner, a member of the owner or a superuser). The real provider ignores this warning and reports success`,
    );
  }
}

/** https://www.postgresql.org/docs/current/ddl-priv.html */
const PRIVILEGES = ["SELECT", "INSERT", "UPDATE", "DELETE", "TRUNCATE", "REFERENCES", "TRIGGER", "CREATE", "CONNECT", "TEMPORARY", "TEMP", "EXECUTE", "USAGE", "ALL"];

/** generateGrantID: role_database[_schema]_objectType. */
function grantId(inputs: Record<string, any>): string {
  const parts = [inputs.role, inputs.database];
  if (inputs.objectType !== "database") parts.push(inputs.schema);
  parts.push(inputs.objectType);
  return parts.join("_");
}

/**
 * resourcePostgreSQLGrantCreateOrUpdate: on the grant's database, in one transaction: lock the role
 * (and the database for objectType database); REVOKE ALL PRIVILEGES ON ... FROM role (the old
 * object on update); then, if privileges is not empty, GRANT them [WITH GRANT OPTION]. An empty
 * privileges list therefore only revokes. `role` "public" quoted is PUBLIC to PostgreSQL.
 */
async function applyGrant(olds: Record<string, any> | undefined, news: Record<string, any>, ctx: { provider?: ProviderRef; name: string }): Promise<void> {
  const where = `${ctx.name} (postgresql Grant)`;
  const target = grantTarget(news, where);
  const privileges: string[] = (news.privileges ?? []).map((p: string) => String(p).toUpperCase());
  // Keywords go into the statement as is: only PostgreSQL's privilege names pass.
  const bad = privileges.filter((p) => !PRIVILEGES.includes(p));
  if (bad.length) throw new Error(`${where}: unknown privileges ${bad.join(", ")} (${PRIVILEGES.join(", ")})`);
  await inTransaction(ctx.provider, String(news.database), async (c, admin) => {
    await lockRole(c, String(news.role));
    if (news.objectType === "database") await lockDatabase(c, String(news.database));
    const revokeFrom = olds ?? news;
    await refusedLoudly(c, admin, () => c.query(`REVOKE ALL PRIVILEGES ON ${grantTarget(revokeFrom, where)} FROM ${ident(String(revokeFrom.role))}`));
    if (privileges.length > 0) {
      await refusedLoudly(c, admin, () => c.query(`GRANT ${privileges.join(",")} ON ${target} TO ${ident(String(news.role))}${news.withGrantOption ? " WITH GRANT OPTION" : ""}`));
    }
  }).catch((err) => {
    throw new Error(`${where}: ${(err as Error).message}`);
  });
}

const grant: ResourceHandler = {
  mappedInputs: grantInputs,
  // database, role, schema, object_type are ForceNew; privileges and with_grant_option update in place.
  replaceKeys: ["database", "role", "schema", "objectType"],
  async create(inputs, ctx) {
    await applyGrant(undefined, inputs, ctx);
    return { id: grantId(inputs), outputs: { ...inputs } };
  },
  async update(_id, olds, news, _oldOutputs, ctx) {
    await applyGrant(olds, news, ctx);
    return { id: grantId(news), outputs: { ...news } };
  },
  /** resourcePostgreSQLGrantDelete: the revoke only. */
  async delete(_id, _outputs, inputs, ctx) {
    const where = `${ctx.name} (postgresql Grant)`;
    await inTransaction(ctx.provider, String(inputs.database), async (c, admin) => {
      await lockRole(c, String(inputs.role));
      if (inputs.objectType === "database") await lockDatabase(c, String(inputs.database));
      await refusedLoudly(c, admin, () => c.query(`REVOKE ALL PRIVILEGES ON ${grantTarget(inputs, where)} FROM ${ident(String(inputs.role))}`));
    }).catch((err) => {
      throw new Error(`${where}: ${(err as Error).message}`);
    });
  },
};

// ---------------------------------------------------------------------------------------------
// Extension (cy:resource_postgresql_extension.go)

const extension: ResourceHandler = {
  mappedInputs: ["name", "database", "schema", "version", "createCascade", "dropCascade"],
  replaceKeys: ["name", "database"],
  /**
   * In a transaction on `database` (default: the provider's): CREATE EXTENSION IF NOT EXISTS name
   * [SCHEMA s] [VERSION v] [CASCADE]; id "<database>.<name>".
   */
  async create(inputs, ctx) {
    const db = String(inputs.database ?? pgTarget(ctx.provider).config.database);
    let sql = `CREATE EXTENSION IF NOT EXISTS ${ident(String(inputs.name))}`;
    if (inputs.schema) sql += ` SCHEMA ${ident(String(inputs.schema))}`;
    if (inputs.version) sql += ` VERSION ${ident(String(inputs.version))}`;
    if (inputs.createCascade) sql += " CASCADE";
    await inTransaction(ctx.provider, db, (c) => c.query(sql)).catch((err) => {
      throw new Error(`${ctx.name} (postgresql Extension): creating ${inputs.name} in ${db}: ${(err as Error).message}`);
    });
    const row = await onConnection(ctx.provider, db, (c) =>
      c.query("SELECT e.extversion, n.nspname FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace WHERE e.extname = $1", [inputs.name]),
    );
    return { id: `${db}.${inputs.name}`, outputs: { ...inputs, database: db, version: row.rows[0]?.extversion, schema: row.rows[0]?.nspname } };
  },
  /** ALTER EXTENSION ... SET SCHEMA / UPDATE TO for a changed schema or version. */
  async update(id, olds, news, oldOutputs, ctx) {
    const db = String(oldOutputs.database);
    await inTransaction(ctx.provider, db, async (c) => {
      if (news.schema && olds.schema !== news.schema) await c.query(`ALTER EXTENSION ${ident(String(news.name))} SET SCHEMA ${ident(String(news.schema))}`);
      if (news.version && olds.version !== news.version) await c.query(`ALTER EXTENSION ${ident(String(news.name))} UPDATE TO ${ident(String(news.version))}`);
    });
    return { id, outputs: { ...oldOutputs, ...news, database: db } };
  },
  /** DROP EXTENSION name RESTRICT (CASCADE with dropCascade), on its database. */
  async delete(_id, outputs, inputs, ctx) {
    const db = String(outputs.database ?? inputs.database ?? pgTarget(ctx.provider).config.database);
    await inTransaction(ctx.provider, db, (c) => c.query(`DROP EXTENSION ${ident(String(inputs.name))} ${inputs.dropCascade ? "CASCADE" : "RESTRICT"}`)).catch((err) => {
      throw new Error(`${ctx.name} (postgresql Extension): dropping ${inputs.name} in ${db}: ${(err as Error).message}`);
    });
  },
};

/** The input checks of `create` that need no server (grant object types and privilege names). */
export function checkPostgresqlInputs(type: string, inputs: Record<string, any>, where: string): void {
  if (type !== "postgresql:index/grant:Grant") return;
  grantTarget(inputs, where);
  const bad = (inputs.privileges ?? []).map((p: string) => String(p).toUpperCase()).filter((p: string) => !PRIVILEGES.includes(p));
  if (bad.length) throw new Error(`${where}: unknown privileges ${bad.join(", ")}`);
}

/** Handlers by type token, for the core's registry. */
export const postgresqlHandlers: HandlerRegistry = {
  "postgresql:index/role:Role": role,
  "postgresql:index/database:Database": database,
  "postgresql:index/grant:Grant": grant,
  "postgresql:index/extension:Extension": extension,
};
