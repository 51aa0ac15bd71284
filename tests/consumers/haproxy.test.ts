// Real consumer: Debian's haproxy checks the rendered haproxy.cfg (`haproxy -c -f`), and a real
// haproxy on loopback routes through it: three fake Patroni members (a TCP "Postgres" that
// answers with its name, and a REST API answering /primary and /replica like Patroni does).
// The primary listener must only ever reach the leader; the replica listener only the replicas.
//
// Mutations tried to prove these tests bite (each reverted):
// - renderer writing `on-marked-down shutdown-session` (typo): the config check fails
//   ("'on-marked-down' expects 'shutdown-sessions'") and the routing test cannot start haproxy.
// - renderer checking `uri /replica` in the primary listener too: the routing test fails
//   (primary listener marks the leader DOWN and pg-2/pg-3 UP).

import * as fs from "fs";
import * as http from "http";
import * as net from "net";
import * as path from "path";
import { HaproxyCfgArgs, PatroniMember, renderHaproxyCfg } from "../../components/render/haproxy";
import { startTestDns, TestDns } from "./dnsServer";
import { Daemon, describeRun, freePort, removeDir, requireBinary, run, startDaemon, tmpDir } from "./util";

let haproxy: string;
let dir: string;

// The two live scenarios below each wait for HAProxy's health checks to settle (rise 2 in the
// rendered config; inter made 300 ms by fastChecks): both start here, side by side, while the config checks run; each test
// awaits its own scenario and makes its assertions. Everything started is stopped in afterAll.
let routing: Promise<RoutingScenario>;
let oneDown: Promise<OneDownScenario>;
const live: Live[] = [];

beforeAll(() => {
  haproxy = requireBinary("haproxy");
  dir = tmpDir("twinstack-haproxy-");
  routing = startRouting();
  oneDown = startOneDown();
  // Awaited by their tests; a failure surfaces there.
  routing.catch(() => undefined);
  oneDown.catch(() => undefined);
});
afterAll(async () => {
  await Promise.allSettled([routing, oneDown]);
  for (const l of live) await l.stop();
  removeDir(dir);
});

/** Whether a TCP port on 127.0.0.1 can be bound now. */
function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = net.createServer();
    probe.once("error", () => resolve(false));
    probe.listen(port, "127.0.0.1", () => probe.close(() => resolve(true)));
  });
}

/**
 * n distinct free ports. The first is the listen port, and the renderer binds the replica frontend
 * on the next one: that one is free too and never among the others (CI once failed with
 * "Address already in use" on listenPort + 1).
 */
async function distinctFreePorts(n: number): Promise<number[]> {
  let first = await freePort();
  while (first >= 65535 || !(await portFree(first + 1))) first = await freePort();
  const ports = new Set<number>([first]);
  while (ports.size < n) {
    const p = await freePort();
    if (p !== first + 1) ports.add(p);
  }
  return [...ports];
}

/**
 * The rendered config for a live scenario, with health checks every 300 ms instead of every 3 s:
 * these scenarios are about where the listeners route, not about the check interval (the `haproxy -c`
 * cases check the config as rendered). "inter" sets the interval between two consecutive health
 * checks (HAProxy 2.6 configuration manual, 5.2 "inter", /usr/share/doc/haproxy/configuration.txt.gz;
 * https://docs.haproxy.org/2.6/configuration.html#5.2-inter); fall 3 and rise 2 stay as rendered.
 */
function fastChecks(cfg: string): string {
  const rendered = "    default-server inter 3s ";
  if (!cfg.includes(rendered)) throw new Error(`the rendered haproxy.cfg has no line starting ${JSON.stringify(rendered.trim())}:\n${cfg}`);
  return cfg.replace(rendered, "    default-server inter 300ms ");
}

function write(name: string, text: string): string {
  const file = path.join(dir, name);
  fs.writeFileSync(file, text);
  return file;
}

