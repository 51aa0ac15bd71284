// The default prod and dev stacks, planned under the mocks harness exactly as `pulumi up` runs them.
import * as path from "path";
import { PlanResult, PlannedResource, SecretValue, byType, planProgram } from "./harness";
import { runStack } from "../stacks";
import { readStackConfig } from "../model/stackFile";
import { workloadLabels } from "../policy/lib/resources";

const root = path.join(__dirname, "..");

async function planDefault(stack: string, mutate?: (values: Record<string, string>) => void): Promise<PlanResult> {
  const file = readStackConfig(path.join(root, `Pulumi.${stack}.yaml`));
  const config = { ...file.engineConfig };
  mutate?.(config);
  return planProgram(runStack, { stack, config, secretKeys: file.engineSecretKeys });
}

function editJson(config: Record<string, string>, key: string, edit: (value: any) => any) {
  config[key] = JSON.stringify(edit(config[key] === undefined ? undefined : JSON.parse(config[key])));
}

const workloadTypes = ["docker:index/container:Container", "docker:index/service:Service"];
const workloads = (plan: PlanResult) => plan.resources.filter((r) => workloadTypes.includes(r.type));
const labelOf = (r: PlannedResource, label: string): string | undefined => workloadLabels(r.type, r.props)[label];
const uploadedCaddyfile = (plan: PlanResult) => {
  const caddy = workloads(plan).find((r) => labelOf(r, "twinstack.role") === "proxy")!;
  if (caddy.type === "docker:index/container:Container")
    return (caddy.props.uploads as { file: string; content: string }[]).find((u) => u.file === "/etc/caddy/Caddyfile")!.content;
  const config = plan.resources.find((r) => r.type === "docker:index/serviceConfig:ServiceConfig" && r.name.startsWith(caddy.name))!;
  return Buffer.from(String(config.props.data), "base64").toString();
};

