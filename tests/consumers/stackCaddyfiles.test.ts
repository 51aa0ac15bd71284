// The Caddyfiles the program renders for the default stacks and every example stack, checked by a
// real `caddy validate`. Loopback adaptation only swaps certificate files that exist on the
// server (from @pulumi/tls) for `tls internal` and points the preview import at a temp dir;
// routes, auth and headers are validated as rendered.
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { planStack } from "../../tools/planner";
import { caddyValidate, freePort, request, startCaddy, startUpstream } from "./caddy";

const root = path.join(__dirname, "..", "..");

function stackFiles(): { stack: string; file: string }[] {
  const files = [
    { stack: "dev", file: path.join(root, "Pulumi.dev.yaml") },
    { stack: "prod", file: path.join(root, "Pulumi.prod.yaml") },
  ];
  const examples = path.join(root, "examples");
  if (fs.existsSync(examples)) {
    for (const system of fs.readdirSync(examples).sort()) {
      for (const f of fs
        .readdirSync(path.join(examples, system))
        .filter((f) => /^Pulumi\..+\.yaml$/.test(f))
        .sort()) {
        files.push({ stack: f.replace(/^Pulumi\.(.+)\.yaml$/, "$1"), file: path.join(examples, system, f) });
      }
    }
  }
  return files;
}

describe("rendered Caddyfiles pass caddy validate", () => {
  const previews = fs.mkdtempSync(path.join(os.tmpdir(), "twinstack-previews-"));
  afterAll(() => fs.rmSync(previews, { recursive: true, force: true }));

  it.each(stackFiles().map((s) => [path.relative(root, s.file), s] as const))("%s", async (_label, { stack, file }) => {
    const plan = await planStack({ stack, stackFile: file, projectDir: root, runPolicyPack: false });
    const caddyfile = plan.outputs.caddyfile;
    if (caddyfile === undefined) {
      // A stack without a proxy (e.g. an app published on a host port) renders no Caddyfile.
      expect(plan.resources.some((r) => r.name.endsWith("-caddy"))).toBe(false);
      return;
    }
    expect(typeof caddyfile).toBe("string");
    const adapted = String(caddyfile)
      .replace(/^(\s*)tls \/etc\/caddy\/certs\/\S+ \/etc\/caddy\/certs\/\S+$/gm, "$1tls internal")
      .replaceAll("/etc/caddy/previews", previews);
    expect(adapted).not.toContain("/etc/caddy/certs");
    caddyValidate(adapted);
    // The check bites: the same file with a misspelt directive is rejected.
    expect(adapted).toContain("reverse_proxy ");
    expect(() => caddyValidate(adapted.replace("reverse_proxy ", "reverse_proxyy "))).toThrow(/reverse_proxyy/);
  });
});

// Mutation tried: InstanceStack rendering no basic-auth users for dev made the loopback test fail (200 instead of 401).
describe("the default stacks' own Caddyfiles, served by a real Caddy on loopback", () => {
  // Only what loopback needs changes: the global options (ACME email; the test Caddy brings its
  // own) go, site addresses become http://<domain>:<port>, the server's certificate lines go, and
  // the container upstreams (app:80) point at local stand-ins.
  function onLoopback(caddyfile: string, port: number, upstreams: Record<string, string>, previewsDir: string): string {
    let text = caddyfile
      .replace(/^\{\n[^]*?\n\}\n/, "")
      .replace(/^(\s*)tls \S+ \S+$/gm, "")
      .replace(/^([a-z0-9.-]+) \{$/gm, `http://$1:${port} {`)
      .replaceAll("/etc/caddy/previews", previewsDir);
    for (const [from, to] of Object.entries(upstreams)) text = text.replaceAll(`reverse_proxy ${from}`, `reverse_proxy ${to}`);
    return text;
  }

  it("dev asks for the generated password and says noindex; prod does neither", async () => {
    const [dev, prod] = await Promise.all(["dev", "prod"].map((stack) => planStack({ stack, projectDir: root, runPolicyPack: false })));
    const password = String(dev.resources.find((r) => r.name === "myapp-dev-basic-auth-dev")!.state.result);
    const app = await startUpstream("app");
    const previewsDir = fs.mkdtempSync(path.join(os.tmpdir(), "twinstack-previews-"));
    const port = await freePort();
    const both =
      onLoopback(String(dev.outputs.caddyfile), port, { "app:80": app.address }, previewsDir) +
      "\n" +
      onLoopback(String(prod.outputs.caddyfile), port, { "app:80": app.address }, previewsDir);
    const caddy = await startCaddy(both);
    try {
      const devHost = "dev.myapp.localhost";
      const anonymous = await request({ port, path: "/", host: devHost });
      expect(anonymous.status).toBe(401);
      expect(anonymous.headers["x-robots-tag"]).toBe("noindex, nofollow");
      expect((await request({ port, path: "/", host: devHost, auth: { user: "dev", password: `${password}x` } })).status).toBe(401);
      const authed = await request({ port, path: "/hello", host: devHost, auth: { user: "dev", password } });
      expect([authed.status, authed.headers["x-upstream"], authed.headers["x-robots-tag"]]).toEqual([200, "app", "noindex, nofollow"]);

      const live = await request({ port, path: "/", host: "myapp.example.com" });
      expect([live.status, live.headers["x-upstream"], live.headers["x-robots-tag"]]).toEqual([200, "app", undefined]);
    } finally {
      await caddy.stop();
      await app.stop();
      fs.rmSync(previewsDir, { recursive: true, force: true });
    }
  });
});
