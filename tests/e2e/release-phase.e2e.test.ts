// The release phase (`app.release`, issue 18 part 1) and a standalone release under load (issue 12
// scenario 7) on a real Docker engine, with tests/e2e/stacks/Pulumi.dev-release.yaml: the probe
// app's migration command (`probe.py migrate`) runs once per release in a one-shot container of the
// app image with the app's env (DATABASE_URL), before the new version is declared.
// - A release whose migration adds a column the new version needs (probe:3 is healthy only when
//   probe_rows.note exists): the migration runs first, the new version becomes healthy and
//   replaces the old one create-first, while a bounded load generator counts failed requests
//   through the proxy (E2E_SUMMARY standaloneReleaseFailedRequests, goal and assertion: 0).
// - A release whose migration fails (probe:migration-fails, on a table with rows): the apply fails
//   at the release task, the old version keeps serving and the database is as it was.
// Run with `npm run e2e -- tests/e2e/release-phase.e2e.test.ts`.
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { SecretValue } from "../harness";
import { ApplyError, applyStack, destroyStack, readState } from "./apply/engine";
import { handlers } from "./apply";
import { startLoad } from "./load";
import { REPO, docker, dockerHost, httpsGet, mergeSummary, progress, until } from "./support";

const STACK_FILE = path.join(REPO, "tests", "e2e", "stacks", "Pulumi.dev-release.yaml");
const PROJECT_FILE = path.join(REPO, "Pulumi.yaml");
const APP = "docker:index/container:Container";
const RELEASE = "command:local:Command";
const PREFIX = "myapp-dev";
const HOST = "dev.myapp.localhost";
const HTTPS_PORT = 18743; // proxy.httpsPort of the stack file

const work = fs.mkdtempSync(path.join(os.tmpdir(), "twinstack-e2e-release-phase-"));
const stateFile = path.join(work, "dev.state.json");
let ca = "";
let password = "";

/** The stack file on the test engine, with the app image `image`. */
function stackFile(image: string): string {
  const text = fs.readFileSync(STACK_FILE, "utf8");
  const file = path.join(work, "Pulumi.dev.yaml");
  const out = text.replace("docker: unix:///var/run/docker.sock", `docker: ${dockerHost()}`).replace("image: twinstack-e2e/probe:1", `image: ${image}`);
  if (!out.includes(`image: ${image}`) || !out.includes(dockerHost())) throw new Error(`${STACK_FILE}: app image or docker line not found`);
  fs.writeFileSync(file, out);
  return file;
}

const apply = (image: string) =>
  applyStack({ stack: "dev", configFile: stackFile(image), projectFile: PROJECT_FILE, stateFile, handlers, log: (l) => progress(`release-phase: ${l}`) });

const get = (p: string, method = "GET") => httpsGet({ host: HOST, port: HTTPS_PORT, path: p, ca, auth: { user: "dev", password }, method });

async function psql(sql: string): Promise<string> {
  const { stdout } = await docker(["exec", `${PREFIX}-postgres`, "sh", "-c", `psql -v ON_ERROR_STOP=1 -At -U "$POSTGRES_USER" -d "$POSTGRES_DB" -c "$1"`, "sh", sql]);
  return stdout.trim();
}

/** Every table.column:type of the app's database (schema public), and the recorded migrations. */
async function schema(): Promise<{ columns: string[]; migrations: string[] }> {
  const columns = (await psql("SELECT table_name || '.' || column_name || ':' || data_type FROM information_schema.columns WHERE table_schema = 'public' ORDER BY 1"))
    .split("\n")
    .filter(Boolean);
  const migrations = (await psql("SELECT id FROM probe_schema_migrations ORDER BY id")).split("\n").filter(Boolean);
  return { columns, migrations };
}

const appId = () => readState(stateFile).resources.find((e) => e.type === APP && e.name === `${PREFIX}-app`)?.id;
const leftovers = async (role: string) => (await docker(["ps", "-a", "--filter", `label=twinstack.role=${role}`, "--format", "{{.Names}}"])).stdout.split("\n").filter(Boolean);

