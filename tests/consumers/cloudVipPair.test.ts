// Real consumer: a keepalived pair of a cloud VIP (components/render/cloudVip.ts + keepalived.ts)
// in two network namespaces this test creates, joined by a veth pair standing in for the private
// network (VRRP unicast between 10.231.7.1 and 10.231.7.2). Each node runs the rendered container
// entrypoint (floating IP on its "public" interface, netplan file, private interface resolved) and
// (run by busybox sh with busybox's ip, grep, sed and chmod first on PATH, as in the Alpine-based
// image) and then Debian's keepalived on the rendered config; each notify_master calls a fake cloud API on
// 127.0.0.1 inside its own namespace. The first node becomes MASTER and assigns the IP to its
// server; when it stops, the second one does. Every namespace and process is removed by name/PID.
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { PRIVATE_IFACE_PLACEHOLDER, renderAssignScript, renderCloudVipEntrypoint, NETPLAN_FILE } from "../../components/render/cloudVip";
import { renderKeepalivedConf } from "../../components/render/keepalived";
import { Daemon, removeDir, requireBinary, startDaemon, tmpDir } from "./util";

const TOKEN = "fakeHetznerToken_0123456789abcdefABCDEF";
const FIP = "203.0.113.50";
const suffix = `${process.pid % 10000}${Math.floor(Math.random() * 90 + 10)}`;
const NODES = [
  { name: "ash-1", ns: `tsvip${suffix}a`, iface: `tv${suffix}a`, address: "10.231.7.1", priority: 150, serverId: "1001", apiPort: 18000 + Math.floor(Math.random() * 1000) },
  { name: "ash-2", ns: `tsvip${suffix}b`, iface: `tv${suffix}b`, address: "10.231.7.2", priority: 140, serverId: "1002", apiPort: 19000 + Math.floor(Math.random() * 1000) },
];

const canRun = process.getuid?.() === 0 && fs.existsSync("/usr/sbin/keepalived");
const maybe = canRun ? describe : describe.skip;

const FAKE_API = `
import http.server, json, sys
port, out = int(sys.argv[1]), sys.argv[2]
class H(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0)).decode()
        with open(out, "a") as f:
            f.write(json.dumps({"method": self.command, "path": self.path, "auth": self.headers.get("Authorization"), "body": body}) + "\\n")
        self.send_response(201)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(b"{}")
    def log_message(self, *args):
        pass
server = http.server.HTTPServer(("127.0.0.1", port), H)
open(out + ".ready", "w").close()
server.serve_forever()
`;

const IP = fs.existsSync("/usr/sbin/ip") ? "/usr/sbin/ip" : "/sbin/ip";
const ip = (...args: string[]) => execFileSync(IP, args, { stdio: ["ignore", "pipe", "pipe"] }).toString();
const inNs = (ns: string, ...args: string[]) => ip("netns", "exec", ns, ...args);

