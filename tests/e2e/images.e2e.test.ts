// The stand-in images (tests/e2e/images) honour the interface of the images they stand in for, as
// twinstack uses them, on the private engine of `npm run e2e` (tests/e2e/run.sh starts it and
// builds the images). Each check runs the image the way the program does: env, uploads before
// start, health-check commands, the backup job's scripts, `caddy reload` by the preview scripts.
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as http from "http";
import * as path from "path";
import { PassThrough } from "stream";
import Docker from "dockerode";
import { Client } from "pg";
import * as tar from "tar-stream";
import { renderExtensionsInitScript } from "../../components/render/pgInit";

const REPO = path.resolve(__dirname, "..", "..");
const IMAGES = {
  postgres: "twinstack-e2e/postgres:15",
  redis: "twinstack-e2e/redis:7",
  caddy: "twinstack-e2e/caddy:2",
  probe1: "twinstack-e2e/probe:1",
  probe2: "twinstack-e2e/probe:2",
  probeBad: "twinstack-e2e/probe:bad",
};
// Unique per run, so a failed run's leftovers never collide with the next one.
const RUN = `imgtest${process.pid}`;
const NET = `${RUN}-net`;
const DB = "myapp_dev";
const DB_PASSWORD = `pw${RUN}Secret0123456789`;
const SESSION_SECRET = `session-${RUN}-do-not-leak`;
const PGDATA = "/var/lib/postgresql/data/pgdata"; // what components/postgresDatabase.ts sets

let docker: Docker;
const created: Docker.Container[] = [];
const volumes: string[] = [];

function engine(): Docker {
  const host = process.env.DOCKER_HOST;
  if (!host?.startsWith("unix://")) {
    throw new Error("DOCKER_HOST is not a unix socket: run this with `npm run e2e` (tests/e2e/run.sh starts the private engine)");
  }
  return new Docker({ socketPath: host.slice("unix://".length) });
}

interface FileEntry {
  name: string;
  /** Absent: a directory. */
  content?: string;
  mode?: number;
}

function tarOf(files: FileEntry[]): Promise<Buffer> {
  const pack = tar.pack();
  for (const f of files) {
    if (f.content === undefined) pack.entry({ name: f.name, type: "directory", mode: f.mode ?? 0o755 });
    else pack.entry({ name: f.name, mode: f.mode ?? 0o644 }, f.content);
  }
  pack.finalize();
  const chunks: Buffer[] = [];
  return new Promise((resolve, reject) => {
    pack.on("data", (c: unknown) => chunks.push(c as Buffer));
    pack.on("end", () => resolve(Buffer.concat(chunks)));
    pack.on("error", reject);
  });
}

/** Creates (not starts) a container on the test network; files are uploaded before start, as the docker provider's `uploads` are. */
async function create(
  name: string,
  opts: Docker.ContainerCreateOptions & { aliases?: string[]; files?: { dir: string; entries: FileEntry[] }[]; publish?: number },
): Promise<Docker.Container> {
  const { aliases, files, publish, ...rest } = opts;
  const c = await docker.createContainer({
    name: `${RUN}-${name}`,
    ...rest,
    ExposedPorts: publish ? { [`${publish}/tcp`]: {} } : undefined,
    HostConfig: {
      ...(rest.HostConfig ?? {}),
      NetworkMode: NET,
      // HostPort "" lets the engine pick a free port on 127.0.0.1.
      PortBindings: publish ? { [`${publish}/tcp`]: [{ HostIp: "127.0.0.1", HostPort: "" }] } : undefined,
    },
    NetworkingConfig: { EndpointsConfig: { [NET]: { Aliases: aliases ?? [] } } },
  });
  created.push(c);
  for (const f of files ?? []) await c.putArchive(await tarOf(f.entries), { path: f.dir });
  return c;
}

async function hostPort(c: Docker.Container, port: number): Promise<number> {
  const info = await c.inspect();
  const binding = info.NetworkSettings.Ports[`${port}/tcp`]?.[0];
  if (!binding) throw new Error(`${info.Name}: port ${port} is not published`);
  return Number(binding.HostPort);
}