afterAll(async () => {
  try {
    if (fs.existsSync(stateFile) && readState(stateFile).resources.length) await destroyStack({ stack: "dev", stateFile, handlers });
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
});

test("a migration the new version needs runs before it (under load); a failing migration stops the release and changes nothing", async () => {
  // Version 1 (needs no migration): the release task runs and records the migrations table only.
  const first = await apply("twinstack-e2e/probe:1");
  expect(first.log).toContain(`+ create ${RELEASE} ${PREFIX}-release-run`);
  ca = String(first.outputs.caCertificate);
  password = String(((first.outputs.basicAuthPasswords as SecretValue).value as Record<string, string>).dev);
  await until("dev to serve probe 1", 120_000, async () => ((await get("/")).body.startsWith("probe 1") ? true : undefined));
  expect((await get("/rows?n=3", "POST")).status).toBe(200);
  const v1 = await schema();
  expect(v1).toEqual({
    columns: [
      "probe_rows.created_at:timestamp with time zone",
      "probe_rows.id:bigint",
      "probe_schema_migrations.applied_at:timestamp with time zone",
      "probe_schema_migrations.id:text",
    ],
    migrations: [],
  });
  const appV1 = appId();

  // Version 3 needs probe_rows.note; its release adds it. Load runs through the proxy meanwhile:
  // quick requests, and 1 s requests back to back (one is in flight whenever the old version
  // stops), GET and POST: Caddy's transport (Go net/http) replays a GET whose reused connection
  // broke, never a POST, so only the POSTs show requests cut off by the old version's stop.
  const base = { host: HOST, port: HTTPS_PORT, ca, auth: { user: "dev", password }, maxRequests: 20_000, maxSeconds: 300 };
  const quick = startLoad({ ...base, path: "/", concurrency: 2, pauseMs: 20 });
  const slow = startLoad({ ...base, path: "/slow?ms=1000", concurrency: 1, pauseMs: 0, timeoutMs: 15_000 });
  const slowPost = startLoad({ ...base, path: "/slow?ms=1000", method: "POST", concurrency: 1, pauseMs: 0, timeoutMs: 15_000 });
  let figures;
  let slowFigures;
  let postFigures;
  let third;
  try {
    await new Promise((r) => setTimeout(r, 2000)); // some requests to version 1 first
    third = await apply("twinstack-e2e/probe:3");
    await new Promise((r) => setTimeout(r, 2000)); // and some to version 3 after
  } finally {
    figures = await quick.stop();
    slowFigures = await slow.stop();
    postFigures = await slowPost.stop();
  }
  progress(`release-phase: load during the release: quick ${JSON.stringify(figures)}; slow ${JSON.stringify(slowFigures)}; slow POST ${JSON.stringify(postFigures)}`);
  mergeSummary({ standaloneReleaseFailedRequests: figures.failed + slowFigures.failed + postFigures.failed });
  if (figures.failed + slowFigures.failed + postFigures.failed) {
    // What the proxy saw (Caddy logs a failed upstream round trip at level error).
    const { stdout, stderr } = await docker(["logs", "--since", "10m", `${PREFIX}-caddy`]);
    progress(
      `release-phase: proxy errors: ${(stdout + stderr)
        .split("\n")
        .filter((l) => /"level":"error"/.test(l))
        .join("\n")}`,
    );
  }
  const changes = third.log.filter((l) => /^(\+-|\+|~|-) /.test(l));
  // A new image is a new release key (triggers) and a new script (create names the image id).
  const releaseAt = changes.indexOf(`+- replace ${RELEASE} ${PREFIX}-release-run (create, triggers; create first)`);
  const appAt = changes.findIndex((l) => l.startsWith(`+- replace ${APP} ${PREFIX}-app (image; create first)`));
  expect(releaseAt).toBeGreaterThanOrEqual(0);
  expect(appAt).toBeGreaterThan(releaseAt);
  expect((await get("/")).body).toMatch(/^probe 3/);
  expect(JSON.parse((await get("/schema")).body)).toEqual({ schema: ["001_probe_rows", "002_probe_rows_note"], applied: ["001_probe_rows", "002_probe_rows_note"] });
  const v3 = await schema();
  expect(v3.columns).toEqual([...v1.columns.slice(0, 2), "probe_rows.note:text", ...v1.columns.slice(2)].sort());
  expect(v3.migrations).toEqual(["001_probe_rows", "002_probe_rows_note"]);
  const appV3 = appId();
  expect(appV3).not.toBe(appV1);
  // The load spanned the switch: version 1 answered first, version 3 last (while both run, both answer).
  expect(figures.end).toBe("stopped");
  expect([figures.sequence[0], figures.sequence[figures.sequence.length - 1]]).toEqual(["probe 1", "probe 3"]);
  expect(slowFigures.end).toBe("stopped");
  expect([slowFigures.sequence[0], slowFigures.sequence[slowFigures.sequence.length - 1]]).toEqual(["probe 1", "probe 3"]);
  expect(postFigures.end).toBe("stopped");
  expect([postFigures.sequence[0], postFigures.sequence[postFigures.sequence.length - 1]]).toEqual(["probe 1", "probe 3"]);
  // Goal 0. With the drain alone (destroyGraceSeconds) four runs here measured 1, 0, 2 and 1 failed
  // quick GETs: 502s "write/read: connection reset by peer" from the old container as it closed its
  // listener with connections still queued, the residual race of a DNS-based cutover. Caddy now
  // retries such a GET for up to 5 s (components/render/caddyfile.ts UPSTREAM_TRY_DURATION; the name
  // `app` is resolved again and the new version answers): four runs measured 0, 0, 0 and 0 (of 692, 656, 788 and 833 requests). The drain
  // is what keeps the 1 s GETs and POSTs whole (one is in flight whenever the old version stops; a
  // POST is never retried): before it, a POST in flight got a 502.
  expect({ quick: figures.failures, slow: slowFigures.failures, slowPost: postFigures.failures }).toEqual({ quick: {}, slow: {}, slowPost: {} });
  expect(figures.ok + slowFigures.ok + postFigures.ok).toBeGreaterThan(200);
  expect(await leftovers("release")).toEqual([]);

  // A release whose migration fails half-way (probe_rows has rows; SET NOT NULL fails after the
  // column and a table were created): the apply stops at the release, version 3 keeps serving.
  const rows = await psql("SELECT count(*) FROM probe_rows");
  const failed = await apply("twinstack-e2e/probe:migration-fails").then(
    () => undefined,
    (err) => err,
  );
  expect(failed).toBeInstanceOf(ApplyError);
  expect((failed as ApplyError).message).toMatch(new RegExp(`${PREFIX}-release-run.*exited with 1`, "s"));
  expect((failed as ApplyError).message).toMatch(/the new version was not deployed/);
  expect((failed as ApplyError).log).not.toContainEqual(expect.stringMatching(new RegExp(`^\\+- replace ${APP} ${PREFIX}-app`)));
  expect((await get("/")).body).toMatch(/^probe 3/);
  expect((await get("/healthz")).status).toBe(200);
  expect(appId()).toBe(appV3);
  expect((await leftovers("app")).length).toBe(1);
  expect(await leftovers("release")).toEqual([]);
  // The database is as it was: same columns (no probe_rows.tag), no probe_tags, same rows.
  expect(await schema()).toEqual(v3);
  expect(await psql("SELECT to_regclass('probe_tags') IS NULL")).toBe("t");
  expect(await psql("SELECT count(*) FROM probe_rows")).toBe(rows);

  await destroyStack({ stack: "dev", stateFile, handlers, log: (l) => progress(`release-phase: ${l}`) });
  expect(await leftovers("app")).toEqual([]);
});
