// A throwaway PostgreSQL cluster for the sampler's benchmark (tools/bench-sample.ts) and the
// real-consumer tests (through tests/support/pgServer.ts): initdb into a temp dir (in a
// jest run: a copy of the run's one initdb'd template, see templateCluster),
// listen only on 127.0.0.1 on a free port, password auth for one test superuser, and remove
// everything on stop(). Missing PostgreSQL binaries are an error, never a skip: CI installs them.
import { execFile, execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as net from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import { promisify } from "node:util";
import { Client } from "pg";

const run = promisify(execFile);

export interface PgServer {
  host: string;
  port: number;
  user: string;
  password: string;
  /** Directory holding initdb, pg_ctl, pg_dump, pg_restore, psql. */
  binDir: string;
  /** process.env with binDir first on PATH: for running scripts that call pg_dump/pg_restore. */
  env: NodeJS.ProcessEnv;
  url(dbName: string): string;
  createDb(name: string): Promise<string>;
  stop(): Promise<void>;
}

const REQUIRED = ["initdb", "pg_ctl", "pg_dump", "pg_restore", "psql"];

/** Finds the PostgreSQL server binaries: $PG_BIN if set, else the newest /usr/lib/postgresql/<n>/bin. */
export function findPgBinDir(): string {
  const candidates: string[] = [];
  if (process.env.PG_BIN) {
    const dir = process.env.PG_BIN;
    const missing = REQUIRED.filter((b) => !fs.existsSync(path.join(dir, b)));
    if (missing.length > 0) throw new Error(`PG_BIN=${dir} lacks ${missing.join(", ")}`);
    return dir;
  }
  const debianRoot = "/usr/lib/postgresql";
  if (fs.existsSync(debianRoot)) {
    const versions = fs
      .readdirSync(debianRoot)
      .filter((v) => /^\d+$/.test(v))
      .sort((a, b) => Number(b) - Number(a));
    candidates.push(...versions.map((v) => path.join(debianRoot, v, "bin")));
  }
  for (const dir of candidates) {
    if (REQUIRED.every((b) => fs.existsSync(path.join(dir, b)))) return dir;
  }
  throw new Error(
    `PostgreSQL server binaries (${REQUIRED.join(", ")}) not found in ${candidates.join(", ") || "(no candidates)"}; ` +
      "install the Debian postgresql package (CI does) or set PG_BIN to their directory",
  );
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const addr = srv.address();
      const port = typeof addr === "object" && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

function postgresUser(): { uid: number; gid: number } {
  try {
    const id = (flag: string) =>
      Number(
        execFileSync("id", [flag, "postgres"], { stdio: ["ignore", "pipe", "ignore"] })
          .toString()
          .trim(),
      );
    return { uid: id("-u"), gid: id("-g") };
  } catch {
    throw new Error("running as root but there is no `postgres` OS user to own the test cluster (initdb refuses root); install the Debian postgresql package");
  }
}

/** Set by jest's globalSetup for one run (removed by its globalTeardown): where the run's template cluster lives. */
export const TEMPLATE_ENV = "TWINSTACK_PG_TEMPLATE_DIR";

function templateDir(): string | undefined {
  const dir = process.env[TEMPLATE_ENV];
  return dir && fs.existsSync(dir) ? dir : undefined;
}

/**
 * The run's template cluster (initdb'd once, never started): `<dir>/cluster/{data,password}`. The
 * first caller makes it in a private directory and renames it into place; a caller that loses that
 * race uses the winner's and drops its own.
 */
async function templateCluster(dir: string, initdb: (data: string, pwfile: string) => Promise<unknown>, owner: { uid: number; gid: number } | undefined): Promise<string> {
  const final = path.join(dir, "cluster");
  if (fs.existsSync(path.join(final, "password"))) return final;
  const mine = fs.mkdtempSync(path.join(dir, "making-"));
  const password = `pw-${Math.random().toString(36).slice(2)}`;
  const pwFile = path.join(mine, "pwfile");
  fs.writeFileSync(pwFile, password + "\n", { mode: 0o600 });
  if (owner) {
    for (const p of [dir, mine, pwFile]) fs.chownSync(p, owner.uid, owner.gid);
  }
  await initdb(path.join(mine, "data"), pwFile);
  fs.rmSync(pwFile);
  fs.writeFileSync(path.join(mine, "password"), password, { mode: 0o600 });
  try {
    fs.renameSync(mine, final);
  } catch {
    fs.rmSync(mine, { recursive: true, force: true });
    if (!fs.existsSync(path.join(final, "password"))) throw new Error(`template cluster ${final} vanished`);
  }
  return final;
}

/**
 * Starts a throwaway cluster on 127.0.0.1 (a free port, password auth for the superuser
 * `twinstack_test`); stop() shuts it down and removes its directory.
 * @throws when the PostgreSQL binaries are missing (see findPgBinDir) or pg_ctl cannot start it.
 */
export async function startPgServer(): Promise<PgServer> {
  const binDir = findPgBinDir();
  const asRoot = process.getuid?.() === 0;
  // initdb refuses to run as root: the cluster belongs to the postgres OS user then.
  const owner = asRoot ? postgresUser() : undefined;
  const asOwner = (bin: string, args: string[]) => (asRoot ? run("runuser", ["-u", "postgres", "--", path.join(binDir, bin), ...args]) : run(path.join(binDir, bin), args));

  const template = templateDir();
  // In a jest run the cluster lives in the run's template directory (tests/globalSetup.ts puts that
  // on a tmpfs when the machine has one), beside the template it copies.
  const dir = fs.mkdtempSync(path.join(template ?? os.tmpdir(), "twinstack-pg-"));
  const dataDir = path.join(dir, "data");
  const user = "twinstack_test";
  const password = template ? undefined : `pw-${Math.random().toString(36).slice(2)}`;
  const pwFile = path.join(dir, "pwfile");
  if (password) fs.writeFileSync(pwFile, password + "\n", { mode: 0o600 });
  if (owner) {
    fs.chownSync(dir, owner.uid, owner.gid);
    if (password) fs.chownSync(pwFile, owner.uid, owner.gid);
  }

  let started = false;
  const cleanup = async () => {
    if (started) {
      await asOwner("pg_ctl", ["-D", dataDir, "-m", "immediate", "-w", "stop"]).catch(() => undefined);
      started = false;
    }
    fs.rmSync(dir, { recursive: true, force: true });
  };

  try {
    const initdb = (data: string, pwfile: string) =>
      asOwner("initdb", ["-D", data, "-U", user, `--pwfile=${pwfile}`, "--auth-local=trust", "--auth-host=scram-sha-256", "-E", "UTF8", "--locale=C", "--no-sync"]);
    let clusterPassword: string;
    if (template) {
      // This run's initdb'd cluster, copied: the same files initdb would write, minus its ~1 s CPU
      // (~10 s wall on a busy 2-core machine) per suite. cp -a keeps the postgres owner.
      const made = await templateCluster(template, initdb, owner);
      await run("cp", ["-a", path.join(made, "data"), dataDir]);
      clusterPassword = fs.readFileSync(path.join(made, "password"), "utf8");
    } else {
      await initdb(dataDir, pwFile);
      clusterPassword = password as string;
    }
    let port = 0;
    // A free port can be taken between probing and binding: retry a few times.
    for (let attempt = 1; ; attempt++) {
      port = await freePort();
      const opts = `-c listen_addresses=127.0.0.1 -p ${port} -k ${dir} -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=40`;
      try {
        await asOwner("pg_ctl", ["-D", dataDir, "-l", path.join(dir, "server.log"), "-o", opts, "-w", "-t", "30", "start"]);
        started = true;
        break;
      } catch (err) {
        if (attempt >= 3) {
          const log = fs.existsSync(path.join(dir, "server.log")) ? fs.readFileSync(path.join(dir, "server.log"), "utf8") : "";
          throw new Error(`pg_ctl start failed: ${(err as Error).message}\n${log}`);
        }
      }
    }

    const host = "127.0.0.1";
    const url = (dbName: string) => `postgres://${user}:${encodeURIComponent(clusterPassword)}@${host}:${port}/${encodeURIComponent(dbName)}`;
    return {
      host,
      port,
      user,
      password: clusterPassword,
      binDir,
      env: { ...process.env, PATH: `${binDir}:${process.env.PATH ?? ""}` },
      url,
      async createDb(name: string) {
        const client = new Client({ connectionString: url("postgres") });
        await client.connect();
        try {
          await client.query(`CREATE DATABASE "${name.replace(/"/g, '""')}"`);
        } finally {
          await client.end();
        }
        return url(name);
      },
      stop: cleanup,
    };
  } catch (err) {
    await cleanup();
    throw err;
  }
}
