// `monitoring` on a stack: the default prod and dev stacks planned with monitoring enabled through
// planStack (what `npm run plan` runs, policy pack included), its config validation, and the
// probe targets of a stack's sites.
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import YAML from "yaml";
import { PlannedResource, SecretValue, byType, plainStrings } from "./harness";
import { StackPlan, planStack } from "../tools/planner";
import { ConfigError, parseStackConfig } from "../stacks/config";
import { siteProbeTargets } from "../components/monitoring";
import { workloadLabels } from "../policy/lib/resources";

const root = path.join(__dirname, "..");

/** Copies both default stack files into a temp project dir, enabling monitoring where asked. */
function stackDir(enable: Record<string, Record<string, unknown> | undefined>): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "twinstack-monitoring-plan-"));
  for (const stack of ["prod", "dev"]) {
    const doc = YAML.parse(fs.readFileSync(path.join(root, `Pulumi.${stack}.yaml`), "utf8"));
    if (enable[stack]) {
      doc.config["twinstack:monitoring"] = enable[stack];
      doc.config["twinstack:alertWebhookUrl"] = { secure: "v1:placeholder-set-with-pulumi-config-set-secret" };
    }
    fs.writeFileSync(path.join(dir, `Pulumi.${stack}.yaml`), YAML.stringify(doc));
  }
  return dir;
}

const monitoringOn = { enabled: true, alerts: { webhookUrlKey: "alertWebhookUrl" } };
const WORKLOADS = ["docker:index/container:Container", "docker:index/service:Service"];
const monitoringWorkloads = (p: StackPlan) => p.resources.filter((r) => WORKLOADS.includes(r.type) && workloadLabels(r.type, r.props)["twinstack.role"] === "monitoring");
const part = (r: PlannedResource) => workloadLabels(r.type, r.props)["twinstack.monitoring"];
/** The content of a file a Swarm service gets, by its path in the container. */
function swarmFile(p: StackPlan, service: PlannedResource, file: string): { kind: "config" | "secret"; resource: PlannedResource; text: string } {
  const spec = (service.props.taskSpec as any).containerSpec;
  const config = (spec.configs ?? []).find((c: any) => c.fileName === file);
  if (config) {
    const r = p.resources.find((x) => x.type === "docker:index/serviceConfig:ServiceConfig" && x.state.name === config.configName)!;
    return { kind: "config", resource: r, text: Buffer.from(String(r.props.data), "base64").toString() };
  }
  const secret = (spec.secrets ?? []).find((s: any) => s.fileName === file);
  const r = p.resources.find((x) => x.type === "docker:index/secret:Secret" && x.state.name === secret.secretName)!;
  return { kind: "secret", resource: r, text: Buffer.from(String(r.props.data), "base64").toString() };
}

