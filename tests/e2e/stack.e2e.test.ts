// The program on a real Docker engine (issue 11's scenarios, in order, each building on the last):
//  1. dev up: the e2e dev stack (tests/e2e/stacks/Pulumi.dev.yaml) applied for real; its site
//     answers over HTTPS with the stack's own CA, asks for the generated password, says noindex;
//     the probe app reached its Postgres and Redis and got the env contract of the stack file;
//  2. backup and restore: a dump lands in the backup volume within the interval; rows the probe
//     inserted survive a drop and the README's restore command;
//  3. preview: preview-<branch> applied against the running dev (its StackReference answered by
//     dev's real outputs) and destroyed again, dev untouched;
//  4. destroy dev: nothing labelled with (or named after) the stack is left on the engine.
// Run with `npm run e2e` (tests/e2e/run.sh starts the private engine and builds the images); it
// prints the figures as `E2E_SUMMARY {json}`. The applier (tests/e2e/apply/) stands in for the
// Pulumi engine and provider plugins.
import * as crypto from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { SecretValue } from "../harness";
import { applyStack, destroyStack, readState } from "./apply/engine";
import { handlers } from "./apply";
import { REPO, docker, dockerHost, emptySummary, httpsGet, progress, until, writeSummary } from "./support";

const STACK_FILE = path.join(REPO, "tests", "e2e", "stacks", "Pulumi.dev.yaml");
const PROJECT_FILE = path.join(REPO, "Pulumi.yaml");
const DOMAIN = "dev.myapp.localhost";
const HTTPS_PORT = 8443;
const PREFIX = "myapp-dev";
const BACKUP_INTERVAL_SECONDS = 60;
const BRANCH = "e2e-check";
const PREVIEW_STACK = `preview-${BRANCH}`;
const PREVIEW_DB = "myapp_preview_e2e_check";
const ROWS = 50;

const summary = emptySummary();
const work = fs.mkdtempSync(path.join(os.tmpdir(), "twinstack-e2e-"));
const devFile = path.join(work, "Pulumi.dev.yaml");
const devState = path.join(work, "dev.state.json");
const previewState = path.join(work, "preview.state.json");
let ca = "";
let password = "";
let devApplied = false;
let engineBefore: Array<{ kind: string; name: string }> = [];

const reveal = (v: unknown) => (v instanceof SecretValue ? v.value : v);
const site = (p: string, withAuth = true, method = "GET") =>
  httpsGet({ host: DOMAIN, port: HTTPS_PORT, path: p, ca, method, auth: withAuth ? { user: "dev", password } : undefined });

async function psql(sql: string): Promise<string> {
  // Inside the dev Postgres container, over its local socket, as the database's own user
  // (POSTGRES_USER/POSTGRES_DB of the official image's interface, which the stand-in honours).
  const { stdout } = await docker(["exec", `${PREFIX}-postgres`, "sh", "-c", `psql -v ON_ERROR_STOP=1 -At -U "$POSTGRES_USER" -d "$POSTGRES_DB" -c "$1"`, "sh", sql]);
  return stdout.trim();
}

/** Dumps in the backup volume, as seen by the backup container: [{ file, mtime (s) }]. */
async function dumps(): Promise<Array<{ file: string; mtime: number }>> {
  const { stdout } = await docker(["exec", `${PREFIX}-backup`, "sh", "-c", `for f in /backups/${PREFIX}-*.dump; do [ -f "$f" ] && stat -c '%Y %n' "$f"; done; true`]);
  return stdout
    .split("\n")
    .filter(Boolean)
    .map((line) => ({ mtime: Number(line.split(" ")[0]), file: line.split(" ").slice(1).join(" ") }));
}

/** What identifies each dev container's running instance: any re-creation or restart changes it. */
async function devFingerprint(): Promise<string> {
  const { stdout: ids } = await docker(["ps", "-aq", "--filter", "label=twinstack.env=dev"]);
  const list = ids.split("\n").filter(Boolean).sort();
  const { stdout } = await docker(["inspect", "--format", "{{.Name}} {{.Id}} {{.Image}} {{.State.StartedAt}} {{.RestartCount}} {{.State.Status}}", ...list]);
  return stdout.split("\n").filter(Boolean).sort().join("\n");
}

/** Everything on the engine now: containers, volumes, networks, swarm secrets (kind + name). */
async function engineObjects(): Promise<Array<{ kind: string; name: string; labels: string }>> {
  const out: Array<{ kind: string; name: string; labels: string }> = [];
  const list = async (kind: string, args: string[]) => {
    const format = `${kind === "container" ? "{{.Names}}" : "{{.Name}}"}\t{{.Labels}}`;
    const { stdout } = await docker([...args, "--format", format]);
    for (const line of stdout.split("\n").filter(Boolean)) {
      const [name, labels] = line.split("\t");
      out.push({ kind, name, labels: labels ?? "" });
    }
  };
  await list("container", ["ps", "-a"]);
  await list("volume", ["volume", "ls"]);
  await list("network", ["network", "ls"]);
  // Secrets exist only on a swarm manager; this single-host engine is not one unless a stack made it so.
  if ((await docker(["info", "--format", "{{.Swarm.LocalNodeState}}"])).stdout.trim() === "active") await list("secret", ["secret", "ls"]);
  return out;
}

