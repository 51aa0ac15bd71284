// How Swarm publishes ports (issue: field failures, kind 1). A Swarm service has no address for a
// published port: ingress binds every address of every node. So two envs on the same nodes can only
// both serve 80/443 when each env's proxy is a VIP-bound standalone container per node, and the
// cross-stack claims must be what the program really publishes.
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import YAML from "yaml";
import { PlannedResource, planProgram } from "./harness";
import { planStack } from "../tools/planner";
import { declareWorkload } from "../components/workload";
import { workloadLabels } from "../policy/lib/resources";
import { publishedPorts } from "../policy/lib/ports";
import { portClaimsMismatch } from "../policy/crossStack";
import { stackClaims } from "../model/claims";
import { parseStackConfig } from "../stacks/config";
import * as docker from "@pulumi/docker";

const root = path.join(__dirname, "..");
const DIGEST = "registry.example.com/myapp@sha256:3f69bdc0b2d3c9e4a4fa5ad2e23e1d5a4c7f0cbc83a27ad0e9a5a25fbbb8d3f1";
const hosts = [
  { name: "node1", docker: "ssh://deploy@10.0.0.11", address: "10.0.0.11", cpus: 8, memoryMb: 16384 },
  { name: "node2", docker: "ssh://deploy@10.0.0.12", address: "10.0.0.12", cpus: 8, memoryMb: 16384 },
];

/** The issue's input: prod and dev on the same two Swarm nodes, each with its own keepalived VIP. */
function issueInput(): Record<string, Record<string, unknown>> {
  return {
    prod: {
      "twinstack:env": "prod",
      "twinstack:runtime": "swarm",
      "twinstack:domains": ["app.example.com"],
      "twinstack:hosts": hosts,
      "twinstack:app": { name: "myapp", image: DIGEST, version: "v1.0.0", port: 3000 },
      "twinstack:proxy": { tls: "acme", acmeEmail: "ops@example.com" },
      "twinstack:vip": { mode: "keepalived", address: "10.0.0.51", interface: "eth0", routerId: 51 },
    },
    dev: {
      "twinstack:env": "dev",
      "twinstack:runtime": "swarm",
      "twinstack:domains": ["dev.example.com"],
      "twinstack:hosts": hosts,
      "twinstack:app": { name: "myapp", image: "registry.example.com/myapp:dev-latest", port: 3000 },
      "twinstack:proxy": { tls: "acme", acmeEmail: "ops@example.com", basicAuth: [{ user: "dev" }] },
      "twinstack:vip": { mode: "keepalived", address: "10.0.0.52", interface: "eth0", routerId: 52 },
    },
  };
}

function writeStacks(stacks: Record<string, Record<string, unknown>>): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "twinstack-swarm-ports-"));
  for (const [stack, config] of Object.entries(stacks)) fs.writeFileSync(path.join(dir, `Pulumi.${stack}.yaml`), YAML.stringify({ config }));
  return dir;
}

const isWorkload = (r: PlannedResource) => r.type === "docker:index/container:Container" || r.type === "docker:index/service:Service";
const labelsOf = (r: PlannedResource) => workloadLabels(r.type, r.props);

