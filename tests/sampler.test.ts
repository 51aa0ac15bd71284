// Pure parts of the prod-to-dev sampler: FK graph and insertion order, config validation,
// anonymization rules, and the guards against prod targets and leaked passwords.
import fc from "fast-check";
import * as fs from "fs";
import * as path from "path";
import { applyTransforms, compileTable, RandomSource, Row, sqlTransforms } from "../tools/sampler/anonymize";
import type { Catalog, Column, ForeignKey, Table } from "../tools/sampler/catalog";
import { parseConfig, resolvePlan } from "../tools/sampler/config";
import { insertionOrder, parentClosure, stronglyConnectedComponents } from "../tools/sampler/graph";
import { hasProdToken, parsePgUrl, redactUrl, sameDatabaseByUrl, scrub } from "../tools/sampler/safety";
import { checkTargetUrl } from "../tools/sampler/run";
import { formatSummary } from "../tools/sample";

function fk(table: string, columns: string[], refTable: string, refColumns = ["id"], extra: Partial<ForeignKey> = {}): ForeignKey {
  return { name: `${table}_${columns.join("_")}_fkey`, table, columns, refTable, refColumns, deferrable: false, nullable: false, ...extra };
}
const col = (name: string, type = "bigint", notNull = false, extra: Partial<Column> = {}): Column => ({ name, type, notNull, generated: false, identity: "", ...extra });
const tbl = (name: string, columns: Column[], primaryKey = ["id"]): Table => ({ name, columns, primaryKey });

/** The Makapix-like catalog the consumer test builds for real, as plain data. */
function makapixCatalog(): Catalog {
  return {
    schema: "public",
    externalForeignKeys: [],
    tables: [
      tbl("categories", [col("id", "integer", true), col("name", "text", true)]),
      tbl("users", [
        col("id", "bigint", true),
        col("handle", "text", true),
        col("email", "text", true),
        col("bio", "text"),
        col("invited_by"),
        col("featured_post_id"),
        col("created_at", "timestamp with time zone", true),
      ]),
      tbl("posts", [
        col("id", "bigint", true),
        col("user_id", "bigint", true),
        col("category_id", "integer"),
        col("title", "text", true),
        col("title_length", "integer", false, { generated: true }),
        col("body", "text"),
      ]),
      tbl("comments", [col("id", "bigint", true), col("post_id", "bigint", true), col("user_id", "bigint", true), col("parent_id"), col("body", "text", true)]),
      tbl("reactions", [col("post_id", "bigint", true), col("user_id", "bigint", true), col("emoji", "text", true)], ["post_id", "user_id", "emoji"]),
      tbl("follows", [col("user_id", "bigint", true), col("followee_id", "bigint", true)], ["user_id", "followee_id"]),
      tbl("follow_events", [col("id", "bigint", true, { identity: "a" }), col("user_id", "bigint", true), col("followee_id", "bigint", true)]),
      tbl("auth_tokens", [col("id", "bigint", true), col("user_id", "bigint", true), col("token", "text", true), col("expires_at", "timestamp with time zone", true)]),
    ],
    foreignKeys: [
      fk("users", ["invited_by"], "users", ["id"], { nullable: true }),
      fk("users", ["featured_post_id"], "posts", ["id"], { nullable: true, deferrable: true }),
      fk("posts", ["user_id"], "users"),
      fk("posts", ["category_id"], "categories", ["id"], { nullable: true }),
      fk("comments", ["post_id"], "posts"),
      fk("comments", ["user_id"], "users"),
      fk("comments", ["parent_id"], "comments", ["id"], { nullable: true }),
      fk("reactions", ["post_id"], "posts"),
      fk("reactions", ["user_id"], "users"),
      fk("follows", ["user_id"], "users"),
      fk("follows", ["followee_id"], "users"),
      fk("follow_events", ["user_id", "followee_id"], "follows", ["user_id", "followee_id"]),
      fk("auth_tokens", ["user_id"], "users"),
    ],
  };
}