async function exec(c: Docker.Container, cmd: string[], user?: string): Promise<{ code: number; out: string }> {
  const e = await c.exec({ Cmd: cmd, AttachStdout: true, AttachStderr: true, User: user });
  const stream = await e.start({ hijack: true, stdin: false });
  const sink = new PassThrough();
  const chunks: Buffer[] = [];
  sink.on("data", (d: Buffer) => chunks.push(d));
  docker.modem.demuxStream(stream, sink, sink);
  await new Promise((r) => stream.on("end", r));
  const info = await e.inspect();
  return { code: info.ExitCode ?? -1, out: Buffer.concat(chunks).toString("utf8") };
}

async function logs(c: Docker.Container): Promise<string> {
  const buf = (await c.logs({ stdout: true, stderr: true, follow: false })) as unknown as Buffer;
  // Non-TTY logs are multiplexed: 8-byte frame headers before each chunk.
  const out: Buffer[] = [];
  for (let i = 0; i + 8 <= buf.length;) {
    const len = buf.readUInt32BE(i + 4);
    out.push(buf.subarray(i + 8, i + 8 + len));
    i += 8 + len;
  }
  return Buffer.concat(out).toString("utf8");
}

async function until<T>(what: string, fn: () => Promise<T | undefined>, timeoutMs = 90_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v !== undefined) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ""}`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

function get(port: number, urlPath: string, method = "GET"): Promise<{ status: number; body: string; headers: http.IncomingHttpHeaders }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: "127.0.0.1", port, path: urlPath, method, agent: false, timeout: 10_000 }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (d: Buffer) => chunks.push(d));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString("utf8"), headers: res.headers }));
    });
    req.on("timeout", () => req.destroy(new Error(`GET ${urlPath}: timeout`)));
    req.on("error", reject);
    req.end();
  });
}

async function healthStatus(c: Docker.Container): Promise<string | undefined> {
  return (await c.inspect()).State.Health?.Status;
}

/** The env twinstack gives an app container (components/instanceStack.ts), with known secrets to look for. */
const appEnv = (port: number) => [
  "APP_ENV=dev",
  `PORT=${port}`,
  "REDIS_URL=redis://redis:6379",
  "REDIS_PREFIX=myapp:dev:",
  "FEATURE_NEW_EDITOR=true",
  "FEATURE_DARK_MODE=false",
  "LOG_LEVEL=debug",
  `DATABASE_URL=postgres://${DB}:${DB_PASSWORD}@postgres:5432/${DB}?sslmode=disable`,
  `SESSION_SECRET=${SESSION_SECRET}`,
];

let pg: Docker.Container;
let pgPort: number;
let redis: Docker.Container;

// What components/render/pgInit.ts ships (scripts/pg-extensions.sh): psql as $POSTGRES_USER into $POSTGRES_DB.
const INIT_SH = renderExtensionsInitScript(["uuid-ossp"]);
const INIT_SQL = "CREATE TABLE init_runs (at timestamptz DEFAULT now()); INSERT INTO init_runs DEFAULT VALUES;\n";

beforeAll(async () => {
  docker = engine();
  for (const image of Object.values(IMAGES)) {
    await docker
      .getImage(image)
      .inspect()
      .catch(() => {
        throw new Error(`image ${image} is missing on the engine: tests/e2e/images/build.sh builds it (npm run e2e runs it first)`);
      });
  }
  await docker.createNetwork({ Name: NET, Driver: "bridge" });

  const pgVolume = `${RUN}-pgdata`;
  volumes.push(pgVolume);
  pg = await create("postgres", {
    Image: IMAGES.postgres,
    Env: [`POSTGRES_USER=${DB}`, `POSTGRES_DB=${DB}`, `PGDATA=${PGDATA}`, `POSTGRES_PASSWORD=${DB_PASSWORD}`],
    HostConfig: { Mounts: [{ Type: "volume", Source: pgVolume, Target: "/var/lib/postgresql/data" }] },
    // The health check twinstack declares (components/postgresDatabase.ts): over TCP.
    Healthcheck: { Test: ["CMD", "pg_isready", "-h", "127.0.0.1", "-U", DB, "-d", DB], Interval: 1e9, Timeout: 5e9, Retries: 60 },
    aliases: ["postgres"],
    publish: 5432,
    files: [
      {
        dir: "/docker-entrypoint-initdb.d",
        entries: [
          { name: "10-twinstack-extensions.sh", content: INIT_SH, mode: 0o755 },
          { name: "20-marker.sql", content: INIT_SQL },
        ],
      },
    ],
  });
  const redisVolume = `${RUN}-redis`;
  volumes.push(redisVolume);
  redis = await create("redis", {
    Image: IMAGES.redis,
    Cmd: ["redis-server", "--appendonly", "yes"], // components/instanceStack.ts
    HostConfig: { Mounts: [{ Type: "volume", Source: redisVolume, Target: "/data" }] },
    Healthcheck: { Test: ["CMD", "redis-cli", "ping"], Interval: 1e9, Timeout: 5e9, Retries: 60 },
    aliases: ["redis"],
  });
  await pg.start();
  await redis.start();
  await until("postgres healthy", async () => ((await healthStatus(pg)) === "healthy" ? true : undefined), 180_000);
  await until("redis healthy", async () => ((await healthStatus(redis)) === "healthy" ? true : undefined));
  pgPort = await hostPort(pg, 5432);
}, 300_000);

