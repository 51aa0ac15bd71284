// A standalone proxy's configuration changes in place (found by the multi-host lab, issue 12
// scenario 5): the VIP-bound Caddy containers are named and hold fixed ports, so a changed
// Caddyfile or certificate used to replace them (uploads are ForceNew; delete before replace), on
// every node at once. Now the container ignores later changes of its uploads and a Command per
// container installs the files and runs `caddy reload` (components/render/proxyConfig.ts).
// Checked here: the plan (what the program declares, before and after a domain is added), and the
// rendered script run for real by sh against a fake `docker` that stands for the container.
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import YAML from "yaml";
import { PlannedResource, SecretValue } from "./harness";
import { planStack } from "../tools/planner";
import { renderProxyConfigScript, renderProxyConfigStdin } from "../components/render/proxyConfig";
import { removeDir, requireBinary, run, tmpDir } from "./consumers/util";

const root = path.join(__dirname, "..");
const DIGEST = "registry.example.com/myapp@sha256:3f69bdc0b2d3c9e4a4fa5ad2e23e1d5a4c7f0cbc83a27ad0e9a5a25fbbb8d3f1";
const hosts = [
  { name: "node1", docker: "ssh://deploy@10.0.0.11", address: "10.0.0.11", cpus: 8, memoryMb: 16384 },
  { name: "node2", docker: "ssh://deploy@10.0.0.12", address: "10.0.0.12", cpus: 8, memoryMb: 16384 },
];

/** Prod on a two-node Swarm with a keepalived VIP (per-node proxies), and prod standalone on one host. */
const stacks: Record<string, Record<string, unknown>> = {
  swarm: {
    "twinstack:env": "prod",
    "twinstack:runtime": "swarm",
    "twinstack:domains": ["app.example.com"],
    "twinstack:hosts": hosts,
    "twinstack:app": { name: "myapp", image: DIGEST, version: "v1.0.0", port: 3000 },
    "twinstack:proxy": { tls: "selfsigned" },
    "twinstack:vip": { mode: "keepalived", address: "10.0.0.51", interface: "eth0", routerId: 51 },
  },
  standalone: {
    "twinstack:env": "prod",
    "twinstack:domains": ["app.example.com"],
    "twinstack:hosts": [hosts[0]],
    "twinstack:app": { name: "myapp", image: DIGEST, version: "v1.0.0", port: 3000 },
    "twinstack:proxy": { tls: "selfsigned" },
  },
};

const CONTAINER = "docker:index/container:Container";
const COMMAND = "command:local:Command";
const reveal = (v: unknown) => (v instanceof SecretValue ? v.value : v);
const isProxy = (r: PlannedResource) =>
  r.type === CONTAINER && (r.props.labels as { label: string; value: string }[]).some((l) => l.label === "twinstack.role" && l.value === "proxy");
const withoutUploads = (inputs: Record<string, unknown>) => Object.fromEntries(Object.entries(inputs).filter(([k]) => k !== "uploads"));