const exampleYaml = fs.readFileSync(path.join(__dirname, "..", "tools", "sampler", "sample.example.yaml"), "utf8");

describe("FK graph", () => {
  test("strongly connected components come out parents first", () => {
    const comps = stronglyConnectedComponents(
      ["a", "b", "c", "d"],
      [
        { from: "b", to: "a" },
        { from: "c", to: "b" },
        { from: "b", to: "c" },
        { from: "d", to: "c" },
      ],
    );
    expect(comps).toEqual([["a"], ["b", "c"], ["d"]]);
  });

  test("insertion order of the Makapix schema: parents first, cycles broken at breakable FKs", () => {
    const c = makapixCatalog();
    const plan = insertionOrder(
      c.tables.map((t) => t.name),
      c.foreignKeys,
    );
    const pos = (t: string) => plan.order.indexOf(t);
    expect(plan.order).toHaveLength(c.tables.length);
    expect(pos("categories")).toBeLessThan(pos("posts"));
    // users <-> posts is a cycle: posts.user_id is NOT NULL and not deferrable, so users go first.
    expect(pos("users")).toBeLessThan(pos("posts"));
    expect(pos("posts")).toBeLessThan(pos("comments"));
    expect(pos("follows")).toBeLessThan(pos("follow_events"));
    expect(plan.cyclic.map((f) => f.name).sort()).toEqual(["comments_parent_id_fkey", "users_featured_post_id_fkey", "users_invited_by_fkey"]);
    expect(plan.cycles).toEqual(expect.arrayContaining([["posts", "users"], ["comments"]]));
  });

  test("a cycle with no breakable FK is reported as cyclic and unbreakable", () => {
    const plan = insertionOrder(["a", "b"], [fk("a", ["b_id"], "b"), fk("b", ["a_id"], "a")]);
    expect(plan.order).toEqual(["a", "b"]);
    expect(plan.cyclic.map((f) => f.name)).toEqual(["a_b_id_fkey"]);
  });

  test("property: every non-cyclic FK has its parent first; every cyclic FK lies inside a cycle", () => {
    const names = ["t0", "t1", "t2", "t3", "t4", "t5", "t6"];
    const edge = fc.record({
      from: fc.constantFrom(...names),
      to: fc.constantFrom(...names),
      deferrable: fc.boolean(),
      nullable: fc.boolean(),
    });
    fc.assert(
      fc.property(fc.array(edge, { maxLength: 14 }), (edges) => {
        const fks = edges.map((e, i) => ({ ...fk(e.from, [`c${i}`], e.to), name: `fk${i}`, deferrable: e.deferrable, nullable: e.nullable }));
        const plan = insertionOrder(names, fks);
        expect([...plan.order].sort()).toEqual(names);
        const pos = new Map(plan.order.map((t, i) => [t, i]));
        const cyclic = new Set(plan.cyclic);
        const comps = stronglyConnectedComponents(
          names,
          fks.map((f) => ({ from: f.table, to: f.refTable })),
        );
        const compOf = new Map(comps.flatMap((c, i) => c.map((t) => [t, i] as const)));
        for (const f of fks) {
          if (cyclic.has(f)) expect(compOf.get(f.table)).toBe(compOf.get(f.refTable));
          else expect(pos.get(f.refTable)!).toBeLessThan(pos.get(f.table)!);
        }
        // Unbreakable FKs are only cyclic when the unbreakable edges alone form a cycle.
        const hard = fks.filter((f) => !f.deferrable && !f.nullable);
        const hardComps = stronglyConnectedComponents(
          names,
          hard.map((f) => ({ from: f.table, to: f.refTable })),
        );
        const hardCyclic = new Set(hardComps.filter((c) => c.length > 1).flat());
        for (const f of plan.cyclic.filter((x) => !x.deferrable && !x.nullable)) {
          expect(f.table === f.refTable || (hardCyclic.has(f.table) && hardCyclic.has(f.refTable))).toBe(true);
        }
      }),
      { numRuns: 300 },
    );
  });

  test("a table outside a cycle of unbreakable FKs still comes after the parent its hard FK needs", () => {
    // fast-check found this: t3<->t4 is an unbreakable cycle, t0 -> t3 is unbreakable, t3 -> t0 nullable.
    const fks = [
      { ...fk("t4", ["a"], "t3"), name: "a", deferrable: false, nullable: false },
      { ...fk("t3", ["b"], "t4"), name: "b", deferrable: false, nullable: false },
      { ...fk("t0", ["c"], "t3"), name: "c", deferrable: false, nullable: false },
      { ...fk("t3", ["d"], "t0"), name: "d", deferrable: false, nullable: true },
    ];
    const plan = insertionOrder(["t0", "t3", "t4"], fks);
    expect(plan.order.indexOf("t3")).toBeLessThan(plan.order.indexOf("t0"));
    const cyclic = plan.cyclic.map((f) => f.name);
    expect(cyclic).toContain("d"); // the nullable FK is the one broken
    expect(cyclic).not.toContain("c");
    expect(cyclic.filter((n) => n === "a" || n === "b")).toHaveLength(1); // one edge of the hard cycle
  });

  test("parent closure follows references upward only", () => {
    const c = makapixCatalog();
    expect([...parentClosure(["follow_events"], c.foreignKeys)].sort()).toEqual(["categories", "follow_events", "follows", "posts", "users"]);
    expect([...parentClosure(["categories"], c.foreignKeys)]).toEqual(["categories"]);
  });
});

