// Real consumers of the dedicated-Postgres extensions init script: shellcheck, and /bin/sh +
// psql against a real PostgreSQL with the environment the postgres image's entrypoint gives it.
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { Client } from "pg";
import { renderExtensionsInitScript } from "../../components/render/pgInit";
import { PgServer, startPgServer } from "../support/pgServer";
import { shellcheckText } from "./shellcheck";

let pg: PgServer;

beforeAll(async () => {
  pg = await startPgServer();
});
afterAll(async () => {
  await pg?.stop();
});

test("the rendered script passes shellcheck", async () => {
  expect(await shellcheckText("10-twinstack-extensions.sh", renderExtensionsInitScript(["vector", "uuid-ossp", "pg_trgm"]))).toEqual([]);
});

function runScript(script: string, db: string) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "twinstack-pginit-"));
  const file = path.join(dir, "init.sh");
  fs.writeFileSync(file, script, { mode: 0o755 });
  try {
    return spawnSync(file, [], {
      encoding: "utf8",
      env: { ...pg.env, POSTGRES_USER: pg.user, POSTGRES_DB: db, PGHOST: pg.host, PGPORT: String(pg.port), PGPASSWORD: pg.password },
    });
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

async function extensionsIn(db: string): Promise<string[]> {
  const client = new Client({ connectionString: pg.url(db) });
  await client.connect();
  try {
    const r = await client.query("SELECT extname FROM pg_extension WHERE extname <> 'plpgsql' ORDER BY extname");
    return r.rows.map((row) => row.extname as string);
  } finally {
    await client.end();
  }
}

test("creates the extensions (quoted names included), and is idempotent", async () => {
  await pg.createDb("gigi_dev");
  const script = renderExtensionsInitScript(["pg_trgm", "uuid-ossp", "citext"]);
  for (let i = 0; i < 2; i++) {
    const r = runScript(script, "gigi_dev");
    // The second run only notices "already exists, skipping".
    expect({ status: r.status, errors: r.stderr.split("\n").filter((l) => l && !l.startsWith("NOTICE:")) }).toEqual({ status: 0, errors: [] });
  }
  expect(await extensionsIn("gigi_dev")).toEqual(["citext", "pg_trgm", "uuid-ossp"]);
});

test("fails (non-zero) when the image does not ship an extension", async () => {
  await pg.createDb("gigi_other");
  const r = runScript(renderExtensionsInitScript(["pg_trgm", "no_such_extension_here", "citext"]), "gigi_other");
  expect(r.status).not.toBe(0);
  expect(r.stderr).toMatch(/no_such_extension_here/);
  // set -e: nothing after the failure ran.
  expect(await extensionsIn("gigi_other")).toEqual(["pg_trgm"]);
});