describe("a standalone proxy's configuration change is a reload, not a replacement (plan)", () => {
  const dirs: string[] = [];
  afterAll(() => dirs.forEach(removeDir));
  const plan = async (stack: string, domains: string[]) => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "twinstack-proxy-reload-"));
    dirs.push(dir);
    const config = { ...stacks[stack], "twinstack:domains": domains };
    fs.writeFileSync(path.join(dir, "Pulumi.prod.yaml"), YAML.stringify({ config }));
    return planStack({ stack: "prod", stackFile: path.join(dir, "Pulumi.prod.yaml"), projectDir: root });
  };

  test.each([
    ["swarm", ["myapp-prod-caddy-node1", "myapp-prod-caddy-node2"], ["ssh://deploy@10.0.0.11", "ssh://deploy@10.0.0.12"]],
    ["standalone", ["myapp-prod-caddy"], ["ssh://deploy@10.0.0.11"]],
  ])(
    "%s: one config Command per proxy container, on its host; a new domain changes the Commands' stdin and no container input but the ignored uploads",
    async (stack, names, endpoints) => {
      const before = await plan(stack, ["app.example.com"]);
      const after = await plan(stack, ["app.example.com", "www.example.com"]);
      const proxies = before.resources.filter(isProxy);
      expect(proxies.map((p) => p.props.name).sort()).toEqual(names);
      for (const [i, proxy] of proxies.sort((a, b) => String(a.props.name).localeCompare(String(b.props.name))).entries()) {
        // The engine keeps the container's uploads once it exists (no ForceNew replacement)...
        expect(proxy.opts.ignoreChanges).toEqual(["uploads"]);
        const later = after.resources.find((r) => r.urn === proxy.urn)!;
        expect(withoutUploads(later.inputs)).toEqual(withoutUploads(proxy.inputs));
        const files = (p: PlannedResource) => (p.props.uploads as { file: string }[]).map((u) => u.file).sort();
        expect(files(later)).toEqual(files(proxy));
        expect(later.props.uploads).not.toEqual(proxy.props.uploads);

        // ...and the Command that belongs to it installs the files and reloads Caddy there.
        const cmd = before.resources.find((r) => r.type === COMMAND && r.dependencies.includes(proxy.urn) && r.opts.dependsOn.includes(proxy.urn));
        expect(cmd).toBeDefined();
        expect(cmd!.props.environment).toEqual({ DOCKER_HOST: endpoints[i] });
        expect(cmd!.props.create).toContain(`container='${proxy.props.name}'`);
        expect(cmd!.props.create).toContain('caddy reload --config "$caddyfile" --adapter caddyfile');
        expect(cmd!.propertyDependencies.triggers).toContain(proxy.urn);
        // The files (keys among them) are on stdin only, and stdin stays a secret.
        expect(cmd!.inputs.stdin).toBeInstanceOf(SecretValue);
        const stdin = String(reveal(cmd!.inputs.stdin));
        const installed = stdin
          .trim()
          .split("\n")
          .map((line) => line.split(" ").slice(0, 2).join(" "));
        expect(installed[installed.length - 1]).toBe("0644 /etc/caddy/Caddyfile");
        expect(installed).toContain("0600 /etc/caddy/certs/app.example.com.key");
        const caddyfile = (p: PlannedResource) => (p.props.uploads as { file: string; content: string }[]).find((u) => u.file === "/etc/caddy/Caddyfile")!.content;
        expect(Buffer.from(stdin.trim().split("\n").pop()!.split(" ")[2], "base64").toString()).toBe(caddyfile(proxy));
        expect(String(cmd!.props.create)).not.toContain("PRIVATE KEY");

        const cmdLater = after.resources.find((r) => r.urn === cmd!.urn)!;
        expect(cmdLater.props.create).toBe(cmd!.props.create);
        const laterStdin = String(reveal(cmdLater.inputs.stdin));
        expect(laterStdin).not.toBe(stdin);
        expect(Buffer.from(laterStdin.trim().split("\n").pop()!.split(" ")[2], "base64").toString()).toContain("www.example.com");
        expect(caddyfile(later)).toContain("www.example.com");
      }
      expect(after.resources.filter((r) => r.type === COMMAND && r.name.includes("caddy-config"))).toHaveLength(names.length);
    },
  );

  test("a Swarm service proxy keeps its content-named configs (a change is a rolling start-first update): no config Command", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "twinstack-proxy-reload-"));
    dirs.push(dir);
    const config = { ...stacks.swarm };
    delete config["twinstack:vip"];
    fs.writeFileSync(path.join(dir, "Pulumi.prod.yaml"), YAML.stringify({ config }));
    const p = await planStack({ stack: "prod", stackFile: path.join(dir, "Pulumi.prod.yaml"), projectDir: root });
    const service = p.resources.find((r) => r.type === "docker:index/service:Service" && r.props.name === "myapp-prod-caddy");
    expect(service).toBeDefined();
    expect((service!.props.updateConfig as { order: string }).order).toBe("start-first");
    expect(p.resources.filter((r) => r.type === COMMAND && r.name.includes("caddy-config"))).toEqual([]);
  });
});

