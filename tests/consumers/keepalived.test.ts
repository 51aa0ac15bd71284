// Real consumer: rendered keepalived.conf files are checked by Debian's keepalived itself
// (`keepalived --config-test`, which exits non-zero on any warning, e.g. a truncated auth_pass
// or a track script it disables as insecure).
//
// Mutations tried to prove these tests bite (each reverted):
// - renderer emitting a fixed `virtual_router_id 51` instead of args.virtualRouterId:
//   "prod and dev router ids differ" and "prod and dev can share a node" fail (keepalived:
//   "duplicate VRID conflict").
// - renderer dropping `script_user root`: every config test with a track script fails
//   ("Unable to set default user keepalived_script").
// - proxyTrackCommand returning a bare `wget -q ...` HTTP check: the 401 case fails.

import * as fs from "fs";
import * as http from "http";
import * as path from "path";
import { KeepalivedConfArgs, proxyTrackCommand, renderKeepalivedConf } from "../../components/render/keepalived";
import { describeRun, freePort, removeDir, requireBinary, run, RunResult, tmpDir } from "./util";

let keepalived: string;
let dir: string;
let iface: string;

/** A real non-loopback interface: keepalived's config test rejects unknown ones and "lo". */
function pickInterface(): string {
  const names = fs
    .readdirSync("/sys/class/net")
    .filter((n) => n !== "lo")
    .sort();
  const chosen = names.includes("eth0") ? "eth0" : names[0];
  if (!chosen) {
    throw new Error("keepalived config test needs a non-loopback network interface; /sys/class/net has only lo");
  }
  return chosen;
}

/**
 * keepalived runs as root in production, and its script-security check only passes for
 * `script_user root` when it is root; as another user it disables the track script.
 */
function configTestCommand(file: string): [string, string[]] {
  const args = ["--config-test", "--use-file", file];
  if (process.getuid?.() === 0) return [keepalived, args];
  return ["sudo", ["-n", keepalived, ...args]];
}

async function configTest(file: string): Promise<RunResult> {
  const [cmd, args] = configTestCommand(file);
  return run(cmd, args, { timeoutMs: 15_000 });
}

function write(name: string, text: string): string {
  const file = path.join(dir, name);
  fs.writeFileSync(file, text, { mode: 0o644 });
  return file;
}

async function expectValid(file: string): Promise<void> {
  const r = await configTest(file);
  // On success keepalived prints nothing; any output is a warning it would act on.
  if (r.code !== 0 || r.stderr.trim() !== "" || r.timedOut) {
    throw new Error(describeRun(`keepalived --config-test ${path.basename(file)}`, r) + `\n--- ${file} ---\n${fs.readFileSync(file, "utf8")}`);
  }
}

async function expectInvalid(file: string, reason: RegExp): Promise<void> {
  const r = await configTest(file);
  expect(r.timedOut).toBe(false);
  expect(r.code).not.toBe(0);
  expect(r.stdout + r.stderr).toMatch(reason);
}

const lanNodes = [
  { name: "pve1", address: "192.168.1.11", priority: 150 },
  { name: "pve2", address: "192.168.1.12", priority: 100 },
];

function prodArgs(self: string): KeepalivedConfArgs {
  return {
    instanceName: "gigi_prod",
    virtualIp: "192.168.1.50/24",
    interface: iface,
    virtualRouterId: 50,
    authPass: "Pr0d_vip",
    nodes: lanNodes,
    self,
    trackScript: { name: "chk_proxy_prod", command: proxyTrackCommand(443), weight: -60 },
  };
}

function devArgs(self: string): KeepalivedConfArgs {
  return {
    instanceName: "gigi_dev",
    virtualIp: "192.168.1.52/24",
    interface: iface,
    virtualRouterId: 52,
    authPass: "d3v_vip",
    nodes: lanNodes,
    self,
    trackScript: { name: "chk_proxy_dev", command: proxyTrackCommand(8443) },
  };
}

const trioNodes = [
  { name: "hel1", address: "10.0.0.2", priority: 200 },
  { name: "hel2", address: "10.0.0.3", priority: 150 },
  { name: "hel3", address: "10.0.0.4", priority: 100 },
];

function trioArgs(self: string): KeepalivedConfArgs {
  return {
    instanceName: "pg_prod",
    virtualIp: "10.0.0.100",
    interface: iface,
    virtualRouterId: 60,
    authPass: "pgvip",
    nodes: trioNodes,
    self,
    advertIntervalSeconds: 2,
    trackScript: { name: "chk_pg", command: "/bin/true", intervalSeconds: 5, fall: 3, rise: 2 },
  };
}

/** Both envs' instances in one file, as when the same node carries the prod and the dev VIP. */
function sameNode(prod: string, dev: string): string {
  const firstBlock = dev.search(/^vrrp_(script|instance) /m);
  return `${prod}\n${dev.slice(firstBlock)}`;
}

beforeAll(() => {
  keepalived = requireBinary("keepalived");
  if (process.getuid?.() !== 0) requireBinary("sudo");
  iface = pickInterface();
  dir = tmpDir("twinstack-keepalived-");
});

afterAll(() => {
  if (dir) removeDir(dir);
});