describe("monitoring on the default stacks", () => {
  let prod: StackPlan;
  let dev: StackPlan;
  let devDefault: StackPlan;
  const dirs: string[] = [];
  beforeAll(async () => {
    // Dev's six monitoring workloads at 0.05 CPU fit the default dev's budget (1.6 of 4 CPUs) beside
    // Postgres, Redis, Caddy and the app at 0.25 and the health probe's seeder at 0.05: 1.35 CPUs.
    const on = stackDir({ prod: monitoringOn, dev: { ...monitoringOn, limits: { cpus: 0.05, memoryMb: 128 } } });
    const off = stackDir({});
    dirs.push(on, off);
    prod = await planStack({ stack: "prod", stackFile: path.join(on, "Pulumi.prod.yaml"), projectDir: root });
    dev = await planStack({ stack: "dev", stackFile: path.join(on, "Pulumi.dev.yaml"), projectDir: root });
    devDefault = await planStack({ stack: "dev", stackFile: path.join(off, "Pulumi.dev.yaml"), projectDir: root });
  }, 240_000);
  afterAll(() => dirs.forEach((d) => fs.rmSync(d, { recursive: true, force: true })));

  it("plans prod and dev with monitoring with zero mandatory policy violations", () => {
    expect(prod.violations.filter((v) => v.enforcementLevel === "mandatory")).toEqual([]);
    expect(dev.violations.filter((v) => v.enforcementLevel === "mandatory")).toEqual([]);
  });

  it("is off by default: the default dev stack declares no monitoring", () => {
    expect(monitoringWorkloads(devDefault)).toEqual([]);
    expect(byType(devDefault.resources, "twinstack:index:Monitoring")).toEqual([]);
  });

  it("runs Prometheus, Alertmanager, the blackbox exporter, node-exporter, cAdvisor and postgres_exporter, named with the env token", () => {
    for (const [p, env] of [
      [prod, "prod"],
      [dev, "dev"],
    ] as const) {
      expect(
        monitoringWorkloads(p)
          .map((r) => r.props.name)
          .sort(),
      ).toEqual(["alertmanager", "blackbox", "cadvisor", "node-exporter", "postgres-exporter", "prometheus"].map((s) => `myapp-${env}-${s}`));
    }
    expect(byType(prod.resources, "docker:index/volume:Volume").find((v) => v.props.name === "myapp-prod-prometheus-data")!.opts.protect).toBe(true);
  });

  it("publishes no monitoring port on any host", () => {
    for (const r of [...monitoringWorkloads(prod), ...monitoringWorkloads(dev)]) {
      if (r.type === "docker:index/service:Service") expect(r.props.endpointSpec).toEqual({ mode: "dnsrr" });
      else expect(r.props.ports ?? []).toEqual([]);
    }
  });

  it("probes prod's site for 2xx and dev's for the 401 of its basic auth", () => {
    const prometheus = monitoringWorkloads(prod).find((r) => part(r) === "prometheus")!;
    const promYml = YAML.parse(swarmFile(prod, prometheus, "/etc/prometheus/prometheus.yml").text);
    const probeJobs = promYml.scrape_configs.filter((j: any) => j.metrics_path === "/probe");
    expect(probeJobs.map((j: any) => [j.params.module[0], j.static_configs[0].targets])).toEqual([["http_2xx", ["https://myapp.example.com/"]]]);
    expect(promYml.global.external_labels).toEqual({ env: "prod", stack: "prod" });
    expect(promYml.scrape_configs.map((j: any) => j.job_name)).toEqual(["prometheus", "node", "cadvisor", "postgres", "blackbox-http_2xx"]);

    const devProm = monitoringWorkloads(dev).find((r) => part(r) === "prometheus")!;
    const devYml = YAML.parse((devProm.props.uploads as any[]).find((u) => u.file === "/etc/prometheus/prometheus.yml").content);
    expect(devYml.scrape_configs.filter((j: any) => j.metrics_path === "/probe").map((j: any) => [j.params.module[0], j.static_configs[0].targets])).toEqual([
      ["http_401", ["https://dev.myapp.localhost:8443/"]],
    ]);
    // dev's self-signed certificate: verified by nobody, its expiry still read.
    const bb = monitoringWorkloads(dev).find((r) => part(r) === "blackbox")!;
    expect(YAML.parse((bb.props.uploads as any[])[0].content).modules.http_2xx.http.tls_config).toEqual({ insecure_skip_verify: true });
  });

  it("ships the alert rules with the seed's thresholds", () => {
    const prometheus = monitoringWorkloads(prod).find((r) => part(r) === "prometheus")!;
    const rules = YAML.parse(swarmFile(prod, prometheus, "/etc/prometheus/rules.yml").text).groups[0].rules as any[];
    expect(rules.find((r) => r.alert === "CertificateExpiresSoon").expr).toContain("< 14 * 86400");
    expect(rules.find((r) => r.alert === "SiteSlow").expr).toMatch(/> 0\.5$/);
  });

  it("keeps the webhook URL and the database URL secret", () => {
    const alertmanager = monitoringWorkloads(prod).find((r) => part(r) === "alertmanager")!;
    const file = swarmFile(prod, alertmanager, "/etc/alertmanager/alertmanager.yml");
    expect(file.kind).toBe("secret");
    // Alertmanager runs as nobody: the secret file is its own.
    const mounted = ((alertmanager.props.taskSpec as any).containerSpec.secrets as any[]).find((x) => x.fileName === "/etc/alertmanager/alertmanager.yml");
    expect(mounted).toMatchObject({ fileUid: "65534", fileGid: "65534", fileMode: 0o400 });
    expect(file.resource.inputs.data).toBeInstanceOf(SecretValue);
    expect(YAML.parse(file.text).receivers[0].webhook_configs[0].url).toBe("plan-placeholder-secret");
    for (const r of prod.resources) expect(plainStrings(r.inputs).join("\n")).not.toContain("plan-placeholder-secret");
    const exporter = monitoringWorkloads(dev).find((r) => part(r) === "postgres-exporter")!;
    expect(exporter.inputs.envs).toBeInstanceOf(SecretValue);
    expect((exporter.props.envs as string[])[0]).toMatch(/^DATA_SOURCE_NAME=postgres/);
  });

  it("limits every dev monitoring workload, and pins Swarm services with host binds or data to the main host", () => {
    for (const r of monitoringWorkloads(dev)) expect([r.props.name, r.props.cpus, r.props.memory]).toEqual([r.props.name, "0.05", 128]);
    for (const r of monitoringWorkloads(prod)) {
      const constraints = (r.props.taskSpec as any).placement?.constraints;
      if (["prometheus", "node-exporter", "cadvisor"].includes(part(r))) expect(constraints).toEqual(["node.labels.twinstack.host==node1"]);
    }
  });

  it("reads the host's disks, memory and containers read-only", () => {
    const binds = (r: PlannedResource) => ((r.props.volumes as any[]) ?? []).filter((v) => v.hostPath);
    const node = monitoringWorkloads(dev).find((r) => part(r) === "node-exporter")!;
    expect(binds(node)).toEqual([{ hostPath: "/", containerPath: "/host", readOnly: true }]);
    expect(node.props.command).toEqual(["--path.rootfs=/host"]);
    const cadvisor = monitoringWorkloads(dev).find((r) => part(r) === "cadvisor")!;
    expect(binds(cadvisor).every((b) => b.readOnly === true)).toBe(true);
  });
});