describe("config", () => {
  test("the example config is valid for the Makapix-like schema", () => {
    const config = parseConfig(exampleYaml);
    const plan = resolvePlan(config, makapixCatalog());
    expect(plan.root).toBe("users");
    expect(plan.percent).toBe(10);
    // Parents first, whatever the order in the file.
    expect(plan.follow.map((f) => f.table)).toEqual(["posts", "auth_tokens", "comments", "follows", "reactions"]);
    expect(plan.reachable.has("categories")).toBe(true);
    expect(plan.reachable.has("follow_events")).toBe(false);
  });

  test("CLI overrides win over the file", () => {
    const config = parseConfig("root: users\npercent: 10\nfollow: [comments]\nanonymize: { users.email: keep }");
    const plan = resolvePlan(config, makapixCatalog(), { root: "posts", percent: 5 });
    expect(plan.root).toBe("posts");
    expect(plan.percent).toBe(5);
  });

  test.each([
    ["unknown key", "roots: users", /roots/],
    ["percent out of range", "percent: 0", /percent/],
    ["bad identifier", "root: 'users; drop'", /identifier/],
    ["bad anonymize key", "anonymize: { email: null }", /table\.column/],
    ["bad follow", "follow: [{ table: posts, match: some }]", /match/],
    ["bad regex", "requireRules: ['(']", /regex/],
    ["not YAML", "follow: [", /invalid YAML/],
  ])("parseConfig rejects %s", (_name, yaml, message) => {
    expect(() => parseConfig(yaml, "sample.yaml")).toThrow(message);
  });

  test("resolvePlan lists every problem against the catalog at once", () => {
    const config = parseConfig(`
root: users
percent: 10
follow: [posts, nope, categories]
anonymize:
  users.email: null
  users.invited_by: "x"
  users.nothing: keep
  users.handle: "h{missing}"
  posts.title_length: "1"
  users.created_at: random
`);
    let message = "";
    try {
      resolvePlan(config, makapixCatalog());
    } catch (e) {
      message = (e as Error).message;
    }
    expect(message).toContain("follow: table nope does not exist");
    expect(message).toContain("follow: categories has no foreign key");
    expect(message).toContain("users.email: null for a NOT NULL column");
    expect(message).toContain("users.invited_by: a key or foreign-key column cannot be rewritten");
    expect(message).toContain("users.nothing: column nothing does not exist");
    expect(message).toContain("unknown column users.missing");
    expect(message).toContain("posts.title_length: a generated column cannot be rewritten");
    expect(message).toContain("random supports text");
  });

  test("sensitive-looking columns of copied tables need a rule; keep documents an exception", () => {
    const noRules = parseConfig("root: users\npercent: 10\nfollow: [auth_tokens]");
    expect(() => resolvePlan(noRules, makapixCatalog())).toThrow(/no anonymize rule: users\.email, auth_tokens\.token/);
    const kept = parseConfig("root: users\npercent: 10\nfollow: [auth_tokens]\nanonymize: { users.email: keep, auth_tokens.token: random }");
    expect(() => resolvePlan(kept, makapixCatalog())).not.toThrow();
    // Tables that can never be copied are not checked.
    const onlyCategories = parseConfig("root: categories\npercent: 10");
    expect(() => resolvePlan(onlyCategories, makapixCatalog())).not.toThrow();
  });

  test("follow via restricts the deciding FKs", () => {
    const config = parseConfig(`
root: users
percent: 10
follow: [posts, { table: comments, via: [post_id], match: any }]
anonymize: { users.email: keep }
`);
    const plan = resolvePlan(config, makapixCatalog());
    expect(plan.follow[1]).toEqual({ table: "comments", via: ["post_id"], match: "any" });
    const bad = parseConfig("root: users\npercent: 10\nfollow: [{ table: comments, via: [parent_id] }]\nanonymize: { users.email: keep }");
    expect(() => resolvePlan(bad, makapixCatalog())).toThrow(/comments has no foreign key on parent_id/);
  });
});