describe("keepalived --config-test accepts rendered configs", () => {
  test.each(lanNodes.map((n) => n.name))("prod pair, node %s", async (self) => {
    await expectValid(write(`prod-${self}.conf`, renderKeepalivedConf(prodArgs(self))));
  });

  test.each(lanNodes.map((n) => n.name))("dev pair, node %s", async (self) => {
    await expectValid(write(`dev-${self}.conf`, renderKeepalivedConf(devArgs(self))));
  });

  test.each(trioNodes.map((n) => n.name))("three-node set, node %s", async (self) => {
    await expectValid(write(`trio-${self}.conf`, renderKeepalivedConf(trioArgs(self))));
  });

  test("single node (no unicast peers)", async () => {
    const args = { ...devArgs("pve1"), nodes: [lanNodes[0]] };
    await expectValid(write("single.conf", renderKeepalivedConf(args)));
  });
});

describe("prod and dev stay apart", () => {
  test("prod and dev router ids and VIPs differ", () => {
    const id = (t: string) => /virtual_router_id (\d+)/.exec(t)![1];
    const vip = (t: string) => /virtual_ipaddress \{\s+(\S+)/.exec(t)![1];
    const prod = renderKeepalivedConf(prodArgs("pve1"));
    const dev = renderKeepalivedConf(devArgs("pve1"));
    expect(id(prod)).not.toBe(id(dev));
    expect(vip(prod)).not.toBe(vip(dev));
  });

  test("prod and dev can share a node: keepalived accepts both instances together", async () => {
    const text = sameNode(renderKeepalivedConf(prodArgs("pve1")), renderKeepalivedConf(devArgs("pve1")));
    await expectValid(write("shared-node.conf", text));
  });

  test("the same router id for both envs is a conflict keepalived reports", async () => {
    const clash = { ...devArgs("pve1"), virtualRouterId: prodArgs("pve1").virtualRouterId };
    const text = sameNode(renderKeepalivedConf(prodArgs("pve1")), renderKeepalivedConf(clash));
    await expectInvalid(write("shared-node-clash.conf", text), /duplicate VRID/);
  });
});

describe("keepalived --config-test rejects broken renders", () => {
  const good = () => renderKeepalivedConf(prodArgs("pve1"));

  test("router id 256 (validation bypassed by editing the text)", async () => {
    const text = good().replace(/virtual_router_id \d+/, "virtual_router_id 256");
    await expectInvalid(write("bad-vrid.conf", text), /outside range \[1, 255\]|VRID '256' not valid/);
  });

  test("a missing closing brace", async () => {
    const text = good().replace(/\}\s*$/, "");
    await expectInvalid(write("bad-brace.conf", text), /missing '\}'/);
  });

  test("an auth_pass longer than 8 characters (why the renderer rejects it)", async () => {
    const text = good().replace(/auth_pass \S+/, "auth_pass Pr0d_vip_too_long");
    await expectInvalid(write("bad-authpass.conf", text), /Truncating auth_pass/);
  });

  test("the loopback interface (why the renderer rejects it)", async () => {
    const text = good().replace(/interface \S+/, "interface lo");
    await expectInvalid(write("bad-lo.conf", text), /loopback/);
  });
});

/** Split a keepalived script string into argv the way keepalived does (unquoted spaces, '...'). */
function keepalivedArgv(script: string): string[] {
  const argv: string[] = [];
  let cur = "";
  let inQuote = false;
  let started = false;
  for (const ch of script) {
    if (ch === "'") {
      inQuote = !inQuote;
      started = true;
    } else if (ch === " " && !inQuote) {
      if (started) argv.push(cur);
      cur = "";
      started = false;
    } else {
      cur += ch;
      started = true;
    }
  }
  if (started) argv.push(cur);
  return argv;
}

describe("proxyTrackCommand runs in a minimal image (sh + wget + grep, no nc)", () => {
  let binDir: string;
  let server: http.Server;
  let livePort: number;

  beforeAll(async () => {
    const sh = requireBinary("sh", "dash");
    const wget = requireBinary("wget");
    const grep = requireBinary("grep");
    binDir = path.join(tmpDir("twinstack-trackbin-"), "bin");
    fs.mkdirSync(binDir);
    for (const [name, target] of [
      ["sh", sh],
      ["wget", wget],
      ["grep", grep],
    ]) {
      fs.symlinkSync(target, path.join(binDir, name));
    }
    // Stands in for Caddy on a non-prod site: every route answers 401 without credentials.
    server = http.createServer((_req, res) => {
      res.writeHead(401, { "WWW-Authenticate": 'Basic realm="restricted"' });
      res.end();
    });
    livePort = await freePort();
    await new Promise<void>((resolve) => server.listen(livePort, "127.0.0.1", resolve));
  });

  afterAll(async () => {
    await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
    if (binDir) removeDir(path.dirname(binDir));
  });

  async function track(port: number): Promise<RunResult> {
    const [cmd, ...args] = keepalivedArgv(proxyTrackCommand(port));
    expect(cmd).toBe("/bin/sh");
    return run(cmd, args, { timeoutMs: 10_000, env: { PATH: binDir } });
  }

  test("succeeds when the proxy answers, even with 401", async () => {
    const r = await track(livePort);
    expect(r.code).toBe(0);
  });

  test("fails when nothing listens on the port", async () => {
    const r = await track(await freePort());
    expect(r.timedOut).toBe(false);
    expect(r.code).not.toBe(0);
  });
});