describe("renderProxyConfigStdin / renderProxyConfigScript (pure)", () => {
  test("stdin: one line per file, octal mode, path, base64 content", () => {
    expect(renderProxyConfigStdin([{ path: "/etc/caddy/Caddyfile", content: "a {\n}\n", mode: 0o644 }])).toBe(
      `0644 /etc/caddy/Caddyfile ${Buffer.from("a {\n}\n").toString("base64")}\n`,
    );
  });
  test.each([
    [[{ path: "etc/caddy/Caddyfile", content: "", mode: 0o644 }], /absolute path/],
    [[{ path: "/etc/caddy/../x", content: "", mode: 0o644 }], /absolute path/],
    [[{ path: "/etc/caddy/a b", content: "", mode: 0o644 }], /absolute path/],
    [[{ path: "/a", content: "", mode: 0o1777 }], /mode/],
    [
      [
        { path: "/a", content: "", mode: 0o644 },
        { path: "/a", content: "", mode: 0o644 },
      ],
      /twice/,
    ],
    [[], /no files/],
  ])("stdin refuses %j", (files, message) => {
    expect(() => renderProxyConfigStdin(files)).toThrow(message);
  });
  test("the script refuses a container name or Caddyfile path that could break out of its quotes", () => {
    expect(() => renderProxyConfigScript({ containerName: "x';rm -rf /'", caddyfilePath: "/etc/caddy/Caddyfile" })).toThrow(/container name/);
    expect(() => renderProxyConfigScript({ containerName: "c", caddyfilePath: "/etc/caddy/Cad'dyfile" })).toThrow(/caddyfilePath/);
  });
});

describe("shellcheck (Debian's) passes the config script", () => {
  test("no finding", async () => {
    requireBinary("shellcheck");
    const dir = tmpDir("proxy-config-sc-");
    try {
      const file = path.join(dir, "proxy-config.sh");
      fs.writeFileSync(file, renderProxyConfigScript({ containerName: "myapp-prod-caddy-h1", caddyfilePath: "/etc/caddy/Caddyfile" }));
      const r = await run("shellcheck", ["--shell=sh", "--severity=style", file]);
      expect(r.stdout + r.stderr).toBe("");
      expect(r.code).toBe(0);
    } finally {
      removeDir(dir);
    }
  });
});

// A fake `docker` for the script: `docker exec [-i] <container> <command...>` runs the command
// with every absolute-path argument moved under $FAKE_ROOT (the container's filesystem);
// `caddy reload --config <file>` fails when the file contains BAD (Caddy rejects it), else records
// what it loaded. Every call is logged (argv only: what a `ps` on the machine would show).
const FAKE_DOCKER = `#!/bin/bash
set -u
printf '%s\\n' "$*" >>"$FAKE_LOG"
[ "$1" = exec ] || { echo "fake docker: only exec" >&2; exit 2; }
shift
[ "$1" = -i ] && shift
[ "$1" = "$FAKE_CONTAINER" ] || { echo "Error: No such container: $1" >&2; exit 1; }
shift
args=()
for a in "$@"; do case "$a" in /*) args+=("$FAKE_ROOT$a") ;; *) args+=("$a") ;; esac; done
if [ "\${args[0]}" = caddy ]; then
  [ "\${args[1]}" = reload ] || exit 2
  if grep -q BAD "\${args[3]}"; then echo "Error: adapting config using caddyfile: BAD" >&2; exit 1; fi
  cp "\${args[3]}" "$FAKE_LOADED"
  exit 0
fi
exec "\${args[@]}"
`;