afterAll(async () => {
  for (const c of created.reverse()) await c.remove({ force: true, v: true }).catch(() => undefined);
  for (const v of volumes)
    await docker
      .getVolume(v)
      .remove()
      .catch(() => undefined);
  await docker
    .getNetwork(NET)
    .remove()
    .catch(() => undefined);
}, 120_000);

async function sql<T = Record<string, unknown>>(query: string, password = DB_PASSWORD): Promise<T[]> {
  const client = new Client({ host: "127.0.0.1", port: pgPort, user: DB, password, database: DB, connectionTimeoutMillis: 5000 });
  await client.connect();
  try {
    return (await client.query(query)).rows as T[];
  } finally {
    await client.end();
  }
}

describe("postgres stand-in (official postgres image interface)", () => {
  test("POSTGRES_USER/PASSWORD/DB make a superuser and its database; PGDATA is the subdirectory; UTF8", async () => {
    const [row] = await sql<{ who: string; db: string; sup: boolean; enc: string; dir: string; version: string }>(
      "SELECT current_user AS who, current_database() AS db, (SELECT rolsuper FROM pg_roles WHERE rolname = current_user) AS sup, " +
        "pg_encoding_to_char((SELECT encoding FROM pg_database WHERE datname = current_database())) AS enc, " +
        "current_setting('data_directory') AS dir, current_setting('server_version_num') AS version",
    );
    expect(row).toEqual({ who: DB, db: DB, sup: true, enc: "UTF8", dir: PGDATA, version: expect.stringMatching(/^15\d{4}$/) });
  });

  test("remote connections need the password, checked with scram-sha-256", async () => {
    await expect(sql("SELECT 1", "wrong-password")).rejects.toThrow(/password authentication failed/);
    const [row] = await sql<{ hash: string }>(`SELECT left(rolpassword, 14) AS hash FROM pg_authid WHERE rolname = '${DB}'`);
    expect(row.hash).toBe("SCRAM-SHA-256$");
    const hba = await exec(pg, ["sh", "-c", `grep -v '^#' "$PGDATA/pg_hba.conf" | grep '^host' | tail -n 1`]);
    expect(hba.out.trim().split(/\s+/)).toEqual(["host", "all", "all", "all", "scram-sha-256"]);
  });

  test("/docker-entrypoint-initdb.d scripts (executable *.sh, *.sql) ran once, and not again on restart", async () => {
    expect(await sql("SELECT extname FROM pg_extension WHERE extname = 'uuid-ossp'")).toEqual([{ extname: "uuid-ossp" }]);
    await pg.restart({ t: 30 });
    await until("postgres healthy after restart", async () => ((await healthStatus(pg)) === "healthy" ? true : undefined), 120_000);
    pgPort = await hostPort(pg, 5432);
    expect(await sql("SELECT count(*)::int AS n FROM init_runs")).toEqual([{ n: 1 }]);
    expect(await logs(pg)).toMatch(/appears to contain a database; skipping initialization/);
  });

  test("the server runs as user postgres (after starting as root), listening on every address at 5432", async () => {
    const uid = await exec(pg, ["sh", "-c", "awk '/^Uid:/ { print $2 }' /proc/1/status; id -u postgres; id -u"]);
    const [pid1, postgresUid, execUid] = uid.out.trim().split("\n");
    expect(pid1).toBe(postgresUid);
    expect(execUid).toBe("0"); // the image's user is root, as in the official image
    const conf = await exec(pg, [
      "sh",
      "-c",
      'psql -U "$POSTGRES_USER" -d "$POSTGRES_DB" -Atc \'SHOW listen_addresses\' && psql -U "$POSTGRES_USER" -d "$POSTGRES_DB" -Atc \'SHOW port\'',
    ]);
    expect(conf.out.trim().split("\n")).toEqual(["*", "5432"]);
    const ready = await exec(pg, ["pg_isready", "-h", "127.0.0.1", "-U", DB, "-d", DB]);
    expect(ready).toEqual({ code: 0, out: expect.stringContaining("accepting connections") });
  });

  test("the backup job's scripts (scripts/backup.sh, restore.sh) run on this image against the server", async () => {
    await sql("CREATE TABLE IF NOT EXISTS keep_me (n int); INSERT INTO keep_me SELECT generate_series(1, 25)");
    const read = (f: string) => fs.readFileSync(path.join(REPO, "scripts", f), "utf8");
    const backupVolume = `${RUN}-backups`;
    volumes.push(backupVolume);
    const run = async (name: string, script: string, extraEnv: string[]): Promise<{ code: number; log: string }> => {
      // As components/backupJob.ts runs it: entrypoint /bin/sh, scripts uploaded, PG* env.
      const c = await create(name, {
        Image: IMAGES.postgres,
        Entrypoint: ["/bin/sh"],
        Cmd: ["-c", script],
        Env: [
          "PGHOST=postgres",
          "PGPORT=5432",
          `PGUSER=${DB}`,
          `PGDATABASE=${DB}`,
          `PGPASSWORD=${DB_PASSWORD}`,
          "BACKUP_DIR=/backups",
          "BACKUP_KEEP=3",
          `BACKUP_PREFIX=${DB}`,
          ...extraEnv,
        ],
        HostConfig: { Mounts: [{ Type: "volume", Source: backupVolume, Target: "/backups" }] },
        files: [
          {
            dir: "/usr/local/bin",
            entries: [
              { name: "twinstack-backup.sh", content: read("backup.sh"), mode: 0o755 },
              { name: "twinstack-restore.sh", content: read("restore.sh"), mode: 0o755 },
            ],
          },
        ],
      });
      await c.start();
      const { StatusCode } = await c.wait();
      return { code: StatusCode, log: await logs(c) };
    };
    const backup = await run("backup", "/usr/local/bin/twinstack-backup.sh && ls /backups", []);
    expect(backup).toEqual({ code: 0, log: expect.stringMatching(new RegExp(`${DB}-\\d{8}T\\d{6}Z\\.dump`)) });
    await sql("DROP TABLE keep_me");
    const restore = await run("restore", "/usr/local/bin/twinstack-restore.sh /backups/*.dump", []);
    expect(restore).toEqual({ code: 0, log: expect.stringContaining("complete") });
    expect(await sql("SELECT count(*)::int AS n FROM keep_me")).toEqual([{ n: 25 }]);
  });
});

