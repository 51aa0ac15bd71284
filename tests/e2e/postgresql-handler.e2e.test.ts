// The postgresql handlers of the e2e applier against a real, throwaway PostgreSQL server
// (tests/support/pgServer.ts), driven the way PostgresDatabase declares them (provider with
// superuser: false, a role and its database, PUBLIC's CONNECT revoked, the role's grant, the admin's
// grant and an extension; then deleted in reverse order), each effect read back from the catalogs or
// by connecting. Twice: with a superuser admin (what a preview gets: the dedicated dev server's
// POSTGRES_USER is its superuser) and with a CREATEDB/CREATEROLE admin that is not one (a managed
// server), where PostgreSQL ignores the grants the provider issues.
import { Client } from "pg";
import { startPgServer, PgServer } from "../support/pgServer";
import { createDatabaseSql, pgTarget, postgresqlHandlers as h, roleOptions } from "./apply/postgresql";
import { ApplyContext, ProviderRef } from "./apply/types";

let pg: PgServer;
let provider: ProviderRef;
let managed: ProviderRef;
const ADMIN = "dbadmin";
const ADMIN_PW = "admin-pw-1";
const ROLE = "myapp_dev";
const ROLE_PW = "Role'pw\\with quote";
const DB = "myapp_dev";

const ctx = (name: string): ApplyContext => ({ provider, urn: `urn:pulumi:dev::twinstack::${name}`, name, stack: "dev", log: () => undefined });

async function asSuper<T>(db: string, fn: (c: Client) => Promise<T>): Promise<T> {
  const c = new Client({ connectionString: pg.url(db) });
  await c.connect();
  try {
    return await fn(c);
  } finally {
    await c.end();
  }
}

async function connectAs(user: string, password: string, db: string): Promise<Client> {
  const c = new Client({ host: pg.host, port: pg.port, user, password, database: db, ssl: false });
  await c.connect();
  return c;
}

beforeAll(async () => {
  pg = await startPgServer();
  await asSuper("postgres", (c) => c.query(`CREATE ROLE ${ADMIN} LOGIN CREATEDB CREATEROLE PASSWORD '${ADMIN_PW}'`));
  // As the program declares it (PostgresDatabase shared mode); provider inputs arrive as strings.
  const declared = (username: string, password: string): ProviderRef => ({
    urn: "urn:pulumi:dev::twinstack::pulumi:providers:postgresql::myapp-dev-db-pg",
    type: "pulumi:providers:postgresql",
    inputs: { host: pg.host, port: String(pg.port), username, password, sslmode: "prefer", superuser: "false", connectTimeout: "15" },
  });
  provider = declared(pg.user, pg.password);
  managed = declared(ADMIN, ADMIN_PW);
}, 120_000);

afterAll(async () => {
  await pg?.stop();
});

describe("pure mappings", () => {
  test("role options follow the provider's order and defaults", () => {
    expect(roleOptions({ name: "r", login: true, password: "p'w", connectionLimit: 5 })).toEqual([
      "ENCRYPTED",
      "PASSWORD 'p''w'",
      "VALID UNTIL 'infinity'",
      "CONNECTION LIMIT 5",
      "NOSUPERUSER",
      "NOCREATEDB",
      "NOCREATEROLE",
      "INHERIT",
      "LOGIN",
      "NOBYPASSRLS",
      "NOREPLICATION",
    ]);
  });
  test("CREATE DATABASE defaults: template0, UTF8, owner the admin when unset", () => {
    expect(createDatabaseSql({ name: "a b" }, "adm")).toBe(
      'CREATE DATABASE "a b" OWNER "adm" TEMPLATE template0 ENCODING \'UTF8\' ALLOW_CONNECTIONS true CONNECTION LIMIT -1 IS_TEMPLATE false',
    );
    expect(createDatabaseSql({ name: "x", owner: "o", template: "myapp_dev", connectionLimit: 3 }, "adm")).toContain('OWNER "o" TEMPLATE "myapp_dev"');
  });
  test("provider inputs: unknown ones and a missing sslmode fail", () => {
    expect(() => pgTarget({ urn: "p", type: "pulumi:providers:postgresql", inputs: { host: "h", sslmode: "disable", awsRdsIamAuth: "true" } })).toThrow(/awsRdsIamAuth/);
    expect(() => pgTarget({ urn: "p", type: "pulumi:providers:postgresql", inputs: { host: "h" } })).toThrow(/sslmode is not set/);
    expect(pgTarget({ urn: "p", type: "pulumi:providers:postgresql", inputs: { host: "h", sslmode: "require", port: "6543" } }).config).toMatchObject({
      port: 6543,
      database: "postgres",
      ssl: { rejectUnauthorized: false },
    });
  });
});