describe("the config script, run by sh against a fake docker", () => {
  let dir: string;
  let rootDir: string;
  const KEY = "-----BEGIN PRIVATE KEY-----\nc2VjcmV0LWtleS1ieXRlcw==\n-----END PRIVATE KEY-----\n";
  const script = renderProxyConfigScript({ containerName: "myapp-prod-caddy-h1", caddyfilePath: "/etc/caddy/Caddyfile", attempts: 2 });
  const files = (caddyfile: string) => [
    { path: "/etc/caddy/certs/a.example.com.crt", content: "CERT 2\n", mode: 0o644 },
    { path: "/etc/caddy/certs/a.example.com.key", content: KEY, mode: 0o600 },
    { path: "/etc/caddy/Caddyfile", content: caddyfile, mode: 0o644 },
  ];
  const env = () => ({
    ...process.env,
    PATH: `${path.join(dir, "bin")}:${process.env.PATH}`,
    FAKE_ROOT: rootDir,
    FAKE_LOG: path.join(dir, "calls.log"),
    FAKE_LOADED: path.join(dir, "loaded"),
    FAKE_CONTAINER: "myapp-prod-caddy-h1",
  });
  const read = (p: string) => fs.readFileSync(path.join(rootDir, p), "utf8");

  beforeEach(() => {
    dir = tmpDir("proxy-config-run-");
    rootDir = path.join(dir, "root");
    fs.mkdirSync(path.join(rootDir, "etc", "caddy"), { recursive: true });
    fs.writeFileSync(path.join(rootDir, "etc/caddy/Caddyfile"), "old config\n");
    fs.mkdirSync(path.join(dir, "bin"));
    fs.writeFileSync(path.join(dir, "bin", "docker"), FAKE_DOCKER, { mode: 0o755 });
  });
  afterEach(() => removeDir(dir));

  test("installs every file with its mode (a new directory too), reloads, and leaves no .prev/.tmp", async () => {
    const r = await run("sh", ["-c", script], { env: env(), input: renderProxyConfigStdin(files("a.example.com {\n}\n")) });
    expect(r.stderr).toContain("reloaded");
    expect(r.code).toBe(0);
    expect(read("etc/caddy/Caddyfile")).toBe("a.example.com {\n}\n");
    expect(read("etc/caddy/certs/a.example.com.key")).toBe(KEY);
    expect(fs.statSync(path.join(rootDir, "etc/caddy/certs/a.example.com.key")).mode & 0o777).toBe(0o600);
    expect(fs.statSync(path.join(rootDir, "etc/caddy/certs/a.example.com.crt")).mode & 0o777).toBe(0o644);
    expect(fs.readFileSync(path.join(dir, "loaded"), "utf8")).toBe("a.example.com {\n}\n");
    const left = fs.readdirSync(path.join(rootDir, "etc/caddy"), { recursive: true }).map(String);
    expect(left.filter((f) => /\.(prev|tmp)$/.test(f))).toEqual([]);
    // The key went over stdin only: never in any docker command line.
    expect(fs.readFileSync(path.join(dir, "calls.log"), "utf8")).not.toContain("c2VjcmV0");
  });

  test("a config Caddy rejects: the previous files are put back (a new file removed), reloaded, and the script fails", async () => {
    const r = await run("sh", ["-c", script], { env: env(), input: renderProxyConfigStdin(files("BAD {\n")) });
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/myapp-prod-caddy-h1: error: caddy did not load the new configuration; the previous files were put back/);
    expect(read("etc/caddy/Caddyfile")).toBe("old config\n");
    expect(fs.existsSync(path.join(rootDir, "etc/caddy/certs/a.example.com.key"))).toBe(false);
    // The restored file was loaded again.
    expect(fs.readFileSync(path.join(dir, "loaded"), "utf8")).toBe("old config\n");
    const reloads = fs
      .readFileSync(path.join(dir, "calls.log"), "utf8")
      .split("\n")
      .filter((l) => l.includes("caddy reload"));
    expect(reloads).toHaveLength(3);
  });

  test("no such container: fails naming it, nothing installed", async () => {
    const r = await run("sh", ["-c", script], { env: { ...env(), FAKE_CONTAINER: "other" }, input: renderProxyConfigStdin(files("a.example.com {\n}\n")) });
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/No such container: myapp-prod-caddy-h1/);
    expect(r.stderr).toMatch(/could not install \/etc\/caddy\/certs\/a.example.com.crt/);
    expect(read("etc/caddy/Caddyfile")).toBe("old config\n");
  });
});