describe("redis stand-in (official redis image interface)", () => {
  test("`redis-server --appendonly yes` persists in /data as user redis; redis-cli ping answers; other containers connect", async () => {
    expect(await exec(redis, ["redis-cli", "ping"])).toEqual({ code: 0, out: "PONG\n" });
    const files = await exec(redis, ["sh", "-c", "stat -c '%U %n' /data/appendonlydir; awk '/^Uid:/ { print $2 }' /proc/1/status; id -u redis"]);
    const [owner, pid1, redisUid] = files.out.trim().split("\n");
    expect(owner).toBe("redis /data/appendonlydir");
    expect(pid1).toBe(redisUid);
    // Protected mode is off (as in the official build): a PING from another container on the network works.
    const client = await create("redis-client", { Image: IMAGES.redis, Cmd: ["redis-cli", "-h", "redis", "ping"] });
    await client.start();
    expect((await client.wait()).StatusCode).toBe(0);
    expect((await logs(client)).trim()).toBe("PONG");
  });
});

describe("probe app", () => {
  // The app health check twinstack declares (components/instanceStack.ts), run inside the container.
  const healthCmd = (port: number) => ["CMD-SHELL", `wget -q -O /dev/null http://127.0.0.1:${port}/healthz || curl -fsS -o /dev/null http://127.0.0.1:${port}/healthz`];
  let app: Docker.Container;
  let port: number;

  beforeAll(async () => {
    app = await create("app", { Image: IMAGES.probe1, Env: appEnv(3000), Healthcheck: { Test: healthCmd(3000), Interval: 1e9, Timeout: 5e9, Retries: 60 }, publish: 3000 });
    await app.start();
    await until("app healthy", async () => ((await healthStatus(app)) === "healthy" ? true : undefined));
    port = await hostPort(app, 3000);
  }, 120_000);

  test("/healthz is 200 when the database and Redis work; the declared health check passes", async () => {
    expect(await get(port, "/healthz")).toMatchObject({ status: 200, body: "ok\n" });
    expect(await healthStatus(app)).toBe("healthy");
  });

  test("/env shows the contract: APP_ENV, REDIS_PREFIX, PORT, FEATURE_* values and only the names of everything else", async () => {
    const r = await get(port, "/env");
    expect(r.status).toBe(200);
    const env = JSON.parse(r.body);
    expect(env).toMatchObject({ APP_ENV: "dev", PORT: "3000", REDIS_PREFIX: "myapp:dev:", FEATURE_NEW_EDITOR: "true", FEATURE_DARK_MODE: "false", APP_VERSION: null });
    expect(env.names).toEqual(expect.arrayContaining(["DATABASE_URL", "SESSION_SECRET", "LOG_LEVEL", "REDIS_URL"]));
    expect(env.names).toEqual([...env.names].sort());
    expect(r.body).not.toContain(DB_PASSWORD);
    expect(r.body).not.toContain(SESSION_SECRET);
    expect(r.body).not.toContain("debug"); // LOG_LEVEL's value: not a FEATURE_*, so only its name
  });

  test("/, /version, /rows and /redis", async () => {
    expect(await get(port, "/")).toMatchObject({ status: 200, body: "probe 1\n" });
    expect(await get(port, "/version")).toMatchObject({ status: 200, body: "1\n" });
    const before = JSON.parse((await get(port, "/rows")).body).count;
    expect(await get(port, "/rows?n=7", "POST")).toMatchObject({ status: 200 });
    expect(JSON.parse((await get(port, "/rows")).body)).toEqual({ count: before + 7 });
    expect(JSON.parse((await get(port, "/redis")).body)).toEqual({ key: "myapp:dev:probe", ok: true });
    expect(await exec(redis, ["redis-cli", "exists", "myapp:dev:probe"])).toEqual({ code: 0, out: "1\n" });
    expect(await logs(app)).toMatch(/"GET \/redis" 200/);
  });

  test("/healthz is 503 naming the database while Postgres is down, 200 again after", async () => {
    await pg.stop({ t: 30 });
    try {
      const r = await get(port, "/healthz");
      expect(r.status).toBe(503);
      expect(r.body).toMatch(/^unhealthy: database: /);
      expect(r.body).not.toMatch(/redis:/);
      expect(r.body).not.toContain(DB_PASSWORD);
    } finally {
      await pg.start();
    }
    await until("app healthy with the database back", async () => ((await get(port, "/healthz")).status === 200 ? true : undefined), 120_000);
  });

  test("APP_VERSION wins on /; build :2 reports version 2; build :bad never becomes healthy", async () => {
    const v2 = await create("app-v2", { Image: IMAGES.probe2, Env: [...appEnv(8080), "APP_VERSION=2.0.0-rc1"], publish: 8080 });
    const bad = await create("app-bad", {
      Image: IMAGES.probeBad,
      Env: appEnv(8080),
      Healthcheck: { Test: healthCmd(8080), Interval: 1e9, Timeout: 5e9, Retries: 3 },
      publish: 8080,
    });
    await v2.start();
    await bad.start();
    const p2 = await hostPort(v2, 8080);
    const pb = await hostPort(bad, 8080);
    expect(await until("v2 answers", async () => get(p2, "/version"))).toMatchObject({ status: 200, body: "2\n" });
    expect(await get(p2, "/")).toMatchObject({ body: "probe 2.0.0-rc1\n" });
    expect(await until("bad answers", async () => get(pb, "/healthz"))).toMatchObject({ status: 503, body: expect.stringMatching(/never passes/) });
    expect(await until("bad unhealthy", async () => ((await healthStatus(bad)) === "unhealthy" ? true : undefined), 60_000)).toBe(true);
  });

  test("docker stop (SIGTERM) ends the probe cleanly: exit code 0, not a SIGKILL after the timeout", async () => {
    await app.stop({ t: 20 });
    const state = (await app.inspect()).State;
    expect({ exit: state.ExitCode, oom: state.OOMKilled }).toEqual({ exit: 0, oom: false });
    expect(await logs(app)).toMatch(/signal 15: stopping/);
  });
});