async function until(what: string, check: () => boolean, timeoutMs: number, diagnose: () => string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}\n${diagnose()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

maybe("a cloud VIP's keepalived pair in two network namespaces, notify_master against a fake API", () => {
  let dir: string;
  const daemons: Record<string, Daemon> = {};
  const calls = (n: (typeof NODES)[number]) => {
    const file = path.join(dir, `${n.name}-calls.jsonl`);
    return fs.existsSync(file)
      ? fs
          .readFileSync(file, "utf8")
          .trim()
          .split("\n")
          .filter(Boolean)
          .map((l) => JSON.parse(l))
      : [];
  };
  const diagnose = () =>
    Object.entries(daemons)
      .map(([k, d]) => `--- ${k} ---\n${d.output().replace(new RegExp(TOKEN, "g"), "<TOKEN>")}`)
      .join("\n");

  beforeAll(async () => {
    requireBinary("keepalived");
    requireBinary("curl");
    dir = tmpDir("cloudvip-pair-");
    fs.chmodSync(dir, 0o700);
    // Two namespaces, a veth pair between them (the private network), and a "public" veth in each.
    for (const n of NODES) {
      ip("netns", "add", n.ns);
      inNs(n.ns, "ip", "link", "set", "lo", "up");
      inNs(n.ns, "ip", "link", "add", "pub0", "type", "veth", "peer", "name", "pub0p");
      inNs(n.ns, "ip", "link", "set", "pub0", "up");
      inNs(n.ns, "ip", "link", "set", "pub0p", "up");
    }
    ip("link", "add", NODES[0].iface, "netns", NODES[0].ns, "type", "veth", "peer", "name", NODES[1].iface, "netns", NODES[1].ns);
    for (const n of NODES) {
      inNs(n.ns, "ip", "addr", "add", `${n.address}/24`, "dev", n.iface);
      inNs(n.ns, "ip", "link", "set", n.iface, "up");
    }
    fs.writeFileSync(path.join(dir, "fake_api.py"), FAKE_API);
    // The image's tools are busybox applets: put busybox's first on PATH for the entrypoint.
    const busybox = requireBinary("busybox", "busybox-static");
    fs.mkdirSync(path.join(dir, "bb"));
    for (const applet of ["sh", "ip", "grep", "sed", "chmod", "tr", "sleep"]) fs.symlinkSync(busybox, path.join(dir, "bb", applet));
    for (const n of NODES) {
      const nodeDir = path.join(dir, n.name);
      fs.mkdirSync(path.join(nodeDir, "netplan"), { recursive: true, mode: 0o700 });
      fs.writeFileSync(path.join(nodeDir, "token"), TOKEN + "\n", { mode: 0o600 });
      fs.writeFileSync(
        path.join(nodeDir, "notify.sh"),
        renderAssignScript({
          provider: "hcloud",
          ip: "4711",
          serverId: n.serverId,
          tokenFile: path.join(nodeDir, "token"),
          apiBase: `http://127.0.0.1:${n.apiPort}/v1`,
          attempts: 3,
        }),
        { mode: 0o700 },
      );
      fs.writeFileSync(
        path.join(nodeDir, "keepalived.conf"),
        renderKeepalivedConf({
          instanceName: "twincigo-prod",
          interface: PRIVATE_IFACE_PLACEHOLDER,
          virtualRouterId: 51,
          authPass: "pairtest",
          nodes: NODES.map(({ name, address, priority }) => ({ name, address, priority })),
          self: n.name,
          notifyMaster: path.join(nodeDir, "notify.sh"),
        }),
        { mode: 0o600 },
      );
      daemons[`${n.name}-api`] = startDaemon("ip", ["netns", "exec", n.ns, "python3", path.join(dir, "fake_api.py"), String(n.apiPort), path.join(dir, `${n.name}-calls.jsonl`)]);
    }
  }, 30_000);

  afterAll(async () => {
    for (const d of Object.values(daemons)) await d.stop();
    for (const n of NODES) {
      try {
        ip("netns", "del", n.ns);
      } catch {
        /* already gone */
      }
    }
    if (dir) removeDir(dir);
  });

  test("the first node becomes MASTER and assigns the IP to its server; when it stops, the second takes over and assigns it to its own", async () => {
    const start = (n: (typeof NODES)[number]) => {
      const nodeDir = path.join(dir, n.name);
      const entry = renderCloudVipEntrypoint({
        provider: "hcloud",
        address: FIP,
        privateAddress: n.address,
        publicInterface: "pub0",
        confPath: path.join(nodeDir, "keepalived.conf"),
        runtimeConfPath: path.join(nodeDir, "runtime.conf"),
        hostNetplanDir: path.join(nodeDir, "netplan"),
      });
      daemons[`${n.name}-keepalived`] = startDaemon(
        IP,
        [
          "netns",
          "exec",
          n.ns,
          path.join(dir, "bb", "sh"),
          "-c",
          entry,
          "keepalived",
          "--dont-fork",
          "--log-console",
          "--vrrp",
          "--use-file",
          path.join(nodeDir, "runtime.conf"),
          "--pid",
          path.join(nodeDir, "keepalived.pid"),
          "--vrrp_pid",
          path.join(nodeDir, "vrrp.pid"),
        ],
        { env: { ...process.env, PATH: `${path.join(dir, "bb")}:/usr/sbin:/usr/bin:/sbin:/bin` } },
      );
    };
    // The API servers listen before keepalived starts: each writes <calls>.ready once its socket
    // listens (Python's HTTPServer binds and listens in its constructor: socketserver.TCPServer,
    // bind_and_activate=True, https://docs.python.org/3/library/socketserver.html#socketserver.TCPServer).
    await until("the fake APIs to listen", () => NODES.every((n) => fs.existsSync(path.join(dir, `${n.name}-calls.jsonl.ready`))), 20_000, diagnose);
    start(NODES[0]);
    await until("ash-1's assign call", () => calls(NODES[0]).length >= 1, 20_000, diagnose);
    start(NODES[1]);
    await until("ash-2 to settle as BACKUP", () => /Entering BACKUP STATE/.test(daemons["ash-2-keepalived"].output()), 20_000, diagnose);

    // The entrypoint's work on each node: floating IP on the public interface, netplan file, interface resolved.
    for (const n of NODES) {
      expect(inNs(n.ns, "ip", "-4", "addr", "show", "dev", "pub0")).toContain(`inet ${FIP}/32`);
      expect(fs.readFileSync(path.join(dir, n.name, "netplan", NETPLAN_FILE), "utf8")).toContain(`        - ${FIP}/32`);
      expect(fs.readFileSync(path.join(dir, n.name, "runtime.conf"), "utf8")).toContain(`    interface ${n.iface}\n`);
    }
    expect(calls(NODES[0])).toEqual([{ method: "POST", path: "/v1/floating_ips/4711/actions/assign", auth: `Bearer ${TOKEN}`, body: '{"server":1001}' }]);
    expect(calls(NODES[1])).toEqual([]);

    // Stop the MASTER (by its PID): the BACKUP's notify_master assigns the IP to its server.
    await daemons["ash-1-keepalived"].stop();
    await until("ash-2's assign call", () => calls(NODES[1]).length >= 1, 20_000, diagnose);
    expect(calls(NODES[1])).toEqual([{ method: "POST", path: "/v1/floating_ips/4711/actions/assign", auth: `Bearer ${TOKEN}`, body: '{"server":1002}' }]);
    expect(daemons["ash-2-keepalived"].output()).toMatch(/Entering MASTER STATE/);
    for (const d of Object.values(daemons)) expect(d.output()).not.toContain(TOKEN);
  }, 90_000);
});