describe("Swarm port publishing", () => {
  const dirs: string[] = [];
  afterAll(() => dirs.forEach((d) => fs.rmSync(d, { recursive: true, force: true })));
  const plan = async (stacks: Record<string, Record<string, unknown>>, stack: string) => {
    const dir = writeStacks(stacks);
    dirs.push(dir);
    return planStack({ stack, stackFile: path.join(dir, `Pulumi.${stack}.yaml`), projectDir: root });
  };

  it("serves prod and dev on the same nodes, each only on its own VIP, with no mandatory violation", async () => {
    const input = issueInput();
    for (const [stack, vip] of [
      ["prod", "10.0.0.51"],
      ["dev", "10.0.0.52"],
    ] as const) {
      const p = await plan(input, stack);
      expect(p.violations.filter((v) => v.enforcementLevel === "mandatory")).toEqual([]);
      const published = publishedPorts(p.resources);
      // 80 and 443 are bound to this env's VIP on both nodes, and nowhere else.
      const web = published.filter((b) => b.port === 80 || b.port === 443);
      expect(web.map((b) => `${b.host} ${b.address}:${b.port}`).sort()).toEqual([`node1 ${vip}:443`, `node1 ${vip}:80`, `node2 ${vip}:443`, `node2 ${vip}:80`]);
      // keepalived's track port is on loopback, for real, on both nodes.
      const routerId = stack === "prod" ? 51 : 52;
      expect(
        published
          .filter((b) => b.port === 20000 + routerId)
          .map((b) => `${b.host} ${b.address}`)
          .sort(),
      ).toEqual(["node1 127.0.0.1", "node2 127.0.0.1"]);
      // Those bindings are standalone containers on each node's own Docker provider, joined to the overlay network.
      const proxies = p.resources.filter((r) => isWorkload(r) && labelsOf(r)["twinstack.role"] === "proxy");
      expect(proxies.map((r) => r.type)).toEqual(["docker:index/container:Container", "docker:index/container:Container"]);
      for (const proxy of proxies) {
        expect(proxy.provider).toContain(`docker-${labelsOf(proxy)["twinstack.host"]}`);
        expect((proxy.props.networksAdvanced as any[])[0].name).toBe(`myapp-${stack}-net`);
      }
    }
  });

  it("services that publish nothing are reached by DNS round-robin (dnsrr), not a VIP that needs IPVS; published ones keep VIP (ingress)", async () => {
    const input = issueInput();
    input.prod["twinstack:gitea"] = { enabled: true, sshPort: 2222 };
    const p = await plan(input, "prod");
    const services = p.resources.filter((r) => r.type === "docker:index/service:Service");
    const app = services.find((r) => r.props.name === "myapp-prod-app")!;
    // The VIP-bound Caddy containers dial app:<port>: with dnsrr the name gives the tasks' own addresses.
    expect(app.props.endpointSpec).toEqual({ mode: "dnsrr" });
    for (const svc of services) {
      const spec = svc.props.endpointSpec as any;
      if (spec?.ports?.length) expect(spec.mode).toBeUndefined();
      else expect(spec).toEqual({ mode: "dnsrr" });
    }
    expect(services.some((s) => (s.props.endpointSpec as any)?.ports?.length)).toBe(true);
  });

  it("a service's command goes to ContainerSpec args (the image's entrypoint still runs), never to commands (which replaces the entrypoint)", async () => {
    const input = issueInput();
    input.prod["twinstack:redis"] = { mode: "dedicated" };
    const p = await plan(input, "prod");
    const services = p.resources.filter((r) => r.type === "docker:index/service:Service");
    const redis = services.find((r) => r.props.name === "myapp-prod-redis")!;
    expect((redis.props.taskSpec as any).containerSpec.args).toEqual(["redis-server", "--appendonly", "yes"]);
    for (const svc of services) expect((svc.props.taskSpec as any).containerSpec.commands).toBeUndefined();
  });

  it("a proxy.bindAddress on a Swarm without a VIP is a container on the main host bound to that address (claims agree)", async () => {
    const input = issueInput();
    input.dev["twinstack:vip"] = { mode: "none" };
    input.dev["twinstack:proxy"] = { tls: "acme", acmeEmail: "ops@example.com", basicAuth: [{ user: "dev" }], bindAddress: "10.0.0.12" };
    const p = await plan(input, "dev");
    expect(p.violations.filter((v) => v.enforcementLevel === "mandatory")).toEqual([]);
    expect(
      publishedPorts(p.resources)
        .map((b) => `${b.host} ${b.address}:${b.port}`)
        .sort(),
    ).toEqual(["node1 10.0.0.12:443", "node1 10.0.0.12:80"]);
  });

  it("reports a clash when two envs on the same nodes publish the same Swarm port, whatever their VIPs", async () => {
    const input = issueInput();
    for (const stack of ["prod", "dev"]) input[stack]["twinstack:gitea"] = { enabled: true, sshPort: 2222 };
    const p = await plan(input, "dev");
    const clashes = p.violations.filter((v) => v.policy === "no-shared-claims").map((v) => v.message);
    // Git over SSH is a Swarm service port: every address of every node, not just the VIP.
    expect(clashes.some((m) => m.includes("0.0.0.0:2222") && m.includes("twinstack:gitea.sshPort"))).toBe(true);
  });

  it("reports a clash for two Swarm proxies without VIPs on the same nodes", async () => {
    const input = issueInput();
    for (const stack of ["prod", "dev"]) input[stack]["twinstack:vip"] = { mode: "none" };
    const p = await plan(input, "dev");
    const clashes = p.violations.filter((v) => v.policy === "no-shared-claims").map((v) => v.message);
    expect(clashes.some((m) => m.includes("0.0.0.0:443"))).toBe(true);
  });

  it("refuses a Swarm workload whose port names one address (it would bind every address)", async () => {
    const program = () => {
      const provider = new docker.Provider("p", { host: "unix:///var/run/docker.sock" });
      const parent = new pulumi.ComponentResource("twinstack:index:Test", "t");
      declareWorkload("w", { name: "x-dev-w", role: "app", image: "img", ports: [{ internal: 80, external: 8080, ip: "127.0.0.1" }] }, { runtime: "swarm", provider, parent });
    };
    await expect(planProgram(program, { stack: "dev", config: {} })).rejects.toThrow(/Swarm service cannot publish a port on one address \(127\.0\.0\.1:8080\)/);
  });

  it("detects claims that disagree with what the program publishes, both ways", () => {
    const { config } = parseStackConfig(Object.fromEntries(Object.entries(issueInput().prod).map(([k, v]) => [k.replace("twinstack:", ""), v])), {
      stack: "prod",
      sourceFile: "Pulumi.prod.yaml",
    });
    const claims = stackClaims(config, { stack: "prod" });
    // What the old program did: the proxy as a Swarm service, its ports in ingress mode on every node.
    const oldProgram = publishedPorts([
      {
        type: "docker:index/service:Service",
        name: "myapp-prod-caddy",
        props: { endpointSpec: { ports: [80, 443, 20051].map((publishedPort) => ({ publishedPort, targetPort: 80, publishMode: "ingress" })) } },
      },
    ]);
    const problems = portClaimsMismatch(claims, oldProgram, ["node1", "node2"]);
    expect(problems).toContain("myapp-prod-caddy publishes node1 0.0.0.0:443, which the stack's claims do not include (claims and program disagree)");
    expect(problems).toContain("the stack's claims include node2 10.0.0.51:443, which no declared resource publishes (claims and program disagree)");
  });
});