async function check(name: string, cfg: string) {
  return run(haproxy, ["-c", "-f", write(name, cfg)], { timeoutMs: 10_000 });
}

const threeMembers: PatroniMember[] = [1, 2, 3].map((i) => ({
  name: `pg-${i}`,
  host: `10.0.0.${i}`,
  pgPort: 5432,
  restApiPort: 8008,
}));

describe("haproxy -c", () => {
  it("accepts a rendered 3-member config with replicas and stats, without warnings", async () => {
    const cfg = renderHaproxyCfg({ listenPort: 5000, statsPort: 7000, replicas: true, members: threeMembers });
    const r = await check("ok.cfg", cfg);
    if (r.code !== 0) throw new Error(describeRun("haproxy -c", r));
    expect(r.stdout + r.stderr).toContain("Configuration file is valid");
    expect(r.stdout + r.stderr).not.toMatch(/WARNING|ALERT/);
  });

  // Issue 13 kind 4: a Patroni member whose Swarm alias does not resolve (its service has no running
  // task) used to fail `haproxy -c` ("could not resolve address"), the HAProxy service's own health
  // check, and kept HAProxy from starting.
  it("accepts the config while a member name does not resolve (servers start disabled)", async () => {
    const byAlias = [1, 2, 3].map((i) => ({ name: `pg-${i}`, host: `pg-${i}.twinstack-test.invalid`, pgPort: 5432, restApiPort: 8008 }));
    const r = await check("unresolvable.cfg", renderHaproxyCfg({ listenPort: 5000, members: byAlias, nameservers: ["127.0.0.1:53"] }));
    if (r.code !== 0) throw new Error(describeRun("haproxy -c", r));
    expect(r.stdout + r.stderr).toContain("Configuration file is valid");
    expect(r.stdout + r.stderr).toMatch(/could not resolve address 'pg-3\.twinstack-test\.invalid', disabling server/);
  });

  it("rejects a broken config", async () => {
    const cfg = renderHaproxyCfg({ listenPort: 5000, members: threeMembers }).replace("http-check expect status 200", "http-check expect stauts 200");
    const r = await check("broken.cfg", cfg);
    expect(r.code).not.toBe(0);
    expect(r.stdout + r.stderr).toMatch(/ALERT/);
  });
});

/** The programs of one live scenario: fake Patroni members, maybe a test DNS server, and haproxy. */
class Live {
  readonly servers: Array<net.Server | http.Server> = [];
  proxy: Daemon | undefined;
  dns: TestDns | undefined;

  constructor() {
    live.push(this);
  }

  listen(server: net.Server | http.Server, port: number): Promise<void> {
    this.servers.push(server);
    return new Promise((resolve, reject) => {
      server.once("error", reject);
      server.listen(port, "127.0.0.1", () => resolve());
    });
  }

  async stop(): Promise<void> {
    await this.proxy?.stop();
    await this.dns?.close();
    await Promise.all(this.servers.map((s) => new Promise((r) => s.close(() => r(undefined)))));
  }
}

/** Connects to port, returns what the backend said (its member name). */
function whoAnswers(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    let data = "";
    const sock = net.connect({ port, host: "127.0.0.1" });
    sock.setTimeout(3000, () => sock.destroy(new Error(`no answer on ${port}`)));
    sock.on("data", (d) => (data += d.toString()));
    sock.on("end", () => resolve(data.trim()));
    sock.on("error", reject);
  });
}

async function statuses(statsPort: number): Promise<Record<string, string>> {
  const csv = await new Promise<string>((resolve, reject) => {
    http
      .get({ host: "127.0.0.1", port: statsPort, path: "/;csv" }, (res) => {
        let body = "";
        res.on("data", (d) => (body += d));
        res.on("end", () => resolve(body));
      })
      .on("error", reject);
  });
  const out: Record<string, string> = {};
  for (const line of csv.split("\n")) {
    const f = line.split(",");
    if (f.length > 17 && f[1].startsWith("pg-")) out[`${f[0]}/${f[1]}`] = f[17];
  }
  return out;
}

