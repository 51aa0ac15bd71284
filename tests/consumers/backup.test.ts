// backup.sh / restore.sh / backup-loop.sh against a real PostgreSQL: a dump restores to
// identical data, rotation keeps exactly BACKUP_KEEP dumps, and a failed dump never costs an
// older good one.
import { execFileSync, spawn, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { Client } from "pg";
import { PgServer, startPgServer } from "../support/pgServer";
import { testTmpRoot } from "../support/tmpRoot";

const scripts = path.join(__dirname, "..", "..", "scripts");
const backupSh = path.join(scripts, "backup.sh");
const restoreSh = path.join(scripts, "restore.sh");
const loopSh = path.join(scripts, "backup-loop.sh");

let pg: PgServer;
let backupDir: string;
const DB = "gigi_prod";

beforeAll(async () => {
  pg = await startPgServer();
  await pg.createDb(DB);
  await withClient(DB, async (c) => {
    await c.query(`
      CREATE TABLE users (id bigserial PRIMARY KEY, handle text NOT NULL UNIQUE, email text NOT NULL, created_at timestamptz NOT NULL DEFAULT now());
      CREATE TABLE posts (id bigserial PRIMARY KEY, user_id bigint NOT NULL REFERENCES users(id), title text, body jsonb, tags text[]);
      INSERT INTO users (handle, email) SELECT 'u' || g, 'u' || g || '@example.com' FROM generate_series(1, 300) g;
      INSERT INTO posts (user_id, title, body, tags)
        SELECT 1 + (g % 300), 'post ' || g || E' with \\ and '' quotes', jsonb_build_object('n', g), ARRAY['a', 'b' || g]
        FROM generate_series(1, 1200) g;
    `);
  });
});

afterAll(async () => {
  await pg?.stop();
});

beforeEach(() => {
  backupDir = fs.mkdtempSync(path.join(testTmpRoot(), "twinstack-backups-"));
});

afterEach(() => {
  fs.rmSync(backupDir, { recursive: true, force: true });
});

async function withClient<T>(db: string, fn: (c: Client) => Promise<T>): Promise<T> {
  const c = new Client({ connectionString: pg.url(db) });
  await c.connect();
  try {
    return await fn(c);
  } finally {
    await c.end();
  }
}

async function fingerprint(db: string): Promise<Record<string, { rows: number; md5: string | null }>> {
  return withClient(db, async (c) => {
    const out: Record<string, { rows: number; md5: string | null }> = {};
    for (const table of ["users", "posts"]) {
      const r = await c.query(`SELECT count(*)::int AS rows, md5(string_agg(t::text, ',' ORDER BY id)) AS md5 FROM ${table} t`);
      out[table] = r.rows[0];
    }
    return out;
  });
}

function connEnv(extra: Record<string, string> = {}, db = DB): NodeJS.ProcessEnv {
  return {
    ...pg.env,
    PGHOST: pg.host,
    PGPORT: String(pg.port),
    PGUSER: pg.user,
    PGPASSWORD: pg.password,
    PGDATABASE: db,
    BACKUP_DIR: backupDir,
    BACKUP_PREFIX: DB,
    ...extra,
  };
}

function sh(script: string, env: NodeJS.ProcessEnv, args: string[] = []) {
  const r = spawnSync("sh", [script, ...args], { env, encoding: "utf8" });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

const stamp = (i: number) => `20250101T0000${String(i).padStart(2, "0")}Z`;
const listDir = () => fs.readdirSync(backupDir).sort();

test("both scripts pass shellcheck", () => {
  // Throws (with shellcheck's findings in the message) on any finding.
  execFileSync("shellcheck", ["--shell=sh", backupSh, restoreSh, loopSh], { encoding: "utf8" });
});

test("backup, drop, restore gives identical row counts and checksums", async () => {
  const before = await fingerprint(DB);
  expect(before.users.rows).toBe(300);
  expect(before.posts.rows).toBe(1200);

  const r = sh(backupSh, connEnv({ BACKUP_TIMESTAMP: stamp(1) }));
  expect(r.stderr).not.toContain(pg.password);
  expect(r.code).toBe(0);
  const dump = path.join(backupDir, `${DB}-${stamp(1)}.dump`);
  expect(listDir()).toEqual([path.basename(dump)]);

  // Restore into a dropped and recreated database ...
  await withClient("postgres", (c) => c.query(`DROP DATABASE ${DB}`));
  await pg.createDb(DB);
  const restored = sh(restoreSh, connEnv(), [dump]);
  expect(restored.code).toBe(0);
  expect(restored.stderr).toContain(`restoring ${dump}`);
  expect(await fingerprint(DB)).toEqual(before);

  // ... and over a database whose data was damaged (--clean drops and recreates).
  await withClient(DB, (c) => c.query("TRUNCATE posts; UPDATE users SET email = 'x'"));
  expect(sh(restoreSh, connEnv(), [dump]).code).toBe(0);
  expect(await fingerprint(DB)).toEqual(before);

  // DATABASE_URL works as the connection too.
  const viaUrl = sh(restoreSh, { ...pg.env, DATABASE_URL: pg.url(DB) }, [dump]);
  expect(viaUrl.code).toBe(0);
  expect(viaUrl.stderr).not.toContain(pg.password);
});

test("restore refuses without a file, with a missing file, or with a non-dump", () => {
  expect(sh(restoreSh, connEnv()).code).toBe(2);
  const missing = sh(restoreSh, connEnv(), [path.join(backupDir, "nope.dump")]);
  expect(missing.code).not.toBe(0);
  expect(missing.stderr).toContain("no such dump file");
  const junk = path.join(backupDir, "junk.dump");
  fs.writeFileSync(junk, "not a dump");
  const bad = sh(restoreSh, connEnv(), [junk]);
  expect(bad.code).not.toBe(0);
  expect(bad.stderr).toContain("not a readable pg_dump");
});

test("rotation keeps exactly BACKUP_KEEP newest dumps", () => {
  const keep = 3;
  for (let i = 1; i <= keep + 2; i++) {
    const r = sh(backupSh, connEnv({ BACKUP_KEEP: String(keep), BACKUP_TIMESTAMP: stamp(i) }));
    expect(r.code).toBe(0);
  }
  expect(listDir()).toEqual([3, 4, 5].map((i) => `${DB}-${stamp(i)}.dump`));

  // Other prefixes sharing the directory are not this prefix's to rotate.
  fs.writeFileSync(path.join(backupDir, `other_prod-${stamp(0)}.dump`), "x");
  const r = sh(backupSh, connEnv({ BACKUP_KEEP: String(keep), BACKUP_TIMESTAMP: stamp(6) }));
  expect(r.code).toBe(0);
  expect(listDir()).toEqual([`${DB}-${stamp(4)}.dump`, `${DB}-${stamp(5)}.dump`, `${DB}-${stamp(6)}.dump`, `other_prod-${stamp(0)}.dump`]);
});

test("the default timestamp is UTC with seconds", () => {
  const r = sh(backupSh, connEnv());
  expect(r.code).toBe(0);
  expect(listDir()).toEqual([expect.stringMatching(new RegExp(`^${DB}-\\d{8}T\\d{6}Z\\.dump$`))]);
});

test("a failed dump leaves every older good dump in place and exits non-zero", () => {
  const keep = 2;
  for (let i = 1; i <= keep; i++) {
    expect(sh(backupSh, connEnv({ BACKUP_KEEP: String(keep), BACKUP_TIMESTAMP: stamp(i) })).code).toBe(0);
  }
  const good = listDir();
  const sizes = good.map((f) => fs.statSync(path.join(backupDir, f)).size);
  expect(good).toHaveLength(keep);

  const wrongPassword = sh(backupSh, connEnv({ BACKUP_KEEP: String(keep), BACKUP_TIMESTAMP: stamp(10), PGPASSWORD: "wrong" }));
  expect(wrongPassword.code).not.toBe(0);
  expect(wrongPassword.stderr).toContain("pg_dump failed");
  expect(listDir()).toEqual(good);

  const missingDb = sh(backupSh, connEnv({ BACKUP_KEEP: String(keep), BACKUP_TIMESTAMP: stamp(11) }, "no_such_db"));
  expect(missingDb.code).not.toBe(0);
  expect(listDir()).toEqual(good);
  expect(good.map((f) => fs.statSync(path.join(backupDir, f)).size)).toEqual(sizes);

  // An existing dump with the same timestamp is never overwritten.
  const clash = sh(backupSh, connEnv({ BACKUP_KEEP: String(keep), BACKUP_TIMESTAMP: stamp(2) }));
  expect(clash.code).not.toBe(0);
  expect(listDir()).toEqual(good);
});

test("bad settings are refused before anything is written", () => {
  expect(sh(backupSh, connEnv({ BACKUP_KEEP: "0" })).code).not.toBe(0);
  expect(sh(backupSh, connEnv({ BACKUP_KEEP: "seven" })).code).not.toBe(0);
  expect(sh(backupSh, connEnv({ BACKUP_PREFIX: "../evil" })).code).not.toBe(0);
  expect(sh(backupSh, connEnv({ BACKUP_TIMESTAMP: "yesterday" })).code).not.toBe(0);
  expect(listDir()).toEqual([]);
});

test("backup-loop runs backups on its interval and stops on SIGTERM", async () => {
  const child = spawn("sh", [loopSh], { env: connEnv({ BACKUP_INTERVAL_SECONDS: "1", BACKUP_KEEP: "2" }), stdio: ["ignore", "ignore", "pipe"] });
  let stderr = "";
  child.stderr.on("data", (d) => (stderr += d));
  const deadline = Date.now() + 20_000;
  // Timestamps have one-second resolution: 3 runs 1 s apart give 3 distinct names, 2 kept.
  while (Date.now() < deadline && (stderr.match(/backup succeeded/g) ?? []).length < 3) {
    await new Promise((r) => setTimeout(r, 100));
  }
  const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
  child.kill("SIGTERM");
  expect(await exited).toBe(0);
  expect((stderr.match(/backup succeeded/g) ?? []).length).toBeGreaterThanOrEqual(3);
  expect(listDir().filter((f) => f.endsWith(".dump"))).toHaveLength(2);
});
