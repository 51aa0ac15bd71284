// The cloud VIP's node-side pieces (components/render/cloudVip.ts): the notify_master script that
// assigns the floating/reserved IP through the cloud API, and the keepalived container's
// entrypoint. Pure renderer checks, shellcheck on both scripts, and the script run for real
// (sh + curl) against a fake cloud API on 127.0.0.1 that records the exact request.
import * as fs from "fs";
import * as http from "http";
import * as path from "path";
import {
  assignRequest,
  CLOUD_API_BASE,
  CloudVipScriptError,
  NETPLAN_FILE,
  PRIVATE_IFACE_PLACEHOLDER,
  renderAssignScript,
  renderCloudVipEntrypoint,
  renderNetplanFloatingIp,
} from "../components/render/cloudVip";
import { renderKeepalivedConf } from "../components/render/keepalived";
import { removeDir, requireBinary, run, tmpDir } from "./consumers/util";

const TOKEN = "hcTok3nAbCdEfGh1jKlMn0pQrStUvWxYz_secret-value";

const hcloud = { provider: "hcloud" as const, ip: "4711", serverId: "4242", tokenFile: "/etc/keepalived/twinstack-api-token" };
const docean = { provider: "digitalocean" as const, ip: "203.0.113.7", serverId: "987654", tokenFile: "/etc/keepalived/twinstack-api-token" };