/**
 * Stand-ins for the Patroni members on `l`: each one's PostgreSQL port answers with its name, and its
 * REST API answers GET /primary with 200 on the leader and GET /replica with 200 on the others, 503
 * otherwise (Patroni's health-check endpoints, which the rendered haproxy.cfg checks:
 * https://patroni.readthedocs.io/en/latest/rest_api.html#health-check-endpoints).
 */
async function serveMembers(l: Live, members: PatroniMember[], leader: string): Promise<void> {
  for (const m of members) {
    await l.listen(
      net.createServer((sock) => sock.end(`${m.name}\n`)),
      m.pgPort,
    );
    await l.listen(
      http.createServer((req, res) => {
        const isLeader = m.name === leader;
        const ok = (req.url === "/primary" && isLeader) || (req.url === "/replica" && !isLeader);
        res.writeHead(ok ? 200 : 503, { "content-type": "application/json" });
        res.end(JSON.stringify({ role: isLeader ? "primary" : "replica" }));
      }),
      m.restApiPort,
    );
  }
}

interface RoutingScenario {
  listenPort: number;
  leader: string;
}

/** Three members on 127.0.0.1, pg-1 the leader; resolves once haproxy's health states have settled. */
async function startRouting(): Promise<RoutingScenario> {
  const l = new Live();
  const [listenPort, statsPort, ...ports] = await distinctFreePorts(8);
  // listenPort + 1 is the replica port: fail early and clearly if it is taken.
  await new Promise<void>((resolve, reject) => {
    const probe = net.createServer();
    probe.once("error", reject);
    probe.listen(listenPort + 1, "127.0.0.1", () => probe.close(() => resolve()));
  });
  const leader = "pg-1";
  const members: PatroniMember[] = [0, 1, 2].map((i) => ({
    name: `pg-${i + 1}`,
    host: "127.0.0.1",
    pgPort: ports[i * 2],
    restApiPort: ports[i * 2 + 1],
  }));
  await serveMembers(l, members, leader);
  const args: HaproxyCfgArgs = { listenPort, statsPort, replicas: true, bindAddress: "127.0.0.1", members, nameservers: ["127.0.0.1:1"] };
  const cfgFile = write("live.cfg", fastChecks(renderHaproxyCfg(args)));
  const proxy = (l.proxy = startDaemon(haproxy, ["-db", "-f", cfgFile]));

  const want: Record<string, string> = {
    "postgres_primary/pg-1": "UP",
    "postgres_primary/pg-2": "DOWN",
    "postgres_primary/pg-3": "DOWN",
    "postgres_replicas/pg-1": "DOWN",
    "postgres_replicas/pg-2": "UP",
    "postgres_replicas/pg-3": "UP",
  };
  const deadline = Date.now() + 11_000;
  let seen: Record<string, string> = {};
  for (;;) {
    seen = await statuses(statsPort).catch(() => ({}));
    if (Object.entries(want).every(([k, v]) => seen[k] === v)) break;
    if (Date.now() > deadline || proxy.child.exitCode !== null) {
      throw new Error(`health states never settled: ${JSON.stringify(seen)}\nhaproxy output:\n${proxy.output()}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return { listenPort, leader };
}

describe("haproxy routing through Patroni health checks", () => {
  it("sends the primary port to the leader only and the replica port to replicas only", async () => {
    const { listenPort, leader } = await routing;
    const primaryAnswers = await Promise.all([0, 1, 2, 3, 4].map(() => whoAnswers(listenPort)));
    expect(new Set(primaryAnswers)).toEqual(new Set([leader]));
    const replicaAnswers: string[] = [];
    for (let i = 0; i < 4; i++) replicaAnswers.push(await whoAnswers(listenPort + 1));
    expect(new Set(replicaAnswers)).toEqual(new Set(["pg-2", "pg-3"]));
  }, 15_000);
});

interface OneDownScenario {
  listenPort: number;
  leader: string;
  /** Resolves once the states match (a string exactly, a RegExp by test), or rejects after ms. */
  until(want: Record<string, string | RegExp>, ms: number): Promise<void>;
  /** Makes pg-3's name resolve. */
  resolveThird(): void;
}

/** pg-3's name does not resolve at start; resolves once haproxy serves with pg-3 in maintenance. */
async function startOneDown(): Promise<OneDownScenario> {
  const l = new Live();
  const [listenPort, statsPort, ...ports] = await distinctFreePorts(8);
  const leader = "pg-1";
  // Names that only the test DNS server knows: libc cannot resolve them at start either.
  const host = (i: number) => `pg-${i}.twinstack-test.invalid`;
  const dns = (l.dns = await startTestDns({ [host(1)]: "127.0.0.1", [host(2)]: "127.0.0.1" }));
  const members: PatroniMember[] = [0, 1, 2].map((i) => ({ name: `pg-${i + 1}`, host: host(i + 1), pgPort: ports[i * 2], restApiPort: ports[i * 2 + 1] }));
  await serveMembers(l, members, leader);
  const cfgFile = write(
    "one-down.cfg",
    fastChecks(renderHaproxyCfg({ listenPort, statsPort, replicas: true, bindAddress: "127.0.0.1", members, nameservers: [`127.0.0.1:${dns.port}`] })),
  );

  // The service's health check passes although pg-3 does not resolve.
  const checked = await run(haproxy, ["-c", "-q", "-f", cfgFile], { timeoutMs: 10_000 });
  if (checked.code !== 0) throw new Error(describeRun("haproxy -c -q", checked));

  const proxy = (l.proxy = startDaemon(haproxy, ["-db", "-f", cfgFile]));
  const until = async (want: Record<string, string | RegExp>, ms: number): Promise<void> => {
    const deadline = Date.now() + ms;
    let seen: Record<string, string> = {};
    for (;;) {
      seen = await statuses(statsPort).catch(() => ({}));
      if (Object.entries(want).every(([k, v]) => (typeof v === "string" ? seen[k] === v : v.test(seen[k] ?? "")))) return;
      if (Date.now() > deadline || proxy.child.exitCode !== null) {
        throw new Error(
          `states never became ${JSON.stringify(want, (_k, v) => (v instanceof RegExp ? String(v) : v))}: ${JSON.stringify(seen)}\nhaproxy output:\n${proxy.output()}`,
        );
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  };
  await until({ "postgres_primary/pg-1": "UP", "postgres_replicas/pg-2": "UP", "postgres_primary/pg-3": /^MAINT/, "postgres_replicas/pg-3": /^MAINT/ }, 12_000);
  return { listenPort, leader, until, resolveThird: () => dns.records.set(host(3), "127.0.0.1") };
}

describe("haproxy with one Patroni member name unresolvable", () => {
  it("starts, serves the leader, keeps the missing member in maintenance and takes it back once it resolves", async () => {
    const { listenPort, leader, until, resolveThird } = await oneDown;
    expect(await whoAnswers(listenPort)).toBe(leader);
    const before: string[] = [];
    for (let i = 0; i < 4; i++) before.push(await whoAnswers(listenPort + 1));
    expect(new Set(before)).toEqual(new Set(["pg-2"]));

    // The member's task is back: its name resolves again and HAProxy uses it without a restart.
    resolveThird();
    await until({ "postgres_replicas/pg-3": "UP", "postgres_primary/pg-3": "DOWN" }, 15_000);
    const after: string[] = [];
    for (let i = 0; i < 6; i++) after.push(await whoAnswers(listenPort + 1));
    expect(new Set(after)).toEqual(new Set(["pg-2", "pg-3"]));
  }, 40_000);
});
