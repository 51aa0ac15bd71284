// The Caddyfiles the program renders for the default stacks and every example stack, checked by a
// real `caddy validate`. Loopback adaptation only swaps certificate files that exist on the
// server (from @pulumi/tls) for `tls internal` and points the preview import at a temp dir;
// routes, auth and headers are validated as rendered.
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { planStack } from "../../tools/planner";
import { caddyValidate } from "./caddy";

const root = path.join(__dirname, "..", "..");

function stackFiles(): { stack: string; file: string }[] {
  const files = [
    { stack: "dev", file: path.join(root, "Pulumi.dev.yaml") },
    { stack: "prod", file: path.join(root, "Pulumi.prod.yaml") },
  ];
  const examples = path.join(root, "examples");
  if (fs.existsSync(examples)) {
    for (const system of fs.readdirSync(examples).sort()) {
      for (const f of fs.readdirSync(path.join(examples, system)).filter((f) => /^Pulumi\..+\.yaml$/.test(f)).sort()) {
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
