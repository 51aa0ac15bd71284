// Every database operation of the program and its scripts, on a real PostgreSQL, with exactly the
// privileges the program grants in shared mode (components/postgresDatabase.ts): the env's login
// role owns its database; PUBLIC's CONNECT is revoked; the role gets CONNECT, CREATE, TEMPORARY;
// the admin (a non-superuser with CREATEDB CREATEROLE, as on a managed server) gets CONNECT, CREATE
// and creates postgres.extensions (pg_trgm here), so it, not the app role, owns them. Other
// sessions (the running app, the admin) stay connected throughout. Issue 13 kind 3.
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { Client } from "pg";
import { runSample } from "../../tools/sampler/run";
import { parseConfig } from "../../tools/sampler/config";
import { PgServer, startPgServer } from "../support/pgServer";
import { testTmpRoot } from "../support/tmpRoot";

const scripts = path.join(__dirname, "..", "..", "scripts");
const backupSh = path.join(scripts, "backup.sh");
const restoreSh = path.join(scripts, "restore.sh");

const ADMIN = "twinstack_admin";
const ADMIN_PW = "admin-pw-1";
let pg: PgServer;
let dir: string;
const open: Client[] = [];

const pw = (role: string) => `${role}-pw`;
const urlAs = (role: string, password: string, db: string) => `postgres://${role}:${encodeURIComponent(password)}@${pg.host}:${pg.port}/${db}`;

async function connect(url: string): Promise<Client> {
  const c = new Client({ connectionString: url });
  await c.connect();
  return c;
}
async function once<T>(url: string, fn: (c: Client) => Promise<T>): Promise<T> {
  const c = await connect(url);
  try {
    return await fn(c);
  } finally {
    await c.end();
  }
}

/** What PostgresDatabase declares for one env database, in the same order, with the same roles. */
async function declareEnvDatabase(name: string, extensions: string[]): Promise<void> {
  await once(pg.url("postgres"), async (c) => {
    // The postgresql provider (superuser: false) creates the role and the database owned by it.
    await c.query(`CREATE ROLE ${name} LOGIN PASSWORD '${pw(name)}'`);
    await c.query(`CREATE DATABASE ${name} OWNER ${name}`);
    await c.query(`REVOKE ALL ON DATABASE ${name} FROM PUBLIC`);
    await c.query(`GRANT CONNECT, CREATE, TEMPORARY ON DATABASE ${name} TO ${name}`);
    if (extensions.length) await c.query(`GRANT CONNECT, CREATE ON DATABASE ${name} TO ${ADMIN}`);
  });
  // postgresql.Extension runs as the admin.
  if (extensions.length)
    await once(urlAs(ADMIN, ADMIN_PW, name), async (c) => {
      for (const ext of extensions) await c.query(`CREATE EXTENSION IF NOT EXISTS ${ext}`);
    });
}

/** The app's own schema, created by the app role (migrations), using the extension. */
async function appSchema(db: string): Promise<void> {
  await once(urlAs(db, pw(db), db), (c) =>
    c.query(`
      CREATE TABLE users (id bigserial PRIMARY KEY, handle text NOT NULL UNIQUE, email text NOT NULL);
      CREATE TABLE posts (id bigserial PRIMARY KEY, user_id bigint NOT NULL REFERENCES users(id), title text);
      CREATE INDEX posts_title_trgm ON posts USING gin (title gin_trgm_ops);
      INSERT INTO users (handle, email) SELECT 'u' || g, 'u' || g || '@example.com' FROM generate_series(1, 200) g;
      INSERT INTO posts (user_id, title) SELECT 1 + (g % 200), 'post ' || g FROM generate_series(1, 800) g;
    `),
  );
}

async function fingerprint(db: string) {
  return once(urlAs(db, pw(db), db), async (c) => {
    const out: Record<string, unknown> = {};
    for (const t of ["users", "posts"]) out[t] = (await c.query(`SELECT count(*)::int AS n, md5(string_agg(t::text, ',' ORDER BY id)) AS md5 FROM ${t} t`)).rows[0];
    out.trgm = (await c.query("SELECT count(*)::int AS n FROM posts WHERE title % 'post 12'")).rows[0].n;
    return out;
  });
}