/**
 * What the dev stack left: objects labelled with the stack (twinstack.stack/env=dev) or named after
 * it, and anything else that was not on the engine before dev came up (e.g. anonymous volumes of
 * its containers), since nothing but the scenarios uses this private engine.
 */
async function leftOfDev(before: Array<{ kind: string; name: string }>): Promise<string[]> {
  const known = new Set(before.map((o) => `${o.kind} ${o.name}`));
  return (await engineObjects())
    .filter((o) => /twinstack\.(stack|env)=dev\b/.test(o.labels) || o.name.startsWith(`${PREFIX}-`) || !known.has(`${o.kind} ${o.name}`))
    .map((o) => `${o.kind} ${o.name}`);
}

beforeAll(() => {
  // The repository's e2e stack file, pointed at the private engine (its only host).
  const text = fs.readFileSync(STACK_FILE, "utf8");
  if (!text.includes("docker: unix:///var/run/docker.sock")) throw new Error(`${STACK_FILE}: expected hosts[0].docker unix:///var/run/docker.sock to point at the test engine`);
  fs.writeFileSync(devFile, text.replace("docker: unix:///var/run/docker.sock", `docker: ${dockerHost()}`));
  writeSummary(summary);
});

afterAll(async () => {
  writeSummary(summary);
  // Leave the engine as found even when a step failed (engine.sh stop removes the rest).
  // (A failed apply writes its state too: what it made is in there.)
  try {
    if (fs.existsSync(previewState) && readState(previewState).resources.length) await destroyStack({ stack: PREVIEW_STACK, stateFile: previewState, handlers });
    if (fs.existsSync(devState) && readState(devState).resources.length) await destroyStack({ stack: "dev", stateFile: devState, handlers });
  } catch (err) {
    progress(`cleanup after a failure: ${(err as Error).message}`);
  }
  fs.rmSync(work, { recursive: true, force: true });
});

