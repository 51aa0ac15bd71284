// Real consumer: Debian's patroni validates each rendered member file with
// `patroni --validate-config <file>`. Patroni 3.0's validator is partly live: it requires the
// REST API and Postgres listen ports to be free, connects to every etcd endpoint (so three
// loopback TCP listeners stand in for etcd here), checks that bin_dir holds pg_ctl, initdb,
// postgres, ... and that data_dir is empty or a matching cluster. Connect addresses must not
// be loopback, so they name private addresses that are never dialled.
// The files of a test are validated in one Python process (runConsoleScript in ./util): patroni's
// console-script entry (`patroni = patroni.__main__:main`, Debian's /usr/bin/patroni) runs once per
// file with that argv; its abstract_main (patroni/daemon.py) parses sys.argv, builds
// Config(file, validator=schema), prints a ConfigParseError to stderr and exits 1, else exits 0.
//
// Mutations tried to prove these tests bite (each reverted):
// - renderer dropping postgresql.authentication.rewind: all three member files fail
//   ("postgresql.authentication.rewind  is not defined").
// - renderer emitting `etcd3.hosts` as one comma-joined string of URLs ("http://h:p,..."):
//   all three fail ("etcd3.hosts ... didn't pass validation").

import * as fs from "fs";
import * as net from "net";
import * as path from "path";
import YAML from "yaml";
import { PatroniYmlArgs, renderPatroniYml } from "../../components/render/patroni";
import { findPgBinDir } from "../support/pgServer";
import { describeRun, freePort, removeDir, requireBinary, RunResult, runConsoleScript, tmpDir } from "./util";

let patroni: string;
let binDir: string;
let dir: string;
const fakeEtcd: net.Server[] = [];
let etcdHosts: string[] = [];

async function distinctFreePorts(n: number): Promise<number[]> {
  const ports = new Set<number>();
  while (ports.size < n) ports.add(await freePort());
  return [...ports];
}

function listen(server: net.Server, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, "127.0.0.1", () => resolve());
  });
}

beforeAll(async () => {
  patroni = requireBinary("patroni");
  binDir = findPgBinDir();
  dir = tmpDir("twinstack-patroni-");
  const ports = await distinctFreePorts(3);
  for (const port of ports) {
    const s = net.createServer((sock) => sock.destroy());
    await listen(s, port);
    fakeEtcd.push(s);
  }
  etcdHosts = ports.map((p) => `127.0.0.1:${p}`);
});

afterAll(async () => {
  await Promise.all(fakeEtcd.map((s) => new Promise((r) => s.close(() => r(undefined)))));
  removeDir(dir);
});

// Keep PATRONI_* variables of the environment from overriding the file under test.
function cleanEnv(): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith("PATRONI_")));
}

/**
 * `patroni --validate-config <file>` for each file, all in one Python process (runConsoleScript:
 * patroni's own console-script entry point called with that argv once per file), one RunResult each.
 */
async function validate(files: Array<[string, string]>): Promise<RunResult[]> {
  const paths = files.map(([name, yml]) => {
    const file = path.join(dir, name);
    fs.writeFileSync(file, yml, { mode: 0o600 });
    return file;
  });
  return runConsoleScript(
    patroni,
    paths.map((file) => ["--validate-config", file]),
    { timeoutMs: 40_000, env: cleanEnv() },
  );
}

async function member(i: number, over: Partial<PatroniYmlArgs> = {}): Promise<PatroniYmlArgs> {
  const [restPort, pgPort] = await distinctFreePorts(2);
  return {
    scope: "twincigo-test",
    name: `pg-${i}`,
    restApi: { listen: `127.0.0.1:${restPort}`, connectAddress: `10.0.0.${i}:8008` },
    etcdHosts,
    postgres: {
      listen: `127.0.0.1:${pgPort}`,
      connectAddress: `10.0.0.${i}:5432`,
      dataDir: path.join(dir, `data-${i}`),
      binDir,
    },
    superuser: { username: "postgres", password: "super-secret-password-1" },
    replication: { username: "replicator", password: "repl-secret-password-2" },
    ...over,
  };
}

describe("patroni --validate-config", () => {
  it("accepts the three rendered member files", async () => {
    const members = await Promise.all([1, 2, 3].map((i) => member(i)));
    const results = await validate(members.map((m) => [`${m.name}.yml`, renderPatroniYml(m)]));
    results.forEach((r, i) => {
      if (r.code !== 0) throw new Error(describeRun(`patroni --validate-config pg-${i + 1}`, r));
      expect(r.stderr.trim()).toBe("");
    });
  });

  it("rejects a member whose etcd is unreachable, whose port is taken, or whose config lacks a required key", async () => {
    const closedPort = await freePort();
    const unreachable = await member(1, { etcdHosts: [`127.0.0.1:${closedPort}`] });
    const busy = await member(2);
    busy.postgres = { ...busy.postgres, listen: etcdHosts[0] }; // a fake etcd holds that port
    const doc = YAML.parse(renderPatroniYml(await member(3)), { version: "1.1" });
    delete doc.postgresql.authentication.replication;
    const missingKey = YAML.stringify(doc, { version: "1.1" });

    const [r1, r2, r3] = await validate([
      ["unreachable.yml", renderPatroniYml(unreachable)],
      ["busy.yml", renderPatroniYml(busy)],
      ["missing.yml", missingKey],
    ]);
    expect(r1.code).not.toBe(0);
    expect(r1.stderr).toMatch(/is not reachable/);
    expect(r2.code).not.toBe(0);
    expect(r2.stderr).toMatch(/already in use/);
    expect(r3.code).not.toBe(0);
    expect(r3.stderr).toMatch(/postgresql\.authentication\.replication\s+is not defined/);
  });
});