describe("default stacks", () => {
  let dev: PlanResult;
  let prod: PlanResult;
  beforeAll(async () => {
    dev = await planDefault("dev");
    prod = await planDefault("prod");
  });

  it("name databases and roles with their env token, differently per env", () => {
    const names = (plan: PlanResult, type: string) => byType(plan.resources, type).map((r) => r.props.name);
    expect(names(prod, "postgresql:index/database:Database")).toEqual(["myapp_prod"]);
    expect(names(prod, "postgresql:index/role:Role")).toEqual(["myapp_prod"]);
    // dev runs its own Postgres container: POSTGRES_DB carries the env.
    const devDb = workloads(dev).find((r) => labelOf(r, "twinstack.role") === "postgres")!;
    expect((devDb.props.envs as string[]).join(" ")).toContain("POSTGRES_DB=myapp_dev");
    expect(devDb.props.name).toBe("myapp-dev-postgres");
  });

  it("revoke CONNECT on the prod database from PUBLIC", () => {
    const revoke = byType(prod.resources, "postgresql:index/grant:Grant").find((g) => g.props.role === "public");
    expect(revoke?.props).toMatchObject({ database: "myapp_prod", objectType: "database", privileges: [] });
  });

  it("keep every password a secret in inputs and outputs", () => {
    for (const plan of [dev, prod]) {
      for (const password of byType(plan.resources, "random:index/randomPassword:RandomPassword")) {
        const plaintext = String(password.state.result);
        expect(plaintext.length).toBeGreaterThanOrEqual(8);
        for (const r of plan.resources) {
          const visible = JSON.stringify(r.inputs, (_k, v) => (v instanceof SecretValue ? "[secret]" : v));
          expect(visible).not.toContain(plaintext);
        }
        expect(JSON.stringify(plan.outputs)).not.toContain(plaintext);
      }
      expect(plan.outputs.connectionString).toBeInstanceOf(SecretValue);
      expect(plan.outputs.basicAuthPasswords).toBeInstanceOf(SecretValue);
    }
  });

  it("put basic auth and noindex on the dev Caddyfile and neither on prod's", () => {
    const devCaddyfile = uploadedCaddyfile(dev);
    expect(devCaddyfile).toMatch(/basicauth|basic_auth/);
    expect(devCaddyfile).toContain('X-Robots-Tag "noindex, nofollow"');
    expect(devCaddyfile).toContain("import /etc/caddy/previews/*.caddy");
    expect(dev.outputs.caddyfile).toBe(devCaddyfile);
    const prodCaddyfile = uploadedCaddyfile(prod);
    expect(prodCaddyfile).not.toMatch(/basicauth|basic_auth/);
    expect(prodCaddyfile).not.toContain("X-Robots-Tag");
    expect(prodCaddyfile).toContain("myapp.example.com");
  });

  it("roll back Swarm services that fail their update, after a health check", () => {
    const app = byType(prod.resources, "docker:index/service:Service").find((s) => labelOf(s, "twinstack.role") === "app")!;
    expect(app.props.updateConfig).toMatchObject({ failureAction: "rollback", order: "start-first" });
    expect(app.props.rollbackConfig).toBeDefined();
    // The image-independent probe (issue 13): a static busybox from the probe volume, no shell.
    expect((app.props.taskSpec as any).containerSpec.healthcheck.tests.slice(0, 3)).toEqual(["CMD", "/.twinstack-probe/busybox", "wget"]);
    expect((app.props.taskSpec as any).containerSpec.image).toMatch(/@sha256:[0-9a-f]{64}$/);
  });

  it("pin Swarm services with node-local data to the main host, and let the stateless app float", () => {
    const service = (role: string) => byType(prod.resources, "docker:index/service:Service").find((s) => labelOf(s, "twinstack.role") === role)!;
    expect((service("redis").props.taskSpec as any).placement.constraints).toEqual(["node.labels.twinstack.host==node1"]);
    expect((service("app").props.taskSpec as any).placement).toBeUndefined();
    // The nodes get that label when the swarm is formed over SSH.
    const labelNode2 = prod.resources.find((r) => r.type === "command:remote:Command" && r.name.endsWith("swarm-label-node2"))!;
    expect(String(labelNode2.props.create)).toContain("twinstack.host=node2");
  });

  it("health-gate the standalone dev app: unnamed container, waited on until healthy", () => {
    const app = workloads(dev).find((r) => labelOf(r, "twinstack.role") === "app")!;
    expect(app.props.name).toBeUndefined();
    expect(app.props.wait).toBe(true);
    expect(app.props.healthcheck).toBeDefined();
    expect(app.opts.deleteBeforeReplace).toBe(false);
    expect(app.props.networksAdvanced).toEqual([expect.objectContaining({ aliases: ["app"] })]);
    // The replaced version drains (SIGTERM, then the grace) instead of being force-removed mid-request.
    expect(app.props.destroyGraceSeconds).toBe(30);
  });

  it("limit CPU and memory of every dev workload", () => {
    const list = workloads(dev);
    expect(list.length).toBeGreaterThanOrEqual(4);
    for (const w of list) {
      expect([w.name, Number(w.props.cpus)]).toEqual([w.name, expect.any(Number)]);
      expect(Number(w.props.cpus)).toBeGreaterThan(0);
      expect(Number(w.props.memory)).toBeGreaterThan(0);
    }
  });

  it("protect prod's databases, volumes and VIP, and nothing of dev", () => {
    const mustProtect = ["postgresql:index/database:Database", "postgresql:index/role:Role", "docker:index/volume:Volume"];
    for (const r of prod.resources.filter((r) => mustProtect.includes(r.type))) {
      expect([r.name, r.opts.protect]).toEqual([r.name, true]);
    }
    expect(dev.resources.filter((r) => r.opts.protect).map((r) => r.name)).toEqual([]);
  });

  it("give prod and dev different keepalived router ids and VIPs", async () => {
    const devWithVip = await planDefault(
      "dev",
      (c) => (
        editJson(c, "twinstack:vip", () => ({ mode: "keepalived", address: "10.0.0.51", routerId: 51, nodes: ["local"] })),
        editJson(c, "twinstack:hosts", (hosts) => [{ ...hosts[0], address: "10.0.0.11" }])
      ),
    );
    // keepalived needs host addresses for unicast peers
    const ids = (plan: PlanResult) =>
      workloads(plan)
        .filter((r) => labelOf(r, "twinstack.role") === "keepalived")
        .map((r) => labelOf(r, "twinstack.vrrp-router-id"));
    const vips = (plan: PlanResult) =>
      workloads(plan)
        .filter((r) => labelOf(r, "twinstack.role") === "keepalived")
        .map((r) => labelOf(r, "twinstack.vip"));
    expect(ids(prod)).toEqual(["50", "50"]);
    expect(ids(devWithVip)).toEqual(["51"]);
    expect(vips(prod)[0]).not.toEqual(vips(devWithVip)[0]);
  });
});

describe("swarm files", () => {
  it("ship private keys as Swarm secrets and the rest as configs", async () => {
    const file = readStackConfig(path.join(root, "Pulumi.prod.yaml"));
    const config = { ...file.engineConfig };
    editJson(config, "twinstack:proxy", (proxy) => ({ ...proxy, tls: "selfsigned" }));
    // Without a VIP to bind, the proxy is one Swarm service (published on every node).
    editJson(config, "twinstack:vip", () => ({ mode: "none" }));
    const plan = await planProgram(runStack, { stack: "prod", config, secretKeys: file.engineSecretKeys });
    const caddy = byType(plan.resources, "docker:index/service:Service").find((s) => labelOf(s, "twinstack.role") === "proxy")!;
    const spec = (caddy.props.taskSpec as any).containerSpec;
    expect(spec.secrets.map((s: any) => s.fileName)).toEqual(["/etc/caddy/certs/myapp.example.com.key"]);
    expect(spec.configs.map((c: any) => c.fileName).sort()).toEqual(["/etc/caddy/Caddyfile", "/etc/caddy/certs/myapp.example.com.crt"]);
    const secret = byType(plan.resources, "docker:index/secret:Secret")[0];
    expect(secret.inputs.data).toBeInstanceOf(SecretValue);
  });
});

describe("replacement order", () => {
  it("deletes a named container before creating its replacement, and creates the unnamed app first", async () => {
    const file = readStackConfig(path.join(root, "Pulumi.dev.yaml"));
    const plan = await planProgram(runStack, { stack: "dev", config: file.engineConfig, secretKeys: file.engineSecretKeys });
    for (const c of byType(plan.resources, "docker:index/container:Container")) {
      expect([c.name, c.opts.deleteBeforeReplace]).toEqual([c.name, c.props.name !== undefined]);
    }
  });
});