describe("anonymization", () => {
  const fixed: RandomSource = { hex: (n) => "ab".repeat(n), uuid: () => "00000000-0000-4000-8000-000000000000" };

  test("templates see source values, null and random replace, other columns stay", () => {
    const config = parseConfig(`
anonymize:
  users.email: "user{id}@dev.invalid"
  users.bio: null
  users.handle: keep
  users.created_at: "1970-01-01T00:00:00Z"
  auth_tokens.token: random
`);
    const c = makapixCatalog();
    const users = c.tables.find((t) => t.name === "users")!;
    const columns = ["id", "handle", "email", "bio", "created_at"];
    const t = compileTable(config, users, columns, fixed);
    expect(applyTransforms(["7", "artist7", "a@b.c", "my bio", "2024-01-01"], t)).toEqual(["7", "artist7", "user7@dev.invalid", null, "1970-01-01T00:00:00Z"]);
    // The rules the source can apply in its SELECT (null, templates); random stays in node.
    const inSql = sqlTransforms(config, users, columns);
    expect(Object.fromEntries([...inSql].map(([i, f]) => [columns[i], f((c) => `s."${c}"`)]))).toEqual({
      email: `concat(E'user', s."id", E'@dev.invalid')`,
      bio: "NULL",
      created_at: `concat(E'1970-01-01T00:00:00Z')`,
    });
    const quoted = parseConfig(`anonymize:\n  users.bio: "it's {handle} \\\\ 100%"\n`);
    expect(sqlTransforms(quoted, users, columns).get(3)!((c) => c)).toBe(`concat(E'it''s ', handle, E' \\\\ 100%')`);
    // The columns each rule reads (the copier decodes only these and the ones rules set).
    expect(Object.fromEntries([...t].map(([i, f]) => [columns[i], f.reads]))).toEqual({ email: [0], bio: [], created_at: [] });

    const tokens = c.tables.find((x) => x.name === "auth_tokens")!;
    const tt = compileTable(config, tokens, ["id", "user_id", "token"], fixed);
    expect(applyTransforms(["1", "7", "secret"], tt)).toEqual(["1", "7", "ab".repeat(24)]);
    expect(sqlTransforms(config, tokens, ["id", "user_id", "token"]).size).toBe(0);
  });

  test("random fits the column type", () => {
    const config = parseConfig("anonymize: { t.u: random, t.b: random, t.v: random }");
    const t = tbl("t", [col("id"), col("u", "uuid"), col("b", "bytea"), col("v", "character varying(10)")]);
    const out = applyTransforms(["1", "x", "y", "z"], compileTable(config, t, ["id", "u", "b", "v"], fixed));
    expect(out).toEqual(["1", "00000000-0000-4000-8000-000000000000", `\\x${"ab".repeat(24)}`, "ababababab"]);
    // The default source really is random.
    const a = applyTransforms(["1", "x", "y", "z"], compileTable(config, t, ["id", "u", "b", "v"]));
    const b = applyTransforms(["1", "x", "y", "z"], compileTable(config, t, ["id", "u", "b", "v"]));
    expect(a[1]).not.toBe(b[1]);
    expect(a[3]).toHaveLength(10);
  });
});