function asApp(db: string, extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  return { ...pg.env, PGHOST: pg.host, PGPORT: String(pg.port), PGUSER: db, PGPASSWORD: pw(db), PGDATABASE: db, BACKUP_DIR: dir, BACKUP_PREFIX: db, ...extra };
}
function sh(script: string, env: NodeJS.ProcessEnv, args: string[] = []) {
  const r = spawnSync("sh", [script, ...args], { env, encoding: "utf8" });
  return { code: r.status, stderr: r.stderr };
}

beforeAll(async () => {
  pg = await startPgServer();
  dir = fs.mkdtempSync(path.join(testTmpRoot(), "twinstack-dbpriv-"));
  await once(pg.url("postgres"), (c) => c.query(`CREATE ROLE ${ADMIN} LOGIN CREATEDB CREATEROLE PASSWORD '${ADMIN_PW}'`));
  await declareEnvDatabase("gigi_prod", ["pg_trgm"]);
  await appSchema("gigi_prod");
  await declareEnvDatabase("gigi_dev", ["pg_trgm"]);
  // Other sessions stay open on both databases the whole time: the running apps and the admin.
  for (const db of ["gigi_prod", "gigi_dev"]) {
    open.push(await connect(urlAs(db, pw(db), db)));
    open.push(await connect(urlAs(ADMIN, ADMIN_PW, db)));
  }
}, 60_000);

afterAll(async () => {
  await Promise.all(open.map((c) => c.end().catch(() => undefined)));
  await pg?.stop();
  fs.rmSync(dir, { recursive: true, force: true });
});

test("the extension belongs to the admin, not to the app role", async () => {
  const owner = await once(urlAs("gigi_prod", pw("gigi_prod"), "gigi_prod"), (c) =>
    c.query("SELECT pg_get_userbyid(extowner) AS owner FROM pg_extension WHERE extname = 'pg_trgm'"),
  );
  expect(owner.rows).toEqual([{ owner: ADMIN }]);
});

test("backup as the app role, then the README's restore over the damaged database, as the app role", async () => {
  const before = await fingerprint("gigi_prod");
  const b = sh(backupSh, asApp("gigi_prod", { BACKUP_TIMESTAMP: "20261121T020000Z" }));
  if (b.code !== 0) throw new Error(b.stderr);
  const dump = path.join(dir, "gigi_prod-20261121T020000Z.dump");

  await once(urlAs("gigi_prod", pw("gigi_prod"), "gigi_prod"), (c) => c.query("DELETE FROM posts WHERE id > 100; UPDATE users SET email = 'x'"));
  // Was: "must be owner of extension pg_trgm", and the whole restore rolled back.
  const r = sh(restoreSh, asApp("gigi_prod"), [dump]);
  if (r.code !== 0) throw new Error(r.stderr);
  expect(r.stderr).not.toContain(pw("gigi_prod"));
  expect(await fingerprint("gigi_prod")).toEqual(before);
  // The other sessions were never cut.
  for (const c of open) expect((await c.query("SELECT 1 AS one")).rows).toEqual([{ one: 1 }]);
});

test("restore into a fresh env database (extensions declared) and a clear refusal where the extension is missing", async () => {
  const dump = fs
    .readdirSync(dir)
    .filter((f) => f.endsWith(".dump"))
    .map((f) => path.join(dir, f))[0];
  await declareEnvDatabase("gigi_restored", ["pg_trgm"]);
  const ok = sh(restoreSh, asApp("gigi_restored"), [dump]);
  if (ok.code !== 0) throw new Error(ok.stderr);
  const prod = await fingerprint("gigi_prod");
  expect(await fingerprint("gigi_restored")).toEqual(prod);

  await declareEnvDatabase("gigi_noext", []);
  const refused = sh(restoreSh, asApp("gigi_noext"), [dump]);
  expect(refused.code).not.toBe(0);
  expect(refused.stderr).toMatch(/needs extension pg_trgm.*postgres\.extensions/);
});