describe("PostgresDatabase's resources, for real", () => {
  const made: Record<string, { id: string; outputs: Record<string, any>; inputs: Record<string, any> }> = {};

  test("Role: a login role whose password works (sslmode prefer falls back to plain on this server)", async () => {
    const inputs = { name: ROLE, login: true, password: ROLE_PW, connectionLimit: -1 };
    const r = await h["postgresql:index/role:Role"].create(inputs, ctx("role"));
    made.role = { ...r, inputs };
    expect(r.id).toBe(ROLE);
    const row = await asSuper("postgres", (c) => c.query("SELECT rolcanlogin, rolconnlimit, rolsuper, rolinherit FROM pg_roles WHERE rolname = $1", [ROLE]));
    expect(row.rows[0]).toEqual({ rolcanlogin: true, rolconnlimit: -1, rolsuper: false, rolinherit: true });
    const c = await connectAs(ROLE, ROLE_PW, "postgres");
    await c.end();
  });

  test("Database: owned by the role, template0/UTF8 like the provider", async () => {
    const inputs = { name: DB, owner: ROLE, connectionLimit: -1 };
    const r = await h["postgresql:index/database:Database"].create(inputs, ctx("db"));
    made.db = { ...r, inputs };
    expect(r.outputs).toMatchObject({ name: DB, owner: ROLE });
    const row = await asSuper("postgres", (c) =>
      c.query("SELECT pg_get_userbyid(datdba) AS owner, pg_encoding_to_char(encoding) AS enc, datconnlimit, datallowconn FROM pg_database WHERE datname = $1", [DB]),
    );
    expect(row.rows[0]).toEqual({ owner: ROLE, enc: "UTF8", datconnlimit: -1, datallowconn: true });
  });

  test("Grants: PUBLIC loses CONNECT (another login role is refused), the role gets CONNECT/CREATE/TEMPORARY, the admin CONNECT/CREATE", async () => {
    const g = h["postgresql:index/grant:Grant"];
    const revoke = { database: DB, role: "public", objectType: "database", privileges: [] };
    const r1 = await g.create(revoke, ctx("revoke-public"));
    expect(r1.id).toBe(`public_${DB}_database`);
    const own = { database: DB, role: ROLE, objectType: "database", privileges: ["CONNECT", "CREATE", "TEMPORARY"] };
    const r2 = await g.create(own, ctx("role-grant"));
    const adm = { database: DB, role: ADMIN, objectType: "database", privileges: ["CONNECT", "CREATE"] };
    // (the admin here is the superuser; the grant to dbadmin stands in for PostgresDatabase's admin-grant)
    const r3 = await g.create(adm, ctx("admin-grant"));
    made.revoke = { ...r1, inputs: revoke };
    made.own = { ...r2, inputs: own };
    made.adm = { ...r3, inputs: adm };

    await asSuper("postgres", (c) => c.query("CREATE ROLE other_env LOGIN PASSWORD 'o'"));
    await expect(connectAs("other_env", "o", DB)).rejects.toThrow(/permission denied for database/);
    const adminIn = await connectAs(ADMIN, ADMIN_PW, DB);
    await adminIn.end();
    const privs = await asSuper("postgres", (c) =>
      c.query(
        "SELECT has_database_privilege($1, $3, 'CONNECT') AS rc, has_database_privilege($1, $3, 'CREATE') AS rcr, has_database_privilege($1, $3, 'TEMPORARY') AS rt, has_database_privilege($2, $3, 'CREATE') AS ac, has_database_privilege('other_env', $3, 'CONNECT') AS oc",
        [ROLE, ADMIN, DB],
      ),
    );
    expect(privs.rows[0]).toEqual({ rc: true, rcr: true, rt: true, ac: true, oc: false });
    const c = await connectAs(ROLE, ROLE_PW, DB);
    await c.query("CREATE TABLE items (id int primary key, label text)");
    await c.query("INSERT INTO items VALUES (1, 'one'), (2, 'two')");
    await c.end();

    // privileges update in place: revoke what was, grant the new list.
    const u = await g.update!(r3.id, adm, { ...adm, privileges: ["CONNECT"] }, r3.outputs, ctx("admin-grant"));
    expect(u.id).toBe(r3.id);
    const after = await asSuper("postgres", (c2) =>
      c2.query("SELECT has_database_privilege($1, $2, 'CREATE') AS ac, has_database_privilege($1, $2, 'CONNECT') AS acn", [ADMIN, DB]),
    );
    expect(after.rows[0]).toEqual({ ac: false, acn: true });
    await g.update!(r3.id, { ...adm, privileges: ["CONNECT"] }, adm, u.outputs, ctx("admin-grant"));
    await expect(g.create({ database: DB, role: ROLE, objectType: "table", schema: "public", privileges: ["SELECT"] }, ctx("tbl"))).rejects.toThrow(
      /objectType "table" is not mapped/,
    );
    await expect(g.create({ database: DB, role: ROLE, objectType: "database", privileges: ["CONNECT; DROP TABLE x"] }, ctx("inj"))).rejects.toThrow(/unknown privileges/);
  });

  test("Extension: created in the database, usable by the role, id <db>.<name>", async () => {
    const inputs = { name: "pg_trgm", database: DB };
    const r = await h["postgresql:index/extension:Extension"].create(inputs, ctx("ext"));
    made.ext = { ...r, inputs };
    expect(r.id).toBe(`${DB}.pg_trgm`);
    expect(r.outputs.schema).toBe("public");
    const c = await connectAs(ROLE, ROLE_PW, DB);
    const sim = await c.query("SELECT similarity('twinstack', 'twinstacks') > 0.5 AS close");
    expect(sim.rows[0].close).toBe(true);
    await c.end();
  });

  test("Database: connectionLimit updates in place; a template clone copies the rows", async () => {
    const d = h["postgresql:index/database:Database"];
    await d.update!(DB, made.db.inputs, { ...made.db.inputs, connectionLimit: 7 }, made.db.outputs, ctx("db"));
    const lim = await asSuper("postgres", (c) => c.query("SELECT datconnlimit FROM pg_database WHERE datname = $1", [DB]));
    expect(lim.rows[0].datconnlimit).toBe(7);
    await d.update!(DB, { ...made.db.inputs, connectionLimit: 7 }, made.db.inputs, made.db.outputs, ctx("db"));
    expect(d.replaceKeys).toEqual(expect.arrayContaining(["template", "encoding"]));

    // A preview database cloned from dev (PreviewEnv cloneDevDatabase): CREATE DATABASE ... TEMPLATE.
    const previewRole = { name: "myapp_preview_x", login: true, password: "pw" };
    await h["postgresql:index/role:Role"].create(previewRole, ctx("prole"));
    const preview = { name: "myapp_preview_x", owner: "myapp_preview_x", template: DB };
    await d.create(preview, ctx("pdb"));
    const rows = await asSuper("myapp_preview_x", (c) => c.query("SELECT count(*)::int AS n FROM items"));
    expect(rows.rows[0].n).toBe(2);
    await d.delete("myapp_preview_x", {}, preview, ctx("pdb"));
    await h["postgresql:index/role:Role"].delete("myapp_preview_x", {}, previewRole, ctx("prole"));
  });

  test("delete in reverse: extension, grants, database (an open session is terminated), role", async () => {
    const session = await connectAs(ROLE, ROLE_PW, DB);
    session.on("error", () => undefined);
    await h["postgresql:index/extension:Extension"].delete(made.ext.id, made.ext.outputs, made.ext.inputs, ctx("ext"));
    expect((await asSuper(DB, (c) => c.query("SELECT 1 FROM pg_extension WHERE extname = 'pg_trgm'"))).rowCount).toBe(0);
    for (const k of ["adm", "own", "revoke"]) await h["postgresql:index/grant:Grant"].delete(made[k].id, made[k].outputs, made[k].inputs, ctx(k));
    expect((await asSuper("postgres", (c) => c.query("SELECT has_database_privilege($1, $2, 'CREATE') AS v", [ROLE, DB]))).rows[0].v).toBe(false);
    await h["postgresql:index/database:Database"].delete(made.db.id, made.db.outputs, made.db.inputs, ctx("db"));
    expect((await asSuper("postgres", (c) => c.query("SELECT 1 FROM pg_database WHERE datname = $1", [DB]))).rowCount).toBe(0);
    await expect(session.query("SELECT 1")).rejects.toThrow();
    await h["postgresql:index/role:Role"].delete(made.role.id, made.role.outputs, made.role.inputs, ctx("role"));
    expect((await asSuper("postgres", (c) => c.query("SELECT 1 FROM pg_roles WHERE rolname = $1", [ROLE]))).rowCount).toBe(0);
  });
});