describe("safety", () => {
  test.each([
    ["gigi_prod", true],
    ["prod_lugh", true],
    ["makapix-prod", true],
    ["MAKAPIX_PROD", true],
    ["app_production", true],
    ["a-prod-b", true],
    ["prod", true],
    ["gigi_dev", false],
    ["product", false],
    ["produce_dev", false],
    ["preprod_x", false],
    ["reprod", false],
  ])("hasProdToken(%s) = %s", (name, expected) => {
    expect(hasProdToken(name)).toBe(expected);
  });

  test("URLs: redaction, parsing, same-database detection", () => {
    const url = "postgres://app:p%40ss@db.internal:6543/gigi_dev?sslmode=require";
    expect(redactUrl(url)).toBe("postgres://app:***@db.internal:6543/gigi_dev?sslmode=require");
    expect(redactUrl("not a url")).toBe("<unparseable url>");
    expect(parsePgUrl(url)).toEqual({ host: "db.internal", port: 6543, database: "gigi_dev", user: "app", password: "p@ss" });
    expect(parsePgUrl("postgresql://bob@h/").database).toBe("bob");
    expect(() => parsePgUrl("postgres//x:secretpw@h/db")).toThrow(/not a valid/);
    expect(() => parsePgUrl("mysql://x:secretpw@h/db")).toThrow(/expected a postgres/);
    try {
      parsePgUrl("::x:secretpw@h/db");
    } catch (e) {
      expect((e as Error).message).not.toContain("secretpw");
    }
    const a = parsePgUrl("postgres://u:p@localhost:5432/app_dev");
    expect(sameDatabaseByUrl(a, parsePgUrl("postgres://other:q@127.0.0.1/app_dev"))).toBe(true);
    expect(sameDatabaseByUrl(a, parsePgUrl("postgres://u:p@localhost:5433/app_dev"))).toBe(false);
    expect(sameDatabaseByUrl(a, parsePgUrl("postgres://u:p@localhost:5432/app_dev2"))).toBe(false);
    expect(scrub("failed for p@ss and p%40ss", ["p@ss"])).toBe("failed for *** and ***");
  });

  test("checkTargetUrl refuses prod targets and from == to", () => {
    const src = parsePgUrl("postgres://u:p@db/makapix_prod");
    expect(() => checkTargetUrl(src, parsePgUrl("postgres://u:p@db/gigi_prod"))).toThrow(/refusing to write into database "gigi_prod".*prod env token/);
    expect(() => checkTargetUrl(src, parsePgUrl("postgres://u:p@db/makapix-prod"))).toThrow(/prod env token/);
    expect(() => checkTargetUrl(parsePgUrl("postgres://u:p@db/a_dev"), parsePgUrl("postgres://v:q@db:5432/a_dev"))).toThrow(/into itself/);
    expect(() => checkTargetUrl(src, parsePgUrl("postgres://u:p@db/makapix_dev"))).not.toThrow();
  });

  test("the summary shows counts and redacted URLs only", () => {
    const text = formatSummary({
      seed: "42",
      root: "users",
      rootRows: 100,
      rootKeys: [],
      tables: [
        { table: "users", rows: 104 },
        { table: "posts", rows: 300 },
      ],
      totalRows: 404,
      warnings: ["w"],
      truncated: [],
      seconds: 0.5,
      dryRun: false,
      source: redactUrl("postgres://a:topsecret@h/x_prod"),
      target: redactUrl("postgres://a:topsecret@h/x_dev"),
    });
    expect(text).not.toContain("topsecret");
    expect(text).toMatch(/users\s+104/);
    expect(text).toMatch(/total\s+404/);
    expect(text).toContain("warning: w");
  });
});