describe("assignRequest / renderAssignScript (pure)", () => {
  test("Hetzner: POST /floating_ips/{id}/actions/assign {server}", () => {
    expect(assignRequest(hcloud)).toEqual({ path: "/floating_ips/4711/actions/assign", body: { server: 4242 } });
    const script = renderAssignScript(hcloud);
    expect(script).toContain("url='https://api.hetzner.cloud/v1/floating_ips/4711/actions/assign'");
    expect(script).toContain(`body='{"server":4242}'`);
  });

  test("DigitalOcean: POST /reserved_ips/{ip}/actions {type: assign, droplet_id}", () => {
    expect(assignRequest(docean)).toEqual({ path: "/reserved_ips/203.0.113.7/actions", body: { type: "assign", droplet_id: 987654 } });
    const script = renderAssignScript(docean);
    expect(script).toContain("url='https://api.digitalocean.com/v2/reserved_ips/203.0.113.7/actions'");
    expect(script).toContain(`body='{"type":"assign","droplet_id":987654}'`);
  });

  test("the real API base is the default; the token never appears on a command line", () => {
    expect(CLOUD_API_BASE).toEqual({ hcloud: "https://api.hetzner.cloud/v1", digitalocean: "https://api.digitalocean.com/v2" });
    const script = renderAssignScript(hcloud);
    expect(script).toContain("curl -K - ");
    expect(script).not.toMatch(/-H ['"]Authorization/);
    expect(script).not.toMatch(/\$TOKEN|export /);
  });

  test.each([
    ["non-numeric server id", { ...hcloud, serverId: "42; rm -rf /" }, /serverId/],
    ["non-numeric floating IP id", { ...hcloud, ip: "1.2.3.4" }, /floating IP id/],
    ["reserved IP that is not IPv4", { ...docean, ip: "4711" }, /reserved IP/],
    ["relative token file", { ...hcloud, tokenFile: "token" }, /tokenFile/],
    ["token file with a quote", { ...hcloud, tokenFile: "/etc/it's" }, /tokenFile/],
    ["api base that is not a URL", { ...hcloud, apiBase: "file:///etc/passwd" }, /apiBase/],
  ])("rejects a %s", (_what, args, reason) => {
    expect(() => renderAssignScript(args)).toThrow(CloudVipScriptError);
    expect(() => renderAssignScript(args)).toThrow(reason);
  });
});

describe("renderCloudVipEntrypoint / keepalived.conf of a cloud VIP (pure)", () => {
  const entryArgs = {
    provider: "hcloud" as const,
    address: "203.0.113.50",
    privateAddress: "10.0.1.2",
    publicInterface: "eth0",
    confPath: "/etc/keepalived/twinstack.conf",
    runtimeConfPath: "/etc/keepalived/twinstack-runtime.conf",
    hostNetplanDir: "/host/etc/netplan",
  };

  test("hcloud: adds the floating IP to eth0 and writes Hetzner's netplan file on the host", () => {
    const s = renderCloudVipEntrypoint(entryArgs);
    // The settings above scripts/vip-entrypoint.sh's body (tests/consumers/cloudVipPair.test.ts runs it).
    expect(s).toContain(`\nfloating_ip='203.0.113.50'\npublic_interface='eth0'\nnetplan_file='/host/etc/netplan/${NETPLAN_FILE}'\n`);
    expect(s).toContain(`\nnetplan_text='${renderNetplanFloatingIp("eth0", "203.0.113.50").trimEnd()}'\n`);
    expect(s).toContain('ip addr add "$floating_ip/32" dev "$public_interface"');
    expect(renderNetplanFloatingIp("eth0", "203.0.113.50")).toBe(
      [
        "# twinstack: the Hetzner floating IP of the env (https://docs.hetzner.com/cloud/floating-ips/persistent-configuration/)",
        "network:",
        "  version: 2",
        "  renderer: networkd",
        "  ethernets:",
        "    eth0:",
        "      addresses:",
        "        - 203.0.113.50/32",
        "",
      ].join("\n"),
    );
    expect(s.trimEnd().split("\n").pop()).toBe('exec keepalived "$@"');
  });

  test("digitalocean: nothing on the interface (the anchor IP carries the reserved IP)", () => {
    const s = renderCloudVipEntrypoint({ ...entryArgs, provider: "digitalocean" });
    // The body skips the interface and netplan steps when floating_ip is empty.
    expect(s).toContain("\nfloating_ip=''\npublic_interface=''\nnetplan_file=''\nnetplan_text=''\n");
    expect(s).toContain('if [ -n "$floating_ip" ]; then\n  if ! ip -4 addr show');
  });

  test("keepalived.conf: unicast over the private addresses, no virtual_ipaddress, notify_master", () => {
    const conf = renderKeepalivedConf({
      instanceName: "twincigo-prod",
      interface: PRIVATE_IFACE_PLACEHOLDER,
      virtualRouterId: 51,
      authPass: "abcd1234",
      nodes: [
        { name: "ash-1", address: "10.0.1.2", priority: 150 },
        { name: "ash-2", address: "10.0.1.3", priority: 140 },
      ],
      self: "ash-2",
      notifyMaster: "/etc/keepalived/twinstack-notify-master.sh",
    });
    expect(conf).toContain(`    interface ${PRIVATE_IFACE_PLACEHOLDER}\n`);
    expect(conf).toContain("    state BACKUP\n");
    expect(conf).toContain("    unicast_src_ip 10.0.1.3\n    unicast_peer {\n        10.0.1.2\n    }\n");
    expect(conf).toContain('    notify_master "/etc/keepalived/twinstack-notify-master.sh"\n');
    expect(conf).not.toContain("virtual_ipaddress");
  });

  test("keepalived.conf rejects a notify_master that is not an absolute plain path", () => {
    expect(() =>
      renderKeepalivedConf({
        instanceName: "x",
        interface: "eth1",
        virtualRouterId: 1,
        authPass: "a",
        nodes: [{ name: "a", address: "10.0.0.1", priority: 100 }],
        self: "a",
        notifyMaster: 'notify.sh"; reboot',
      }),
    ).toThrow(/notifyMaster/);
  });
});

describe("shellcheck (Debian's) passes both scripts", () => {
  let dir: string;
  beforeAll(() => {
    requireBinary("shellcheck");
    dir = tmpDir("cloudvip-sc-");
  });
  afterAll(() => removeDir(dir));

  test.each([
    ["notify (hcloud)", renderAssignScript(hcloud)],
    ["notify (digitalocean)", renderAssignScript(docean)],
    [
      "entrypoint (hcloud)",
      "#!/bin/sh\n" +
        renderCloudVipEntrypoint({
          provider: "hcloud",
          address: "203.0.113.50",
          privateAddress: "10.0.1.2",
          publicInterface: "eth0",
          confPath: "/etc/keepalived/twinstack.conf",
          runtimeConfPath: "/run/k.conf",
          hostNetplanDir: "/host/etc/netplan",
        }),
    ],
  ])("%s", async (name, script) => {
    const file = path.join(dir, name.replace(/\W+/g, "_") + ".sh");
    fs.writeFileSync(file, script);
    const r = await run("shellcheck", ["--shell=sh", "--severity=style", file]);
    expect(r.stdout + r.stderr).toBe("");
    expect(r.code).toBe(0);
  });
});

/** A fake cloud API on 127.0.0.1 recording every request; answers with `status`. */
async function fakeApi(status: () => number) {
  const requests: { method: string; url: string; headers: http.IncomingHttpHeaders; body: string }[] = [];
  const server = http.createServer((req, res) => {
    let body = "";
    req.on("data", (c) => (body += c));
    req.on("end", () => {
      requests.push({ method: req.method!, url: req.url!, headers: req.headers, body });
      const code = status();
      res.writeHead(code, { "Content-Type": "application/json" });
      res.end(code < 300 ? '{"action":{"id":1,"command":"assign_floating_ip","status":"running"}}' : '{"error":{"code":"unavailable"}}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as { port: number }).port;
  return { requests, base: `http://127.0.0.1:${port}`, close: () => new Promise<void>((r) => server.close(() => r())) };
}

describe("the notify script against a fake cloud API on 127.0.0.1 (real sh + curl)", () => {
  let dir: string;
  let tokenFile: string;
  beforeAll(() => {
    requireBinary("curl");
    dir = tmpDir("cloudvip-api-");
    tokenFile = path.join(dir, "api-token");
    fs.writeFileSync(tokenFile, TOKEN + "\n", { mode: 0o600 });
  });
  afterAll(() => removeDir(dir));

  async function runScript(args: Parameters<typeof renderAssignScript>[0], env?: NodeJS.ProcessEnv) {
    const file = path.join(dir, `notify-${args.provider}.sh`);
    fs.writeFileSync(file, renderAssignScript(args), { mode: 0o700 });
    return run("/bin/sh", [file], { timeoutMs: 60_000, ...(env ? { env } : {}) });
  }

  /**
   * A `sleep` first on PATH that records its arguments instead of waiting (the script's retry delay
   * is an external `sleep`: dash has no such builtin), so a retry test asserts the delay the script
   * asks for without spending it. Returns the environment and a reader of the recorded delays.
   */
  function recordedSleep(name: string): { env: NodeJS.ProcessEnv; delays: () => string[] } {
    const bin = path.join(dir, `sleep-${name}`);
    const log = path.join(bin, "delays");
    fs.mkdirSync(bin);
    fs.writeFileSync(path.join(bin, "sleep"), `#!/bin/sh\nprintf '%s\\n' "$*" >> '${log}'\n`, { mode: 0o700 });
    return { env: { ...process.env, PATH: `${bin}:${process.env.PATH}` }, delays: () => (fs.existsSync(log) ? fs.readFileSync(log, "utf8").split("\n").filter(Boolean) : []) };
  }

  test.each([
    ["hcloud", hcloud, "/floating_ips/4711/actions/assign", { server: 4242 }],
    ["digitalocean", docean, "/reserved_ips/203.0.113.7/actions", { type: "assign", droplet_id: 987654 }],
  ] as const)("%s: one POST with the exact path, JSON body and Bearer token; the token is not printed", async (_p, args, expectedPath, expectedBody) => {
    const api = await fakeApi(() => 201);
    try {
      const r = await runScript({ ...args, tokenFile, apiBase: `${api.base}/v9` });
      expect(r.code).toBe(0);
      expect(api.requests).toHaveLength(1);
      const [req] = api.requests;
      expect(req.method).toBe("POST");
      expect(req.url).toBe(`/v9${expectedPath}`);
      expect(req.headers.authorization).toBe(`Bearer ${TOKEN}`);
      expect(req.headers["content-type"]).toBe("application/json");
      expect(JSON.parse(req.body)).toEqual(expectedBody);
      expect(r.stderr).toMatch(/assigned .* \(HTTP 201\)/);
      expect(r.stdout + r.stderr).not.toContain(TOKEN);
      expect(r.stdout + r.stderr).not.toContain(TOKEN.slice(0, 12));
    } finally {
      await api.close();
    }
  });

  test("under busybox sh with busybox grep/tr/sleep first on PATH (the image is Alpine): the same request", async () => {
    const busybox = requireBinary("busybox", "busybox-static");
    const bb = path.join(dir, "bb");
    fs.mkdirSync(bb, { recursive: true });
    for (const applet of ["sh", "grep", "tr", "sleep"]) if (!fs.existsSync(path.join(bb, applet))) fs.symlinkSync(busybox, path.join(bb, applet));
    const api = await fakeApi(() => 201);
    try {
      const file = path.join(dir, "notify-busybox.sh");
      fs.writeFileSync(file, renderAssignScript({ ...hcloud, tokenFile, apiBase: api.base }), { mode: 0o700 });
      const r = await run(path.join(bb, "sh"), [file], { env: { ...process.env, PATH: `${bb}:/usr/bin:/bin` }, timeoutMs: 60_000 });
      expect(r.code).toBe(0);
      expect(api.requests.map((q) => [q.method, q.url, q.headers.authorization, q.body])).toEqual([
        ["POST", "/floating_ips/4711/actions/assign", `Bearer ${TOKEN}`, '{"server":4242}'],
      ]);
      expect(r.stdout + r.stderr).not.toContain(TOKEN);
    } finally {
      await api.close();
    }
  });

  test("retries a failing API, then succeeds; a persistent failure exits 1; neither prints the token", async () => {
    let calls = 0;
    const flaky = await fakeApi(() => (++calls < 3 ? 503 : 201));
    try {
      const sleep = recordedSleep("flaky");
      const r = await runScript({ ...hcloud, tokenFile, apiBase: flaky.base, attempts: 4 }, sleep.env);
      expect(r.code).toBe(0);
      expect(flaky.requests).toHaveLength(3);
      // 2 s between attempts (the rendered script's own delay), once per retry.
      expect(sleep.delays()).toEqual(["2", "2"]);
      expect(r.stderr).toContain("failed (HTTP 503), attempt 1 of 4");
      expect(r.stdout + r.stderr).not.toContain(TOKEN);
    } finally {
      await flaky.close();
    }
    const down = await fakeApi(() => 500);
    try {
      const sleep = recordedSleep("down");
      const r = await runScript({ ...hcloud, tokenFile, apiBase: down.base, attempts: 2 }, sleep.env);
      expect(r.code).toBe(1);
      expect(down.requests).toHaveLength(2);
      expect(sleep.delays()).toEqual(["2"]);
      expect(r.stdout + r.stderr).not.toContain(TOKEN);
    } finally {
      await down.close();
    }
  }, 60_000);

  test("a missing token file or a token curl's config syntax cannot carry fails without a request", async () => {
    const api = await fakeApi(() => 201);
    try {
      const missing = await runScript({ ...hcloud, tokenFile: path.join(dir, "absent"), apiBase: api.base });
      expect(missing.code).toBe(1);
      expect(missing.stderr).toMatch(/missing or unreadable/);
      const bad = path.join(dir, "bad-token");
      fs.writeFileSync(bad, 'abc"def\n', { mode: 0o600 });
      const quoted = await runScript({ ...hcloud, tokenFile: bad, apiBase: api.base });
      expect(quoted.code).toBe(1);
      expect(quoted.stderr).not.toContain('abc"def');
      expect(api.requests).toHaveLength(0);
    } finally {
      await api.close();
    }
  });
});