describe("a managed server: the admin is not a superuser", () => {
  const mctx = (name: string): ApplyContext => ({ ...ctx(name), provider: managed });
  const role = { name: "m_dev", login: true, password: "pw", connectionLimit: -1 };
  const db = { name: "m_dev", owner: "m_dev", connectionLimit: -1 };

  test("role and database are created (the provider grants the admin the owner role for the CREATE and revokes it after)", async () => {
    await h["postgresql:index/role:Role"].create(role, mctx("m-role"));
    await h["postgresql:index/database:Database"].create(db, mctx("m-db"));
    const row = await asSuper("postgres", (c) => c.query("SELECT pg_get_userbyid(datdba) AS owner FROM pg_database WHERE datname = 'm_dev'"));
    expect(row.rows[0].owner).toBe("m_dev");
    const member = await asSuper("postgres", (c) => c.query("SELECT 1 FROM pg_auth_members WHERE pg_get_userbyid(roleid) = 'm_dev' AND pg_get_userbyid(member) = $1", [ADMIN]));
    expect(member.rowCount).toBe(0);
  });

  test("revoking PUBLIC's CONNECT: PostgreSQL only warns and changes nothing; the applier fails loudly where the provider reports success", async () => {
    await expect(h["postgresql:index/grant:Grant"].create({ database: "m_dev", role: "public", objectType: "database", privileges: [] }, mctx("m-revoke"))).rejects.toThrow(
      /changed nothing \(no privileges could be revoked.*dbadmin has no grant option/,
    );
    const still = await asSuper("postgres", (c) => c.query("SELECT has_database_privilege('public', 'm_dev', 'CONNECT') AS v"));
    expect(still.rows[0].v).toBe(true);
  });

  test("changing the connection limit needs ownership, which the provider does not borrow for it", async () => {
    await expect(h["postgresql:index/database:Database"].update!("m_dev", db, { ...db, connectionLimit: 5 }, db, mctx("m-db"))).rejects.toThrow(/must be owner of database m_dev/);
  });

  test("cloning a database (PreviewEnv cloneDevDatabase) is refused: the provider borrows the new owner's role, not the template's", async () => {
    const previewRole = { name: "m_preview", login: true, password: "pw" };
    await h["postgresql:index/role:Role"].create(previewRole, mctx("m-prole"));
    await expect(h["postgresql:index/database:Database"].create({ name: "m_preview", owner: "m_preview", template: "m_dev" }, mctx("m-pdb"))).rejects.toThrow(
      /permission denied to copy database "m_dev"/,
    );
    await h["postgresql:index/role:Role"].delete("m_preview", previewRole, previewRole, mctx("m-prole"));
  });

  test("delete: database (with the owner role borrowed) and role", async () => {
    await h["postgresql:index/database:Database"].delete("m_dev", db, db, mctx("m-db"));
    await h["postgresql:index/role:Role"].delete("m_dev", role, role, mctx("m-role"));
    expect((await asSuper("postgres", (c) => c.query("SELECT 1 FROM pg_database WHERE datname = 'm_dev'"))).rowCount).toBe(0);
    expect((await asSuper("postgres", (c) => c.query("SELECT 1 FROM pg_roles WHERE rolname = 'm_dev'"))).rowCount).toBe(0);
  });
});