describe("files that follow sampled rows", () => {
  const { expandTemplate, checkDestination, isWithin } = require("../tools/sampler/files") as typeof import("../tools/sampler/files");
  const sha = (s: string) => require("crypto").createHash("sha256").update(s).digest("hex") as string;

  test("templates: columns, slices of a digest (Makapix's sha256 shards), globs in the last segment", () => {
    const key = "a1b2c3d4-e5f6-7890-abcd-ef1234567890";
    const t = "{sha256(storage_key)[0:2]}/{sha256(storage_key)[2:4]}/{sha256(storage_key)[4:6]}/{storage_key}.png";
    const h = sha(key);
    expect(expandTemplate(t, { storage_key: key })).toEqual({ ok: true, path: `${h.slice(0, 2)}/${h.slice(2, 4)}/${h.slice(4, 6)}/${key}.png`, glob: undefined });
    expect(expandTemplate("{id}/{variant}.webp", { id: "7", variant: "upscaled" })).toEqual({ ok: true, path: "7/upscaled.webp", glob: undefined });
    expect(expandTemplate("{md5(id)[0:1]}/{id[0:1]}", { id: "42" })).toMatchObject({ ok: true, path: `${require("crypto").createHash("md5").update("42").digest("hex")[0]}/4` });
    const g = expandTemplate("art/{id}_*.webp", { id: "1.5" });
    expect(g.ok && g.path).toBe("art");
    expect(g.ok && g.glob!.test("1.5_upscaled.webp")).toBe(true);
    expect(g.ok && g.glob!.test("105_upscaled.webp")).toBe(false); // the row value is matched literally
    expect(g.ok && g.glob!.test("1.5_x.png")).toBe(false);
  });

  test.each([
    ["../etc/passwd", "a .. segment"],
    ["/etc/passwd", "absolute"],
    ["a/../../x", "a .. segment"],
    ["a\\..\\x", "backslash"],
    ["a//b", "empty segment"],
  ])("a row value %j that would leave the vault is refused (%s)", (value) => {
    expect(expandTemplate("{p}", { p: value })).toMatchObject({ ok: false, reason: "unsafe" });
    expect(expandTemplate("files/{p}", { p: value }).ok).toBe(false);
  });

  test("a NULL column means no file; a template value may hold a relative path", () => {
    expect(expandTemplate("{a}/{b}", { a: "x", b: null })).toEqual({ ok: false, reason: "null", detail: "b" });
    expect(expandTemplate("{p}", { p: "ab/cd/file.png" })).toMatchObject({ ok: true, path: "ab/cd/file.png" });
  });

  test.each([
    ["../up/{id}.png", /\.\. segment/],
    ["/mnt/vault-1/{id}.png", /absolute/],
    ["a/{id}/../{id}.png", /\.\. segment/],
    ["*/{id}.png", /\* outside its last segment/],
    ["{id}}.png", /placeholder/],
    ["{sha1(id)}.png", /placeholder/],
  ])("parseConfig refuses the path template %j", (template, message) => {
    expect(() => parseConfig(`files: [{ table: posts, paths: [${JSON.stringify(template)}] }]`, "sample.yaml")).toThrow(message);
  });

  test("resolvePlan checks files rules against the catalog and the sampled tables", () => {
    const config = parseConfig(`
root: users
percent: 10
follow: [posts]
anonymize: { users.email: keep }
files:
  - { table: posts, paths: ["{id}/{nope}.webp"] }
  - { table: auth_tokens, paths: ["{id}"] }
  - { table: ghosts, paths: ["{id}"] }
  - { table: users, paths: ["avatars/{id}.png"] }
`);
    let message = "";
    try {
      resolvePlan(config, makapixCatalog());
    } catch (e) {
      message = (e as Error).message;
    }
    expect(message).toContain("refers to unknown column nope");
    expect(message).toContain("files: table auth_tokens never receives rows");
    expect(message).toContain("files: table ghosts does not exist");
    expect(message).not.toContain("users");
  });

  test("destination checks by path: inside, equal to or around the source vault is refused", () => {
    const os = require("os") as typeof import("os");
    const base = fs.mkdtempSync(path.join(os.tmpdir(), "twinstack-files-unit-"));
    try {
      const vault = path.join(base, "vault-1");
      fs.mkdirSync(vault);
      expect(() => checkDestination(vault, vault)).toThrow(/refusing to write into .*inside it/);
      expect(() => checkDestination(vault, path.join(vault, "dev"))).toThrow(/inside it/);
      expect(() => checkDestination(vault, path.join(vault, "a", "..", "b"))).toThrow(/inside it/);
      expect(() => checkDestination(vault, base)).toThrow(/contains the source vault/);
      expect(() => checkDestination(vault, path.join(base, "makapix-prod-vault"))).toThrow(/prod env token/);
      expect(() => checkDestination(path.join(base, "nope"), path.join(base, "dev"))).toThrow(/no such directory/);
      expect(checkDestination(vault, path.join(base, "vault-dev")).to).toBe(path.join(fs.realpathSync(base), "vault-dev"));
      expect(isWithin("/a/bc", "/a/b")).toBe(false);
      expect(isWithin("/a/b/c", "/a/b")).toBe(true);
    } finally {
      fs.rmSync(base, { recursive: true, force: true });
    }
  });
});