describe("monitoring config validation", () => {
  const problems = (monitoring: unknown, extra: Record<string, unknown> = {}): string[] => {
    try {
      parseStackConfig({ env: "prod", app: { name: "gigi", image: "gigi:1.0.0" }, monitoring, ...extra }, { stack: "prod", sourceFile: "Pulumi.prod.yaml" });
    } catch (err) {
      if (err instanceof ConfigError) return err.problems;
      throw err;
    }
    return [];
  };

  it("needs exactly one receiver when enabled", () => {
    expect(problems({ enabled: true })).toEqual(["Pulumi.prod.yaml: twinstack:monitoring.alerts: monitoring is enabled but sends alerts nowhere: set webhookUrlKey or email"]);
    expect(problems({ enabled: true, alerts: { webhookUrlKey: "hook", email: { to: "a@b.c", from: "x@b.c", smarthost: "smtp:25" } } }, { hook: "x" })).toContain(
      "Pulumi.prod.yaml: twinstack:monitoring.alerts: set one receiver, webhookUrlKey or email, not both",
    );
    expect(problems({ enabled: false })).toEqual([]);
  });

  it("requires the webhook's secret key, and names bad values by file and key", () => {
    expect(problems({ enabled: true, alerts: { webhookUrlKey: "alertHook" } })).toEqual([
      "Pulumi.prod.yaml: twinstack:alertHook: required secret is missing: set it with `pulumi config set --secret alertHook <value>`",
    ]);
    expect(problems({ enabled: true, alerts: { email: { to: "ops", from: "a@b.c", smarthost: "smtp.example.com:587" } } })).toEqual([
      'Pulumi.prod.yaml: twinstack:monitoring.alerts.email.to: expected an email address, got "ops"',
    ]);
    expect(problems({ thresholds: { diskUsedPercent: 180 } })).toEqual([
      "Pulumi.prod.yaml: twinstack:monitoring.thresholds.diskUsedPercent: expected disk usage as a percentage from 1 to 100, got 180",
    ]);
    expect(problems({ enabeld: true })).toEqual(['Pulumi.prod.yaml: twinstack:monitoring.enabeld: unknown key (did you mean "enabled"?)']);
  });
});

describe("siteProbeTargets", () => {
  it("probes the main domains at the health path, other sites and the vault at /, once each, skipping wildcards", () => {
    expect(
      siteProbeTargets({
        domains: ["makapix.club"],
        siteDomains: ["makapix.club", "*.makapix.club", "api.makapix.club"],
        vault: { domain: "vault.makapix.club", plainHttp: true },
        httpPort: 80,
        httpsPort: 443,
        healthPath: "/api/health",
        authRequired: false,
      }),
    ).toEqual([
      { url: "https://makapix.club/api/health", expect: "2xx" },
      { url: "https://makapix.club/", expect: "2xx" },
      { url: "https://api.makapix.club/", expect: "2xx" },
      { url: "http://vault.makapix.club/", expect: "2xx" },
    ]);
    expect(siteProbeTargets({ domains: ["dev.x.org"], siteDomains: [], httpPort: 8080, httpsPort: 8443, healthPath: "/h", authRequired: true })).toEqual([
      { url: "https://dev.x.org:8443/h", expect: "401" },
    ]);
  });
});