describe("the dev stack on a real Docker engine", () => {
  test("1. dev up: HTTPS with the stack's CA, basic auth with the generated password, noindex, the app reached its Postgres and Redis, env of the stack file", async () => {
    engineBefore = await engineObjects();
    const started = Date.now();
    const result = await applyStack({ stack: "dev", configFile: devFile, projectFile: PROJECT_FILE, stateFile: devState, handlers, log: (l) => progress(`dev: ${l}`) });
    devApplied = true;
    ca = String(result.outputs.caCertificate);
    password = String((reveal(result.outputs.basicAuthPasswords) as Record<string, string>).dev);
    expect(result.outputs.basicAuthPasswords).toBeInstanceOf(SecretValue);
    expect(result.outputs.url).toBe(`https://${DOMAIN}:${HTTPS_PORT}/`);

    const ok = await until("the dev site to answer 200 with the generated password", 180_000, async () => {
      const answer = await site("/");
      return answer.status === 200 ? answer : undefined;
    });
    summary.secondsToHealthy = Math.round((Date.now() - started) / 100) / 10;
    const denied = await site("/", false);
    summary.auth401 = denied.status === 401;
    summary.auth200 = ok.status === 200 && ok.body.startsWith("probe");
    summary.noindex = [ok, denied].every((a) => String(a.headers["x-robots-tag"] ?? "").includes("noindex"));

    const rows = await site("/rows");
    summary.appDatabase = rows.status === 200 && typeof JSON.parse(rows.body).count === "number";
    const redis = await site("/redis");
    summary.appRedis = redis.status === 200 && JSON.parse(redis.body).ok === true;
    const env = JSON.parse((await site("/env")).body);
    progress(`dev: /env ${JSON.stringify(env)}`);
    const envOk = env.APP_ENV === "dev" && env.FEATURE_NEW_EDITOR === "true" && env.REDIS_PREFIX === "dev:";
    summary.devUp = summary.auth200 && envOk;
    writeSummary(summary);

    expect(denied.status).toBe(401);
    expect(ok.status).toBe(200);
    expect(summary.noindex).toBe(true);
    expect(summary.appDatabase).toBe(true);
    expect(summary.appRedis).toBe(true);
    expect(env).toMatchObject({ APP_ENV: "dev", FEATURE_NEW_EDITOR: "true", REDIS_PREFIX: "dev:" });
    // Secrets reach the app as names only (the probe never shows values).
    expect(env.names).toEqual(expect.arrayContaining(["DATABASE_URL", "SESSION_SECRET", "REDIS_URL", "LOG_LEVEL"]));
  });

  test("2. backup within its interval; rows survive a drop and the README's restore command", async () => {
    expect(devApplied).toBe(true);
    const { stdout: startedAt } = await docker(["inspect", "--format", "{{.State.StartedAt}}", `${PREFIX}-backup`]);
    const backupStart = Date.parse(startedAt.trim()) / 1000;
    const first = await until("the first dump", (BACKUP_INTERVAL_SECONDS + 60) * 1000, async () => ((await dumps()).length ? (await dumps())[0] : undefined), 2000);
    summary.backupWritten = first.mtime - backupStart <= BACKUP_INTERVAL_SECONDS;
    writeSummary(summary);
    expect(summary.backupWritten).toBe(true);

    const inserted = JSON.parse((await site("/rows?n=" + ROWS, true, "POST")).body);
    expect(inserted.inserted).toBe(ROWS);
    const before = Number(inserted.count);
    const insertedAt = Math.floor(Date.now() / 1000);
    // The next dump after the insert (the loop dumps every interval).
    const dump = await until("a dump taken after the insert", (2 * BACKUP_INTERVAL_SECONDS + 60) * 1000, async () => (await dumps()).find((d) => d.mtime > insertedAt), 2000);
    progress(`backup: ${dump.file}`);

    await psql("DROP TABLE probe_rows");
    expect(await psql("SELECT count(*) FROM pg_tables WHERE tablename = 'probe_rows'")).toBe("0");
    // README "Backups and restore": docker exec <app>-<env>-backup twinstack-restore.sh /backups/<file>
    await docker(["exec", `${PREFIX}-backup`, "twinstack-restore.sh", dump.file]);
    const after = Number(await psql("SELECT count(*) FROM probe_rows"));
    summary.restoreRowsLost = Math.max(0, before - after);
    writeSummary(summary);
    expect(summary.restoreRowsLost).toBe(0);
  });

  test("3. a preview on the running dev: its database on dev's Postgres and /preview/<slug>/ through dev's Caddy with auth; destroy removes them and leaves dev as it was", async () => {
    expect(devApplied).toBe(true);
    // What CI's preview workflow pushes: the app image tagged preview-<slug>.
    await docker(["tag", "twinstack-e2e/probe:1", `twinstack-e2e/probe:preview-${BRANCH}`]);
    const devBefore = await devFingerprint();
    const devStateBefore = crypto.createHash("sha256").update(fs.readFileSync(devState)).digest("hex");

    const preview = await applyStack({
      stack: PREVIEW_STACK,
      configFile: path.join(work, `Pulumi.${PREVIEW_STACK}.yaml`),
      projectFile: PROJECT_FILE,
      stateFile: previewState,
      handlers,
      stackStateFiles: { dev: devState },
      log: (l) => progress(`preview: ${l}`),
    });
    expect(preview.outputs.previewUrl).toBe(`https://${DOMAIN}:${HTTPS_PORT}/preview/${BRANCH}/`);
    const dbThere = (await psql(`SELECT count(*) FROM pg_database WHERE datname = '${PREVIEW_DB}'`)) === "1";
    const routed = await until("the preview route", 60_000, async () => {
      const a = await site(`/preview/${BRANCH}/`);
      return a.status === 200 ? a : undefined;
    });
    const routedDenied = await site(`/preview/${BRANCH}/`, false);
    summary.previewUp = dbThere && routed.body.startsWith("probe") && routedDenied.status === 401;
    writeSummary(summary);
    expect(dbThere).toBe(true);
    expect(routedDenied.status).toBe(401);

    await destroyStack({ stack: PREVIEW_STACK, stateFile: previewState, handlers, log: (l) => progress(`preview: ${l}`) });
    const dbGone = (await psql(`SELECT count(*) FROM pg_database WHERE datname = '${PREVIEW_DB}'`)) === "0";
    const containerGone = !(await docker(["ps", "-aq", "--filter", `name=^myapp-preview-${BRANCH}$`])).stdout.trim();
    const routeGone = (await site(`/preview/${BRANCH}/`)).status === 404;
    summary.previewRemoved = dbGone && containerGone && routeGone;
    const devAfter = await devFingerprint();
    const devStateAfter = crypto.createHash("sha256").update(fs.readFileSync(devState)).digest("hex");
    const devStill = (await site("/")).status === 200;
    summary.devUntouched = devStill && devAfter === devBefore && devStateAfter === devStateBefore;
    writeSummary(summary);
    expect({ dbGone, containerGone, routeGone }).toEqual({ dbGone: true, containerGone: true, routeGone: true });
    expect(devAfter).toBe(devBefore);
    expect(devStill).toBe(true);
  });

  test("4. destroy dev: no container, volume, network or secret of the stack is left", async () => {
    expect(devApplied).toBe(true);
    await destroyStack({ stack: "dev", stateFile: devState, handlers, log: (l) => progress(`dev: ${l}`) });
    const left = await leftOfDev(engineBefore);
    if (left.length) progress(`left after destroy: ${left.join(", ")}`);
    summary.leftAfterDestroy = left.length;
    writeSummary(summary);
    expect(left).toEqual([]);
  });
});