test("examples/makapix/sample.yaml: the seed's sampling rules, and its files rule finds Makapix's vault path", () => {
  const { expandTemplate } = require("../tools/sampler/files") as typeof import("../tools/sampler/files");
  const config = parseConfig(fs.readFileSync(path.join(__dirname, "..", "examples", "makapix", "sample.yaml"), "utf8"), "sample.yaml");
  expect(config.root).toBe("users");
  expect(config.percent).toBe(10);
  expect(config.anonymize["users.email"]).toBe("user{id}@dev.makapix.local");
  expect(config.files).toHaveLength(1);
  // api/app/vault.py: sha256(str(storage_key)), three 2-character shard directories, then the key.
  const key = "a1b2c3d4-e5f6-7890-abcd-ef1234567890";
  const h = require("crypto").createHash("sha256").update(key).digest("hex") as string;
  const e = expandTemplate(config.files[0].paths[0], { storage_key: key });
  expect(e.ok && e.path).toBe(`${h.slice(0, 2)}/${h.slice(2, 4)}/${h.slice(4, 6)}`);
  expect(e.ok && [`${key}.png`, `${key}_upscaled.webp`, `${key}x.gif`, "b1b2c3d4.png"].map((n) => e.glob!.test(n))).toEqual([true, true, true, false]);
});