describe("caddy stand-in (official caddy image interface)", () => {
  test("serves its default /etc/caddy/Caddyfile; caddy version, wget and XDG dirs are there", async () => {
    const c = await create("caddy-default", { Image: IMAGES.caddy, publish: 80 });
    await c.start();
    const port = await hostPort(c, 80);
    expect(await until("default site", async () => get(port, "/"))).toMatchObject({ status: 200, body: expect.stringContaining("twinstack-e2e caddy") });
    const info = await exec(c, ["sh", "-c", 'caddy version >/dev/null && command -v wget && echo "$XDG_CONFIG_HOME $XDG_DATA_HOME" && pwd']);
    expect(info).toEqual({ code: 0, out: "/usr/bin/wget\n/config /data\n/srv\n" });
  });

  test("an uploaded Caddyfile proxies to the probe; a snippet in the previews dir is live after `caddy reload`", async () => {
    const upstream = await create("upstream", { Image: IMAGES.probe2, Env: appEnv(8080), aliases: ["app"] });
    await upstream.start();
    const caddyfile = [":80 {", "\theader X-Robots-Tag noindex", "\timport /etc/caddy/previews/*.caddy", "\treverse_proxy app:8080", "}", ""].join("\n");
    const c = await create("caddy", {
      Image: IMAGES.caddy,
      publish: 80,
      files: [{ dir: "/etc/caddy", entries: [{ name: "Caddyfile", content: caddyfile }, { name: "previews" }] }],
    });
    await c.start();
    const port = await hostPort(c, 80);
    const r = await until("proxied probe", async () => {
      const a = await get(port, "/version");
      return a.status === 200 ? a : undefined;
    });
    expect(r).toMatchObject({ body: "2\n", headers: expect.objectContaining({ "x-robots-tag": "noindex" }) });
    // What the preview route scripts do (components/render/previewRoute.ts): write a snippet with sh, reload.
    const snippet = "handle_path /preview/x/* {\n\treverse_proxy app:8080\n}\n";
    expect((await exec(c, ["sh", "-c", `printf '%s' '${snippet}' > /etc/caddy/previews/x.caddy`])).code).toBe(0);
    expect(await exec(c, ["caddy", "reload", "--config", "/etc/caddy/Caddyfile", "--adapter", "caddyfile"])).toMatchObject({ code: 0 });
    expect(await get(port, "/preview/x/version")).toMatchObject({ status: 200, body: "2\n" });
  });
});

describe("build script", () => {
  test("a second run rebuilds nothing: every image's context-hash tag already exists", () => {
    const r = spawnSync("bash", [path.join(__dirname, "images", "build.sh")], { env: process.env, encoding: "utf8", timeout: 300_000 });
    expect({ status: r.status, stdout: r.stdout }).toEqual({ status: 0, stdout: "" });
    // postgres:15, redis:7, caddy:2, busybox:1, probe:1, probe:2, probe:bad, probe:3, probe:migration-fails, keepalived:2.
    expect(r.stderr.match(/: up to date \(twinstack-e2e\/[a-z]+:[a-z0-9-]+-[0-9a-f]{12}\)/g)).toHaveLength(10);
    expect(r.stderr).not.toMatch(/building|loaded from|debootstrap/);
  });
});