test("the sampler copies prod into dev as the two app roles, with both apps connected", async () => {
  const config = parseConfig('follow: [posts]\nanonymize:\n  users.email: "user{id}@dev.invalid"\n');
  const result = await runSample({
    from: urlAs("gigi_prod", pw("gigi_prod"), "gigi_prod"),
    to: urlAs("gigi_dev", pw("gigi_dev"), "gigi_dev"),
    root: "users",
    percent: 10,
    seed: "42",
    createSchema: true,
    config,
    pgDump: path.join(pg.binDir, "pg_dump"),
    log: () => undefined,
  });
  expect(result.rootRows).toBe(20);
  const copied = await once(urlAs("gigi_dev", pw("gigi_dev"), "gigi_dev"), (c) => c.query("SELECT count(*)::int AS n FROM users"));
  expect(copied.rows[0].n).toBe(20);
  // And again over the copy (--replace truncates the dev role's own tables).
  const again = await runSample({
    from: urlAs("gigi_prod", pw("gigi_prod"), "gigi_prod"),
    to: urlAs("gigi_dev", pw("gigi_dev"), "gigi_dev"),
    root: "users",
    percent: 5,
    seed: "1",
    replace: true,
    config,
    log: () => undefined,
  });
  expect(again.rootRows).toBe(10);
});

describe("preview database: create by cloning dev, then drop", () => {
  const cloneSh = path.join(scripts, "clone-db.sh");
  const PREVIEW = "gigi_preview_feature_x";

  test("the old clone, CREATE DATABASE ... TEMPLATE <dev> as the admin, fails while the dev app is connected", async () => {
    const err = await once(urlAs(ADMIN, ADMIN_PW, "gigi_dev"), (c) => c.query("CREATE DATABASE gigi_preview_old TEMPLATE gigi_dev")).then(
      () => undefined,
      (e: Error) => e.message,
    );
    // Either reason alone stops it: dev has other sessions, and the admin does not own dev.
    expect(err).toMatch(/being accessed by other users|permission denied to copy database/);
  });

  test("clone-db.sh copies dev into the preview database as the two app roles, with dev's sessions open", async () => {
    await declareEnvDatabase(PREVIEW, ["pg_trgm"]);
    const r = sh(cloneSh, { ...asApp(PREVIEW), CLONE_SOURCE_URL: urlAs("gigi_dev", pw("gigi_dev"), "gigi_dev") });
    if (r.code !== 0) throw new Error(r.stderr);
    expect(r.stderr).not.toContain(pw("gigi_dev"));
    const count = (db: string) => once(urlAs(db, pw(db), db), (c) => c.query("SELECT count(*)::int AS n FROM users")).then((x) => x.rows[0].n);
    expect(await count(PREVIEW)).toBe(await count("gigi_dev"));
    // The copies belong to the preview role, so its app (and a later restore) can change them.
    const owners = await once(urlAs(PREVIEW, pw(PREVIEW), PREVIEW), (c) =>
      c.query("SELECT DISTINCT pg_get_userbyid(relowner) AS owner FROM pg_class WHERE relnamespace = 'public'::regnamespace"),
    );
    expect(owners.rows).toEqual([{ owner: PREVIEW }]);
    for (const c of open) expect((await c.query("SELECT 1 AS one")).rows).toEqual([{ one: 1 }]);
  });

  test("clone-db.sh refuses without a source", () => {
    const r = sh(cloneSh, asApp(PREVIEW));
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain("CLONE_SOURCE_URL");
  });

  test("drop: once the preview app is gone, the admin removes its database and role through role membership", async () => {
    await once(urlAs(ADMIN, ADMIN_PW, "postgres"), async (c) => {
      // What the postgresql provider does as a non-superuser: become a member of the owner, then drop.
      await c.query(`GRANT ${PREVIEW} TO ${ADMIN}`);
      await c.query(`DROP DATABASE ${PREVIEW}`);
      await c.query(`DROP ROLE ${PREVIEW}`);
    });
    const left = await once(pg.url("postgres"), (c) => c.query("SELECT count(*)::int AS n FROM pg_database WHERE datname = $1", [PREVIEW]));
    expect(left.rows[0].n).toBe(0);
  });
});