describe("COPY text format (the copier's stream codec)", () => {
  const { decodeCopyRow, encodeCopyRow, CopyLines } = require("../tools/sampler/copy") as typeof import("../tools/sampler/copy");

  test("escapes what PostgreSQL escapes; \\N is NULL, a literal backslash-N is not", () => {
    expect(encodeCopyRow(["a\tb", "line1\nline2\r", "back\\slash", null, "\\N", ""])).toBe("a\\tb\tline1\\nline2\\r\tback\\\\slash\t\\N\t\\\\N\t");
    expect(decodeCopyRow("a\\tb\tline1\\nline2\\r\tback\\\\slash\t\\N\t\\\\N\t")).toEqual(["a\tb", "line1\nline2\r", "back\\slash", null, "\\N", ""]);
    expect(decodeCopyRow("\\x41\\101\\b\\f\\v")).toEqual(["AA\b\f\v"]);
  });

  test("property: encode then decode gives the row back", () => {
    fc.assert(
      fc.property(fc.array(fc.option(fc.string({ unit: "grapheme" }), { nil: null }), { minLength: 1, maxLength: 6 }), (row) => {
        expect(decodeCopyRow(encodeCopyRow(row))).toEqual(row);
      }),
      { numRuns: 300 },
    );
  });

  test("the stream counts rows across chunk boundaries and rewrites whole rows only", async () => {
    const { Readable } = require("stream") as typeof import("stream");
    const collect = async (t: InstanceType<typeof CopyLines>, chunks: string[]) => {
      const out: string[] = [];
      await new Promise<void>((resolve, reject) => {
        Readable.from(chunks.map((c) => Buffer.from(c)))
          .pipe(t)
          .on("data", (d: Buffer | string) => out.push(d.toString()))
          .on("end", resolve)
          .on("error", reject);
      });
      return out.join("");
    };
    const data = ["1\tone\\tx\n2\tt", "wo\n3\t\\N", "\n"];
    const pass = new CopyLines();
    expect(await collect(pass, data)).toBe(data.join(""));
    expect(pass.rows).toBe(3);
    const upper = new CopyLines((row) => row.map((v) => (v === null ? "null" : v.toUpperCase())));
    expect(await collect(upper, data)).toBe("1\tONE\\tX\n2\tTWO\n3\tnull\n");
    expect(upper.rows).toBe(3);
    await expect(collect(new CopyLines((r) => r), ["1\tcut"])).rejects.toThrow(/ended inside a row/);
  });

  test("with the fields it reads, a rewrite sees only those, decoded, and the rest of each row passes as bytes", async () => {
    const { Readable } = require("stream") as typeof import("stream");
    const run = async (t: InstanceType<typeof CopyLines>, chunks: string[]) => {
      const out: Buffer[] = [];
      await new Promise<void>((resolve, reject) => {
        Readable.from(chunks.map((c) => Buffer.from(c)))
          .pipe(t)
          .on("data", (d: Buffer) => out.push(d))
          .on("end", resolve)
          .on("error", reject);
      });
      return Buffer.concat(out).toString();
    };
    const seen: Row[] = [];
    const emails = new CopyLines(
      (row) => {
        seen.push(row.slice());
        row[2] = `user${row[0]}@dev.invalid`;
        return row;
      },
      [2, 0],
    );
    // Escapes and multi-byte text in fields the rewrite does not read stay byte for byte.
    const data = ["7\tline\\none — é\ta@b.c\t\\N\n8\t", "x\\\\y\tq\\tr@s\t2024-01-01\n9\t\\N\t\\N\t\\N\n"];
    expect(await run(emails, data)).toBe("7\tline\\none — é\tuser7@dev.invalid\t\\N\n8\tx\\\\y\tuser8@dev.invalid\t2024-01-01\n9\t\\N\tuser9@dev.invalid\t\\N\n");
    expect(emails.rows).toBe(3);
    // Decoded values of the listed fields only (q<TAB>r@s), nothing at the others.
    expect(seen).toEqual([
      ["7", undefined, "a@b.c"],
      ["8", undefined, "q\tr@s"],
      ["9", undefined, null],
    ]);
    // A value the rewrite leaves alone keeps its COPY text; a changed one is escaped.
    const tabs = new CopyLines((row) => [row[0], row[1] === "x" ? "a\tb" : row[1]], [1]);
    expect(await run(tabs, ["1\tx\n2\ty\\\\z\n"])).toBe("1\ta\\tb\n2\ty\\\\z\n");
    await expect(run(new CopyLines((r) => r, [3]), ["1\t2\n"])).rejects.toThrow(/has 2 field\(s\), the rewrite reads field 4/);
  });
});
