// The prod-to-dev sampler against a real PostgreSQL with a Makapix-like schema of ~1,000 users:
// ~10% of users arrive with their posts, comments, reactions and follows, no reference dangles,
// no real email or usable token is left, free text is kept, and the source is untouched.
import { execFileSync, spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { Client } from "pg";
import { applyTransforms, compileTable, sqlTransforms } from "../../tools/sampler/anonymize";
import { readCatalog, qualified, quoteIdent } from "../../tools/sampler/catalog";
import { parseConfig, SampleConfig } from "../../tools/sampler/config";
import { runSample, SampleResult } from "../../tools/sampler/run";
import { RAW_TEXT } from "../../tools/sampler/select";
import { copyFollowingFiles, FilesResult } from "../../tools/sampler/files";
import { MAKAPIX_SCHEMA, MAKAPIX_TABLES, seedMakapix } from "../support/makapixSchema";
import { PgServer, startPgServer } from "../support/pgServer";
import { testTmpRoot } from "../support/tmpRoot";

const repo = path.join(__dirname, "..", "..");
const USERS = 1000;
let pg: PgServer;
let srcUrl: string;
let dstUrl: string;
let config: SampleConfig;
let result: SampleResult;
let sourceBefore: Record<string, string>;
/** The first run's log lines. */
const logged: string[] = [];

async function withClient<T>(url: string, fn: (c: Client) => Promise<T>): Promise<T> {
  const c = new Client({ connectionString: url });
  await c.connect();
  try {
    return await fn(c);
  } finally {
    await c.end();
  }
}

const q = <T = Record<string, unknown>>(url: string, sql: string, params: unknown[] = []) => withClient(url, async (c) => (await c.query(sql, params)).rows as T[]);

async function checksums(url: string): Promise<Record<string, string>> {
  return withClient(url, async (c) => {
    const out: Record<string, string> = {};
    for (const t of MAKAPIX_TABLES) {
      const r = await c.query(`SELECT count(*) || ':' || coalesce(md5(string_agg(t::text, ',' ORDER BY t::text)), '') AS v FROM ${t} t`);
      out[t] = r.rows[0].v;
    }
    return out;
  });
}

async function count(url: string, table: string): Promise<number> {
  return Number((await q<{ n: string }>(url, `SELECT count(*) AS n FROM ${table}`))[0].n);
}

async function createSchema(url: string) {
  await withClient(url, (c) => c.query(MAKAPIX_SCHEMA));
}

/** Every FK of the database, checked row by row: no referencing value without its parent. */
async function danglingReferences(url: string): Promise<string[]> {
  return withClient(url, async (c) => {
    const catalog = await readCatalog(c, "public");
    const problems: string[] = [];
    for (const fk of catalog.foreignKeys) {
      const set = fk.columns.map((col) => `ch.${quoteIdent(col)} IS NOT NULL`).join(" AND ");
      const join = fk.columns.map((col, i) => `pa.${quoteIdent(fk.refColumns[i])} = ch.${quoteIdent(col)}`).join(" AND ");
      const r = await c.query(
        `SELECT count(*)::int AS n FROM ${qualified("public", fk.table)} ch WHERE ${set} AND NOT EXISTS (SELECT 1 FROM ${qualified("public", fk.refTable)} pa WHERE ${join})`,
      );
      if (r.rows[0].n > 0) problems.push(`${fk.table}.${fk.name}: ${r.rows[0].n}`);
    }
    return problems;
  });
}

function testConfig(): SampleConfig {
  const c = parseConfig(fs.readFileSync(path.join(repo, "tools", "sampler", "sample.example.yaml"), "utf8"));
  // The test schema has a composite-FK child of follows the Makapix example does not know.
  return { ...c, follow: [...c.follow, { table: "follow_events", match: "all", via: undefined }] };
}

beforeAll(async () => {
  pg = await startPgServer();
  srcUrl = await pg.createDb("makapix_prod");
  dstUrl = await pg.createDb("makapix_dev");
  await createSchema(srcUrl);
  await withClient(srcUrl, (c) => seedMakapix(c, USERS));
  await createSchema(dstUrl);
  sourceBefore = await checksums(srcUrl);
  config = testConfig();
  result = await runSample({ from: srcUrl, to: dstUrl, config, seed: "42", log: (l) => logged.push(l) });
});

afterAll(async () => {
  await pg?.stop();
});

test("about 10% of users: exactly 10% sampled, the parent closure adds only a few", async () => {
  expect(await count(srcUrl, "users")).toBe(USERS);
  expect(result.rootRows).toBe(USERS / 10);
  const users = await count(dstUrl, "users");
  expect(users).toBeGreaterThanOrEqual(100);
  expect(users).toBeLessThanOrEqual(130);
  const ids = (await q<{ id: string }>(dstUrl, "SELECT id FROM users")).map((r) => r.id);
  expect(ids).toEqual(expect.arrayContaining(result.rootKeys.map((k) => k[0])));
  // The summary agrees with the database.
  for (const t of result.tables) expect(await count(dstUrl, t.table)).toBe(t.rows);
  expect(result.totalRows).toBe(result.tables.reduce((n, t) => n + t.rows, 0));
});

test("children follow the sampled users: posts, comments, reactions, follows with both ends, composite-FK rows", async () => {
  const root = result.rootKeys.map((k) => k[0]);
  const expectAllCopied = async (table: string, where: string, key: string) => {
    const want = (await q<{ k: string }>(srcUrl, `SELECT (${key})::text AS k FROM ${table} t WHERE ${where} ORDER BY 1`, [root])).map((r) => r.k);
    const have = new Set((await q<{ k: string }>(dstUrl, `SELECT (${key})::text AS k FROM ${table} t`)).map((r) => r.k));
    expect(want.length).toBeGreaterThan(0);
    expect(want.filter((k) => !have.has(k))).toEqual([]);
  };
  await expectAllCopied("posts", "t.user_id = ANY($1::bigint[])", "t.id");
  await expectAllCopied("comments", "t.user_id = ANY($1::bigint[]) AND t.post_id IN (SELECT id FROM posts WHERE user_id = ANY($1::bigint[]))", "t.id");
  await expectAllCopied(
    "reactions",
    "t.user_id = ANY($1::bigint[]) AND t.post_id IN (SELECT id FROM posts WHERE user_id = ANY($1::bigint[]))",
    "ROW(t.post_id, t.user_id, t.emoji)",
  );
  await expectAllCopied("follows", "t.user_id = ANY($1::bigint[]) AND t.followee_id = ANY($1::bigint[])", "ROW(t.user_id, t.followee_id)");
  await expectAllCopied("auth_tokens", "t.user_id = ANY($1::bigint[])", "t.id");

  // Follows only where both ends were sampled, not merely present.
  const stray = await q(dstUrl, "SELECT 1 FROM follows WHERE NOT (user_id = ANY($1::bigint[]) AND followee_id = ANY($1::bigint[]))", [root]);
  expect(stray).toEqual([]);
  // Self-references and the deferrable cycle arrived intact.
  expect(Number((await q<{ n: string }>(dstUrl, "SELECT count(*) AS n FROM comments WHERE parent_id IS NOT NULL"))[0].n)).toBeGreaterThan(0);
  expect(Number((await q<{ n: string }>(dstUrl, "SELECT count(*) AS n FROM users WHERE invited_by IS NOT NULL"))[0].n)).toBeGreaterThan(0);
  expect(Number((await q<{ n: string }>(dstUrl, "SELECT count(*) AS n FROM users WHERE featured_post_id IS NOT NULL"))[0].n)).toBeGreaterThan(0);
  expect(await count(dstUrl, "follow_events")).toBeGreaterThan(0);
});

test("tables nothing references are read by the copy: exactly the follow join's rows, none for parents the closure added", async () => {
  const root = result.rootKeys.map((k) => k[0]);
  for (const t of ["reactions", "follow_events", "auth_tokens"]) expect(logged).toContain(`follow ${t}: read by the copy (nothing references it)`);
  for (const t of ["posts", "comments", "follows"]) expect(logged.some((l) => new RegExp(`^follow ${t}: [1-9]\\d* row\\(s\\)$`).test(l))).toBe(true);
  const exactly = async (sql: string, params: unknown[]) => {
    const want = (await q<{ k: string }>(srcUrl, sql, params)).map((r) => r.k);
    expect(want.length).toBeGreaterThan(0);
    expect((await q<{ k: string }>(dstUrl, sql.replace(/ WHERE .*/, " ORDER BY 1"))).map((r) => r.k)).toEqual(want);
  };
  const sampledPosts = "t.post_id IN (SELECT id FROM posts WHERE user_id = ANY($1::bigint[]))";
  await exactly(`SELECT ROW(t.post_id, t.user_id, t.emoji)::text AS k FROM reactions t WHERE t.user_id = ANY($1::bigint[]) AND ${sampledPosts} ORDER BY 1`, [root]);
  await exactly("SELECT t.id::text AS k FROM auth_tokens t WHERE t.user_id = ANY($1::bigint[]) ORDER BY 1", [root]);
  await exactly("SELECT t.id::text AS k FROM follow_events t WHERE t.user_id = ANY($1::bigint[]) AND t.followee_id = ANY($1::bigint[]) ORDER BY 1", [root]);
});

test("templates the source applies in the copy's SELECT give what node's own rewrite gives, for every kind of value", async () => {
  const db = await pg.createDb("templates_src");
  await withClient(db, async (c) => {
    await c.query(`CREATE TABLE odd (id int PRIMARY KEY, flag boolean, note text, at timestamptz, tags text[], doc jsonb, n numeric, secret text)`);
    await c.query(`INSERT INTO odd VALUES
      (1, true, E'it''s a \\\\ back\\tslash\\nline', '2024-02-29 13:14:15.5+00', ARRAY['a b', 'c"d', NULL], '{"k": [1, "x"]}', 1.50, 's1'),
      (2, NULL, NULL, NULL, NULL, NULL, NULL, 's2')`);
  });
  const config = parseConfig(`
anonymize:
  odd.secret: "{id}|{flag}|{note}|{at}|{tags}|{doc}|{n}|it's \\\\ 100%"
  odd.note: null
requireRules: []
`);
  const catalog = await withClient(db, (c) => readCatalog(c, "public"));
  const table = catalog.tables.find((t) => t.name === "odd")!;
  const columns = table.columns.map((c) => c.name);
  const inSql = sqlTransforms(config, table, columns);
  expect([...inSql.keys()].map((i) => columns[i]).sort()).toEqual(["note", "secret"]);
  const select = columns.map((c, i) => inSql.get(i)?.((x) => `t.${quoteIdent(x)}`) ?? `t.${quoteIdent(c)}`).join(", ");
  await withClient(db, async (c) => {
    // The sampler's session settings (tools/sampler/run.ts connect).
    await c.query("SET datestyle = 'ISO, MDY'; SET intervalstyle = 'postgres'; SET extra_float_digits = 3; SET bytea_output = 'hex'");
    const raw = (sql: string) => c.query<string[]>({ text: sql, rowMode: "array", types: RAW_TEXT }).then((r) => r.rows);
    const original = await raw(`SELECT * FROM odd t ORDER BY id`);
    const bySql = await raw(`SELECT ${select} FROM odd t ORDER BY id`);
    const byNode = original.map((row) => applyTransforms(row, compileTable(config, table, columns)));
    expect(bySql).toEqual(byNode);
    expect(bySql[0][7]).toBe(`1|t|it's a \\ back\tslash\nline|2024-02-29 13:14:15.5+00|{"a b","c\\"d",NULL}|{"k": [1, "x"]}|1.50|it's \\ 100%`);
  });
});

test("no dangling references (beyond the constraints the commit already enforced)", async () => {
  expect(await danglingReferences(dstUrl)).toEqual([]);
  // And the references that were set after insert have their source values.
  const src = await q<{ v: string }>(
    srcUrl,
    "SELECT md5(string_agg(id || ':' || coalesce(invited_by::text, '-') || ':' || coalesce(featured_post_id::text, '-'), ',' ORDER BY id)) AS v FROM users WHERE id = ANY($1::bigint[])",
    [(await q<{ id: string }>(dstUrl, "SELECT id FROM users")).map((r) => r.id)],
  );
  const dst = await q<{ v: string }>(
    dstUrl,
    "SELECT md5(string_agg(id || ':' || coalesce(invited_by::text, '-') || ':' || coalesce(featured_post_id::text, '-'), ',' ORDER BY id)) AS v FROM users",
  );
  expect(dst[0].v).toBe(src[0].v);
});

test("no real email and no usable token is left", async () => {
  const users = await q<{ id: string; email: string }>(dstUrl, "SELECT id, email FROM users");
  for (const u of users) expect(u.email).toBe(`user${u.id}@dev.invalid`);
  const realEmails = new Set((await q<{ email: string }>(srcUrl, "SELECT email FROM users")).map((r) => r.email));
  expect(users.filter((u) => realEmails.has(u.email))).toEqual([]);

  const tokens = await q<{ token: string; expired: boolean }>(dstUrl, "SELECT token, expires_at < now() AS expired FROM auth_tokens");
  expect(tokens.length).toBeGreaterThan(0);
  const realTokens = new Set((await q<{ token: string }>(srcUrl, "SELECT token FROM auth_tokens")).map((r) => r.token));
  expect(tokens.filter((t) => realTokens.has(t.token))).toEqual([]);
  expect(tokens.every((t) => t.expired)).toBe(true);
  expect(new Set(tokens.map((t) => t.token)).size).toBe(tokens.length);
});

test("free text and other values are copied exactly", async () => {
  const fingerprint = async (url: string, sql: string, ids: string[]) => (await q<{ v: string }>(url, sql, [ids]))[0].v;
  const postIds = (await q<{ id: string }>(dstUrl, "SELECT id FROM posts")).map((r) => r.id);
  const posts =
    "SELECT md5(string_agg(ROW(id, user_id, category_id, title, title_length, body, metadata, tags, created_at)::text, ',' ORDER BY id)) AS v FROM posts WHERE id = ANY($1::bigint[])";
  expect(await fingerprint(dstUrl, posts, postIds)).toBe(await fingerprint(srcUrl, posts, postIds));
  const userIds = (await q<{ id: string }>(dstUrl, "SELECT id FROM users")).map((r) => r.id);
  const users = "SELECT md5(string_agg(ROW(id, handle, bio, created_at)::text, ',' ORDER BY id)) AS v FROM users WHERE id = ANY($1::bigint[])";
  expect(await fingerprint(dstUrl, users, userIds)).toBe(await fingerprint(srcUrl, users, userIds));
  const bio = await q<{ bio: string }>(dstUrl, "SELECT bio FROM users ORDER BY id LIMIT 1");
  expect(bio[0].bio).toMatch(/Pixel artist #\d+ \u2014 likes '8-bit' art/);
});

test("the source is unchanged", async () => {
  expect(await checksums(srcUrl)).toEqual(sourceBefore);
});

test("sequences are past the copied ids, so the dev app can insert", async () => {
  await withClient(dstUrl, async (c) => {
    await c.query("BEGIN");
    await c.query("INSERT INTO users (handle, email) VALUES ('newcomer', 'new@dev.invalid')");
    const f = (await c.query("SELECT user_id, followee_id FROM follows LIMIT 1")).rows[0];
    await c.query("INSERT INTO follow_events (user_id, followee_id, kind) VALUES ($1, $2, 'again')", [f.user_id, f.followee_id]);
    await c.query("ROLLBACK");
  });
});

test("the same seed gives the same sample; --create-schema builds an empty target", async () => {
  const fresh = await pg.createDb("makapix_dev2");
  const again = await runSample({ from: srcUrl, to: fresh, config, seed: "42", createSchema: true });
  expect(again.rootKeys).toEqual(result.rootKeys);
  expect(again.tables).toEqual(result.tables);
  const ids = async (url: string) => (await q<{ id: string }>(url, "SELECT id FROM users ORDER BY id")).map((r) => r.id);
  expect(await ids(fresh)).toEqual(await ids(dstUrl));
  const other = await runSample({ from: srcUrl, to: fresh, config, seed: "7", replace: true });
  expect(other.rootKeys).not.toEqual(result.rootKeys);
  expect(other.truncated).toEqual(expect.arrayContaining(MAKAPIX_TABLES));
  expect(await count(fresh, "users")).toBe(other.tables.find((t) => t.table === "users")!.rows);
});

test("a non-empty target is refused unless --replace; a failed copy leaves the target as it was", async () => {
  const before = await checksums(dstUrl);
  await expect(runSample({ from: srcUrl, to: dstUrl, config, seed: "42" })).rejects.toThrow(/target tables are not empty: .*users.*--replace/);
  expect(await checksums(dstUrl)).toEqual(before);

  // The target rejects some rows midway (a constraint the source lacks): nothing is kept.
  await withClient(dstUrl, (c) => c.query("ALTER TABLE comments ADD CONSTRAINT short_bodies CHECK (length(body) < 12) NOT VALID"));
  try {
    await expect(runSample({ from: srcUrl, to: dstUrl, config, seed: "43", replace: true })).rejects.toThrow(/short_bodies/);
    expect(await checksums(dstUrl)).toEqual(before);
  } finally {
    await withClient(dstUrl, (c) => c.query("ALTER TABLE comments DROP CONSTRAINT short_bodies"));
  }
});

test("refuses to write into a prod database or into the source itself", async () => {
  const prodTarget = await pg.createDb("gigi_prod");
  await createSchema(prodTarget);
  await expect(runSample({ from: srcUrl, to: prodTarget, config, seed: "1" })).rejects.toThrow(/refusing to write into database "gigi_prod"/);
  await expect(runSample({ from: srcUrl, to: pg.url("makapix-prod"), config })).rejects.toThrow(/prod env token/);
  await expect(runSample({ from: dstUrl, to: dstUrl.replace("127.0.0.1", "localhost"), config })).rejects.toThrow(/into itself/);
  expect(await count(prodTarget, "users")).toBe(0);
});

test("a cycle of two tables through nullable, not deferrable FKs: set after insert; a NOT NULL self-reference needs no fix-up", async () => {
  // Makapix's own cycles are a deferrable FK and self-references, which need no fix-up; this one does.
  const schema = `
    CREATE TABLE teams (id int PRIMARY KEY, lead_id int, parent_id int NOT NULL REFERENCES teams(id));
    CREATE TABLE members (id int PRIMARY KEY, team_id int REFERENCES teams(id), name text NOT NULL);
    ALTER TABLE teams ADD FOREIGN KEY (lead_id) REFERENCES members(id);`;
  const src = await pg.createDb("cycle_src");
  const dst = await pg.createDb("cycle_dev");
  for (const url of [src, dst]) await withClient(url, (c) => c.query(schema));
  await withClient(src, (c) =>
    c.query(`
      INSERT INTO teams (id, parent_id) SELECT g, 1 + (g - 1) / 2 FROM generate_series(1, 40) g;
      INSERT INTO members (id, team_id, name) SELECT g, 1 + g % 40, 'member ' || g FROM generate_series(1, 120) g;
      UPDATE teams SET lead_id = id + 40;`),
  );
  const cycleConfig = parseConfig("root: teams\nfollow: [members]\nrequireRules: []");
  const copied = await runSample({ from: src, to: dst, config: cycleConfig, percent: 100, seed: "1" });
  expect(Object.fromEntries(copied.tables.map((t) => [t.table, t.rows]))).toEqual({ teams: 40, members: 120 });
  for (const t of ["teams", "members"]) {
    const rows = `SELECT string_agg(t::text, ',' ORDER BY t::text) AS v FROM ${t} t`;
    expect((await q<{ v: string }>(dst, rows))[0].v).toBe((await q<{ v: string }>(src, rows))[0].v);
  }
  expect(Number((await q<{ n: string }>(dst, "SELECT count(*) AS n FROM teams WHERE lead_id IS NOT NULL"))[0].n)).toBe(40);
  expect(await danglingReferences(dst)).toEqual([]);
});

test("a source that fails in the middle of the copy aborts the target's transaction", async () => {
  // The source server ends the sampler's session once posts are in the target. The target's
  // comments are locked (SHARE: reads pass, COPY waits) until then, so the source is cut off while
  // tables are left to copy whatever the timing; the next source statement fails.
  const fresh = await pg.createDb("makapix_dev_fail");
  await createSchema(fresh);
  const before = await checksums(fresh);
  const blocker = new Client({ connectionString: fresh });
  await blocker.connect();
  try {
    await blocker.query("BEGIN");
    await blocker.query("LOCK TABLE comments IN SHARE MODE");
    const lines: string[] = [];
    let cut: Promise<unknown> = Promise.resolve();
    const log = (line: string) => {
      lines.push(line);
      if (/^copied \d+ row\(s\) into posts$/.test(line)) {
        cut = withClient(srcUrl, (c) =>
          c.query("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'twinstack-sample-source' AND datname = 'makapix_prod'"),
        ).then(() => blocker.query("ROLLBACK"));
      }
    };
    await expect(runSample({ from: srcUrl, to: fresh, config, seed: "42", log })).rejects.toThrow(/terminating connection due to administrator command/);
    await cut;
    expect(lines.some((l) => /^follow comments: [1-9]\d* row\(s\)$/.test(l))).toBe(true);
    expect(lines.some((l) => /^copied \d+ row\(s\) into posts$/.test(l))).toBe(true);
    expect(lines.some((l) => /^copied \d+ row\(s\) into reactions$/.test(l))).toBe(false);
    expect(await checksums(fresh)).toEqual(before);
  } finally {
    await blocker.end();
  }
});

test("a source role that may not read every column fails before anything is written", async () => {
  // A role that may read the key and reference columns of comments but not its body: the
  // selection, which keeps the selected rows whole, fails on comments; the target stays as it was.
  const fresh = await pg.createDb("makapix_dev_denied");
  await createSchema(fresh);
  const before = await checksums(fresh);
  const role = "sampler_no_bodies";
  await withClient(srcUrl, async (c) => {
    await c.query(`CREATE ROLE ${role} LOGIN PASSWORD 'pw'`);
    await c.query(`GRANT TEMPORARY ON DATABASE makapix_prod TO ${role}`);
    for (const t of MAKAPIX_TABLES.filter((t) => t !== "comments")) await c.query(`GRANT SELECT ON ${t} TO ${role}`);
    await c.query(`GRANT SELECT (id, post_id, user_id, parent_id) ON comments TO ${role}`);
  });
  try {
    const from = srcUrl.replace(/\/\/[^@]+@/, `//${role}:pw@`);
    const lines: string[] = [];
    await expect(runSample({ from, to: fresh, config, seed: "42", log: (l) => lines.push(l) })).rejects.toThrow(/permission denied for table comments/);
    expect(lines.some((l) => /^follow posts: [1-9]\d* row\(s\)$/.test(l))).toBe(true);
    expect(lines.some((l) => /^copied /.test(l))).toBe(false);
    expect(await checksums(fresh)).toEqual(before);
  } finally {
    await withClient(srcUrl, async (c) => {
      await c.query(`REVOKE ALL ON ALL TABLES IN SCHEMA public FROM ${role}`);
      await c.query(`REVOKE ALL ON DATABASE makapix_prod FROM ${role}`);
      await c.query(`DROP ROLE ${role}`);
    });
  }
});

test("CLI: summary without passwords; refusal exits 1 with a clear message", () => {
  const cli = (args: string[]) => spawnSync(process.execPath, [require("../../tools/build.js").compiled("tools/sample.ts"), ...args], { cwd: repo, encoding: "utf8", env: pg.env });
  const dry = cli(["--from", srcUrl, "--to", pg.url("makapix_dev3"), "--config", "tools/sampler/sample.example.yaml", "--seed", "42", "--dry-run"]);
  expect(dry.status).toBe(0);
  expect(dry.stdout).toContain("dry run: would copy from postgres://twinstack_test:***@127.0.0.1");
  expect(dry.stdout).toMatch(/root users: 100 row\(s\) sampled, seed 42/);
  expect(dry.stdout).toMatch(/users\s+\d+/);
  expect(dry.stdout + dry.stderr).not.toContain(pg.password);

  const refused = cli(["--from", srcUrl, "--to", pg.url("gigi_prod"), "--root", "users", "--percent", "10"]);
  expect(refused.status).toBe(1);
  expect(refused.stderr).toContain('refusing to write into database "gigi_prod"');
  expect(refused.stdout + refused.stderr).not.toContain(pg.password);
});

describe("files that follow the sampled rows (Makapix sync-vault-to-dev)", () => {
  // Makapix shards its vault by sha256 of the artwork key (fabkury/makapix api/app/vault.py); the
  // test schema's posts have no storage key, so the shard is taken from the post id.
  const shard = (id: string) => {
    const h = createHash("sha256").update(id).digest("hex");
    return `${h.slice(0, 2)}/${h.slice(2, 4)}`;
  };
  const FILES_YAML = `
files:
  - table: posts
    paths:
      - "{sha256(id)[0:2]}/{sha256(id)[2:4]}/{id}.png"        # original
      - "{sha256(id)[0:2]}/{sha256(id)[2:4]}/{id}_*.webp"     # derived variants
  - table: users
    paths: ["avatars/{id}.png"]
`;
  let base: string;
  let prodVault: string;
  let devVault: string;
  let rules: SampleConfig["files"];
  let first: FilesResult;
  let prodBefore: string;
  let missingOriginals: string[];

  /** Every file under dir, relative, with its content's md5. */
  const tree = (dir: string): Record<string, string> => {
    const out: Record<string, string> = {};
    const walk = (d: string) => {
      for (const e of fs.readdirSync(d, { withFileTypes: true })) {
        const full = path.join(d, e.name);
        if (e.isDirectory()) walk(full);
        else out[path.relative(dir, full)] = createHash("md5").update(fs.readFileSync(full)).digest("hex");
      }
    };
    if (fs.existsSync(dir)) walk(dir);
    return out;
  };
  const fingerprint = (dir: string) => JSON.stringify(Object.entries(tree(dir)).sort());
  const md5 = (file: string) => createHash("md5").update(fs.readFileSync(file)).digest("hex");
  /**
   * Every entry under dir (files, directories, symlinks, and dir itself), relative, with what
   * lstat(2) says of it: type, mode, size, inode, mtime and ctime to the ns, as one sorted string,
   * listed by GNU find (`-printf` with %P %y %m %s %i %T@ %C@: find(1), "-printf format"; it does
   * not follow symlinks by default). It reads no file's contents (node reading the ~10,000 prod
   * files at each check was ~3.5 s of the suite's CPU; find lists them in ~0.1 s): every write,
   * truncate, chmod, rename or link change of an inode sets its ctime to the current time
   * (inode(7), "Last status change timestamp"), a replaced file has a new inode, an added or removed
   * entry changes the list and its directory's times, so an equal state means nothing under dir
   * changed since it was taken (each is taken by a walk over all entries, longer than the clock
   * tick the kernel stamps times with). Stricter than comparing contents: rewriting a file with the
   * same bytes shows too.
   */
  const state = (dir: string): string =>
    execFileSync("find", [dir, "-printf", "%P %y %m %s %i %T@ %C@\\n"], { encoding: "utf8", maxBuffer: 1 << 28 })
      .split("\n")
      .filter((l) => l !== "")
      .sort()
      .join("\n");
  /** The files (not directories) under dir, relative, from state(dir). */
  const filesIn = (st: string) =>
    st
      .split("\n")
      .map((l) => l.split(" "))
      .filter(([name, type]) => name !== "" && type === "f")
      .map(([name]) => name);

  beforeAll(async () => {
    base = fs.mkdtempSync(path.join(testTmpRoot(), "twinstack-vaults-"));
    prodVault = path.join(base, "vault-1");
    devVault = path.join(base, "vault-dev");
    // The prod vault: an original and two variants for every source post, an avatar per user, and noise.
    for (const { id } of await q<{ id: string }>(srcUrl, "SELECT id::text AS id FROM posts")) {
      fs.mkdirSync(path.join(prodVault, shard(id)), { recursive: true });
      fs.writeFileSync(path.join(prodVault, shard(id), `${id}.png`), `png of post ${id}`);
      fs.writeFileSync(path.join(prodVault, shard(id), `${id}_upscaled.webp`), `upscaled post ${id}`);
      fs.writeFileSync(path.join(prodVault, shard(id), `${id}_thumb.webp`), `thumb of post ${id}`);
    }
    fs.mkdirSync(path.join(prodVault, "avatars"));
    for (const { id } of await q<{ id: string }>(srcUrl, "SELECT id::text AS id FROM users")) {
      fs.writeFileSync(path.join(prodVault, "avatars", `${id}.png`), `avatar ${id}`);
    }
    fs.writeFileSync(path.join(prodVault, "unrelated.txt"), "not owned by any row");
    // Three sampled posts lost their original in prod: counted as missing, skipped.
    missingOriginals = (await q<{ id: string }>(dstUrl, "SELECT id::text AS id FROM posts ORDER BY id LIMIT 3")).map((r) => r.id);
    for (const id of missingOriginals) fs.rmSync(path.join(prodVault, shard(id), `${id}.png`));
    prodBefore = state(prodVault);
    rules = parseConfig(FILES_YAML).files;
    first = await withClient(dstUrl, (c) => copyFollowingFiles(c, "public", rules, prodVault, devVault));
  }, 240_000); // ~10,000 small files written and ~1,000 copied: minutes on a loaded 2-core machine

  afterAll(() => {
    if (base) fs.rmSync(base, { recursive: true, force: true });
  });

  test("exactly the files of the sampled rows arrive, originals and variants, in the same layout", async () => {
    const posts = (await q<{ id: string }>(dstUrl, "SELECT id::text AS id FROM posts")).map((r) => r.id);
    const users = (await q<{ id: string }>(dstUrl, "SELECT id::text AS id FROM users")).map((r) => r.id);
    expect(posts.length).toBeGreaterThan(100);
    const want: Record<string, string> = {};
    // The prod files' contents: read only those the sampled rows own (the listing from lstat).
    const prodFiles = new Set(filesIn(state(prodVault)));
    const prod = (rel: string) => (prodFiles.has(rel) ? md5(path.join(prodVault, rel)) : undefined);
    for (const id of posts) {
      for (const name of [`${id}.png`, `${id}_upscaled.webp`, `${id}_thumb.webp`]) {
        const rel = `${shard(id)}/${name}`;
        const sum = prod(rel);
        if (sum) want[rel] = sum;
      }
    }
    for (const id of users) want[`avatars/${id}.png`] = prod(`avatars/${id}.png`)!;
    expect(tree(devVault)).toEqual(want);
    expect(Object.keys(want).length).toBe(posts.length * 3 - missingOriginals.length + users.length);
    expect(first).toMatchObject({ rows: posts.length + users.length, copied: Object.keys(want).length, missing: missingOriginals.length, refused: 0, unchanged: 0 });
    // Far fewer than the whole vault: the other 90% of users' files stayed behind.
    expect(Object.keys(want).length).toBeLessThan(prodFiles.size / 4);
    expect(fs.existsSync(path.join(devVault, "unrelated.txt"))).toBe(false);
    // Modification times are kept, so a second run can tell what is already there.
    const some = `${shard(posts[posts.length - 1])}/${posts[posts.length - 1]}_upscaled.webp`;
    expect(Math.abs(fs.statSync(path.join(devVault, some)).mtimeMs - fs.statSync(path.join(prodVault, some)).mtimeMs)).toBeLessThan(2);
  });

  test("the prod vault is unchanged; a second run copies nothing new", async () => {
    expect(state(prodVault)).toBe(prodBefore);
    const again = await withClient(dstUrl, (c) => copyFollowingFiles(c, "public", rules, prodVault, devVault));
    expect(again).toMatchObject({ copied: 0, unchanged: first.copied, missing: missingOriginals.length, refused: 0 });
  });

  test("refuses a --to that is, is inside, contains, or through a symlink resolves into the prod vault", async () => {
    const link = path.join(base, "looks-like-dev");
    fs.symlinkSync(path.join(prodVault, "avatars"), link);
    const attempts = [prodVault, path.join(prodVault, "dev"), `${prodVault}/avatars/../x`, base, link, path.join(link, "deeper"), path.join(base, "vault-prod")];
    await withClient(dstUrl, async (c) => {
      for (const to of attempts) {
        await expect(copyFollowingFiles(c, "public", rules, prodVault, to)).rejects.toThrow(/refusing to write into/);
      }
    });
    expect(state(prodVault)).toBe(prodBefore);
    expect(fs.existsSync(path.join(base, "vault-prod"))).toBe(false);
  });

  test("a symlink inside the dev vault that leads into the prod vault is not written through", async () => {
    const dev2 = path.join(base, "vault-dev2");
    fs.mkdirSync(dev2);
    fs.symlinkSync(path.join(prodVault, "avatars"), path.join(dev2, "avatars"));
    const r = await withClient(dstUrl, (c) =>
      copyFollowingFiles(
        c,
        "public",
        rules.filter((x) => x.table === "users"),
        prodVault,
        dev2,
      ),
    );
    expect(r.copied).toBe(0);
    expect(r.refused).toBe(r.rows);
    expect(r.refusedExamples[0]).toMatch(/resolves to .*outside/);
    expect(state(prodVault)).toBe(prodBefore);
  });

  test("row values that would leave the vault (.., absolute) are refused, the rest copied", async () => {
    const db = await pg.createDb("files_dev");
    await withClient(db, (c) =>
      c.query(`CREATE TABLE assets (id int PRIMARY KEY, path text);
               INSERT INTO assets VALUES (1, 'avatars/1.png'), (2, '../vault-1/avatars/2.png'), (3, '${path.join(prodVault, "avatars", "3.png")}'),
                                         (4, 'avatars/../../vault-1/unrelated.txt'), (5, NULL), (6, 'avatars/no-such.png')`),
    );
    const out = path.join(base, "assets-dev");
    const r = await withClient(db, (c) => copyFollowingFiles(c, "public", parseConfig('files: [{ table: assets, paths: ["{path}"] }]').files, prodVault, out));
    expect(r).toMatchObject({ rows: 6, copied: 1, refused: 3, nullPaths: 1, missing: 1 });
    expect(Object.keys(tree(out))).toEqual(["avatars/1.png"]);
    expect(r.refusedExamples.join("\n")).toMatch(/\.\. segment[\s\S]*absolute[\s\S]*\.\. segment/);
    // Nothing landed beside the vaults either.
    expect(fs.readdirSync(base).sort()).toEqual(["assets-dev", "looks-like-dev", "vault-1", "vault-dev", "vault-dev2"]);
  });

  test("CLI --files: summary with the missing count; a prod --db or a --to inside the vault exits 1", () => {
    const cfg = path.join(base, "sample.yaml");
    fs.writeFileSync(cfg, FILES_YAML);
    const cli = (args: string[]) =>
      spawnSync(process.execPath, [require("../../tools/build.js").compiled("tools/sample.ts"), ...args], { cwd: repo, encoding: "utf8", env: pg.env });
    const fresh = path.join(base, "vault-dev3");
    const ok = cli(["--files", prodVault, "--to", fresh, "--db", dstUrl, "--config", cfg]);
    expect(ok.stderr).toMatch(/sample: files: posts: \d+ row\(s\) read/);
    expect(ok.status).toBe(0);
    expect(ok.stdout).toMatch(new RegExp(`copied\\s+${first.copied}\\b`));
    expect(ok.stdout).toMatch(new RegExp(`missing\\s+${missingOriginals.length}\\b`));
    expect(ok.stdout + ok.stderr).not.toContain(pg.password);
    expect(fingerprint(fresh)).toBe(fingerprint(devVault));

    const prodDb = cli(["--files", prodVault, "--to", path.join(base, "x"), "--db", srcUrl, "--config", cfg]);
    expect(prodDb.status).toBe(1);
    expect(prodDb.stderr).toContain('refusing to read rows from database "makapix_prod"');
    const inside = cli(["--files", prodVault, "--to", path.join(prodVault, "dev"), "--db", dstUrl, "--config", cfg]);
    expect(inside.status).toBe(1);
    expect(inside.stderr).toMatch(/refusing to write into .*inside it/);
    expect(state(prodVault)).toBe(prodBefore);
  });
});
