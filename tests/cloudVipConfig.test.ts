// Config validation of cloud VIPs (model/validate.ts, stacks/config.ts): a hcloud floating IP on
// two or more hosts needs the API token secret (named by vip.apiTokenKey), and a DigitalOcean
// reserved IP cannot move between droplets (their Cloud Firewall drops VRRP); each message names
// the stack file and the key, never the token.
import { ConfigError, parseStackConfig } from "../stacks/config";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import YAML from "yaml";
import { cloudVipFailover, cloudVipNodes, privateNetworkPlan } from "../model/hosts";
import { runPlanCliAsync } from "../tools/planCli";
import { stackClaims } from "../model/claims";
import { stackConfigSchema } from "../model/schema";

const TOKEN = "hcloudTokenValueThatMustNeverBeShown0123456789";

function problemsOf(values: Record<string, unknown>, isSecret?: (k: string) => boolean): string[] {
  try {
    parseStackConfig(values, { stack: "prod", sourceFile: "Pulumi.prod.yaml", isSecret });
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
  return [];
}

const host = (name: string, provider: "hcloud" | "digitalocean") => ({
  name,
  provision: { provider, type: provider === "hcloud" ? "cx22" : "s-2vcpu-4gb", location: provider === "hcloud" ? "fsn1" : "nyc3", image: "ubuntu-24.04" },
});

const base = (provider: "hcloud" | "digitalocean", hosts: number, vip: Record<string, unknown> = {}) => ({
  env: "prod",
  runtime: "swarm",
  domains: ["app.example.com"],
  hosts: Array.from({ length: hosts }, (_, i) => host(`node${i + 1}`, provider)),
  provisioning: { adminCidr: "198.51.100.0/24" },
  app: { name: "shop", image: "registry.example.com/shop:v1", version: "v1" },
  proxy: { tls: "acme", acmeEmail: "ops@example.com" },
  vip: { mode: provider, ...vip },
});

describe("a hcloud floating IP on two or more hosts", () => {
  it("moves on failover by default, over the private network, and requires the token secret naming file and key", () => {
    const values = base("hcloud", 2);
    const problems = problemsOf(values);
    expect(problems).toEqual([
      expect.stringMatching(/Pulumi\.prod\.yaml.*twinstack:vipApiToken: required secret is missing: set it with `pulumi config set --secret vipApiToken <value>`/),
    ]);
    const { config, secretKeys } = parseStackConfig({ ...values, vipApiToken: TOKEN }, { stack: "prod", sourceFile: "Pulumi.prod.yaml", isSecret: (k) => k === "vipApiToken" });
    expect(secretKeys).toEqual(["vipApiToken"]);
    expect(cloudVipNodes(config)).toEqual(["node1", "node2"]);
    expect(cloudVipFailover(config)).toBe(true);
    expect(privateNetworkPlan(config).plan).toBeDefined();
  });

  it("takes the token under the key vip.apiTokenKey names, and refuses it in plain text without showing it", () => {
    const values = { ...base("hcloud", 2, { apiTokenKey: "hetznerToken" }), hetznerToken: TOKEN };
    const problems = problemsOf(values, () => false);
    expect(problems).toEqual([expect.stringContaining("twinstack:hetznerToken: holds a secret in plain text")]);
    expect(problems.join("\n")).not.toContain(TOKEN);
  });

  it("a key name that is one of the program's own keys (app, postgres) is refused where it is named, for every secret reference", () => {
    expect(problemsOf(base("hcloud", 2, { apiTokenKey: "app" }), () => false)).toEqual([
      'Pulumi.prod.yaml: twinstack:vip.apiTokenKey: names "app", which is one of the program\'s own config keys (twinstack:app), not a free name for a secret: choose another key name',
    ]);
    const shared = { ...base("hcloud", 1), postgres: { mode: "shared", host: "db.example.com", adminPasswordKey: "postgres" } };
    expect(problemsOf(shared, () => false)).toEqual([
      'Pulumi.prod.yaml: twinstack:postgres.adminPasswordKey: names "postgres", which is one of the program\'s own config keys (twinstack:postgres), not a free name for a secret: choose another key name',
    ]);
  });

  it("one hcloud host: a static assignment, no token needed", () => {
    const { config } = parseStackConfig(base("hcloud", 1), { stack: "prod", sourceFile: "Pulumi.prod.yaml" });
    expect(cloudVipFailover(config)).toBe(false);
  });

  it("a standalone stack of two hcloud hosts with a moving VIP gets the private network too; disabling it is refused", () => {
    const values = { ...base("hcloud", 2), runtime: "standalone", vipApiToken: TOKEN };
    const { config } = parseStackConfig(values, { stack: "prod", sourceFile: "Pulumi.prod.yaml", isSecret: (k) => k === "vipApiToken" });
    expect(privateNetworkPlan(config).plan).toBeDefined();
    const off = problemsOf({ ...values, provisioning: { adminCidr: "198.51.100.0/24", privateNetwork: { enabled: false } } }, (k) => k === "vipApiToken");
    expect(off).toEqual([expect.stringMatching(/provisioning\.privateNetwork\.enabled: 2 hcloud hosts form a keepalived group moving the floating IP/)]);
  });
});

describe("a DigitalOcean reserved IP", () => {
  it("on two droplets is refused, naming vip.nodes and why (the firewall passes only tcp/udp/icmp)", () => {
    const problems = problemsOf(base("digitalocean", 2));
    expect(problems).toEqual([
      expect.stringMatching(/Pulumi\.prod\.yaml.*twinstack:vip\.nodes: a DigitalOcean reserved IP cannot move between 2 droplets.*VRRP.*name one node \(vip\.nodes: \[node1\]\)/),
    ]);
  });

  it("on one droplet (vip.nodes) is accepted and needs no token", () => {
    expect(problemsOf(base("digitalocean", 2, { nodes: ["node1"] }))).toEqual([]);
  });
});

describe("the plan CLI on twincigo prod", () => {
  it("--json shows the API token and keepalived.conf only as [secret]; without the secret the plan names file and key", async () => {
    const example = path.join(__dirname, "..", "examples", "twincigo", "Pulumi.prod.yaml");
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "cloudvip-cli-"));
    try {
      const doc = YAML.parse(fs.readFileSync(example, "utf8"));
      delete doc.config["twinstack:vipApiToken"];
      const file = path.join(dir, "Pulumi.prod.yaml");
      fs.writeFileSync(file, YAML.stringify(doc));
      // The two plans run at once.
      const [run, missing] = await Promise.all([runPlanCliAsync(["-s", "prod", "--config", example, "--json"]), runPlanCliAsync(["-s", "prod", "--config", file])]);

      expect(run.status).toBe(0);
      const planned = JSON.parse(run.stdout) as { resources: { name: string; inputs: Record<string, unknown> }[] };
      const kas = planned.resources.filter((r) => /-keepalived-ash-\d$/.test(r.name));
      expect(kas).toHaveLength(3);
      for (const r of kas) {
        const uploads = r.inputs.uploads as { file: string; content: string }[];
        expect(uploads.find((u) => u.file === "/etc/keepalived/twinstack-api-token")!.content).toBe("[secret]");
        expect(uploads.find((u) => u.file === "/etc/keepalived/twinstack.conf")!.content).toBe("[secret]");
        expect(r.inputs.envs).toBeUndefined();
      }
      expect(run.stdout).not.toContain("plan-placeholder-secret");

      expect(missing.status).toBe(1);
      expect(missing.stderr).toMatch(/Pulumi\.prod\.yaml: twinstack:vipApiToken: required secret is missing: set it with `pulumi config set --secret vipApiToken <value>`/);
      expect(missing.stderr).not.toMatch(/\n\s+at /);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }, 120_000);
});

describe("claims of a moving hcloud floating IP (policy no-shared-claims)", () => {
  it("claim the VRRP router id on each VIP node, as the keepalived containers the program declares use it", () => {
    const routerIds = (raw: Record<string, unknown>) =>
      stackClaims(stackConfigSchema.parse(raw))
        .filter((c) => c.kind === "routerId")
        .map((c) => c.value);
    expect(routerIds(base("hcloud", 2))).toEqual(["provisioned:shop-prod-host-node1|51", "provisioned:shop-prod-host-node2|51"]);
    expect(routerIds(base("hcloud", 2, { routerId: 77 }))).toEqual(["provisioned:shop-prod-host-node1|77", "provisioned:shop-prod-host-node2|77"]);
    expect(routerIds(base("hcloud", 1))).toEqual([]);
  });
});
