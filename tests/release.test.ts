// app.release: the release phase under the mocks harness (ordering, once per release, backup
// first in prod, secrets) and its config validation. The rendered scripts are run by a real
// /bin/sh against a stand-in docker CLI in tests/consumers/release.test.ts.
import * as path from "path";
import { PlanResult, PlannedResource, SecretValue, byType, planProgram } from "./harness";
import { runStack } from "../stacks";
import { ConfigError, parseStackConfig } from "../stacks/config";
import { readStackConfig } from "../model/stackFile";
import { renderPreReleaseBackupScript, renderReleaseScript, shellQuote } from "../components/render/release";
import { workloadLabels } from "../policy/lib/resources";

const root = path.join(__dirname, "..");
const COMMAND = "command:local:Command";
const RELEASE = ["alembic", "upgrade", "head"];

async function plan(stack: "dev" | "prod", edit: (app: any, config: Record<string, string>) => void = () => {}): Promise<PlanResult> {
  const file = readStackConfig(path.join(root, `Pulumi.${stack}.yaml`));
  const config = { ...file.engineConfig };
  const app = JSON.parse(config["twinstack:app"]);
  app.release = { command: RELEASE };
  edit(app, config);
  config["twinstack:app"] = JSON.stringify(app);
  return planProgram(runStack, { stack, config, secretKeys: file.engineSecretKeys });
}

const commands = (p: PlanResult) => byType(p.resources, COMMAND);
const releaseRun = (p: PlanResult) => commands(p).find((c) => c.name.endsWith("-release-run"))!;
const releaseBackup = (p: PlanResult) => commands(p).find((c) => c.name.endsWith("-release-backup"));
const apps = (p: PlanResult) =>
  p.resources.filter(
    (r) => (r.type === "docker:index/container:Container" || r.type === "docker:index/service:Service") && workloadLabels(r.type, r.props)["twinstack.role"] === "app",
  );
const named = (p: PlanResult, type: string, part: string) => byType(p.resources, type).find((r) => r.name.includes(part)) as PlannedResource;

describe("app.release under the mocks harness", () => {
  let dev: PlanResult;
  let prod: PlanResult;
  beforeAll(async () => {
    dev = await plan("dev");
    prod = await plan("prod");
  });

  it("declares one release task that every app version and worker depends on", () => {
    const run = releaseRun(dev);
    expect(commands(dev).filter((c) => c.name.includes("-release-"))).toHaveLength(1);
    for (const app of apps(dev)) expect(app.dependencies).toContain(run.urn);
  });

  it("runs the release after the database exists, with the app image, env names and network", () => {
    const run = releaseRun(dev);
    const db = byType(dev.resources, "docker:index/container:Container").find((c) => c.props.name === "myapp-dev-postgres")!;
    expect(run.dependencies).toContain(db.urn);
    const script = String(run.props.create);
    const imageId = String(named(dev, "docker:index/remoteImage:RemoteImage", "app-image").state.imageId);
    // The settings above scripts/release.sh's body.
    expect(script).toContain("\nnetwork='myapp-dev-net'\n");
    expect(script).toContain(`\nimage=${shellQuote(imageId)}\n`);
    expect(script).toContain(`\ncommand=${shellQuote("'alembic' 'upgrade' 'head'")}\n`);
    expect(script).toMatch(/\nenv_names='[A-Z_ ]*\bDATABASE_URL\b[A-Z_ ]*'\n/);
    expect(script).toMatch(/\nenv_names='[A-Z_ ]*\bSESSION_SECRET\b[A-Z_ ]*'\n/);
    expect(script).toContain(`name='myapp-dev-release'`);
    // dev: limited like every dev workload.
    expect(script).toContain(`\nlimits=${shellQuote("'--cpus' '0.25' '--memory' '256m'")}\n`);
  });

  it("keeps the app's secrets secret: values only in the secret environment, never in the script", () => {
    const run = releaseRun(prod);
    expect(run.inputs.environment).toBeInstanceOf(SecretValue);
    const env = run.props.environment as Record<string, string>;
    expect(env.DOCKER_HOST).toBe("ssh://deploy@10.0.0.11");
    expect(env.DATABASE_URL).toMatch(/^postgres/);
    expect(typeof run.inputs.create).toBe("string");
    for (const value of [env.DATABASE_URL, env.SESSION_SECRET, env.OAUTH_CLIENT_SECRET]) expect(String(run.props.create)).not.toContain(value);
  });

  it("prod with backups: one verified backup by the backup container first, then the release", () => {
    const backup = releaseBackup(prod)!;
    expect(backup).toBeDefined();
    const backupContainer = byType(prod.resources, "docker:index/container:Container").find((c) => c.props.name === "myapp-prod-backup")!;
    expect(backup.dependencies).toContain(backupContainer.urn);
    expect(String(backup.props.create)).toContain("\nbackup_container='myapp-prod-backup'\nbackup_script='/usr/local/bin/twinstack-backup.sh'\n");
    expect(releaseRun(prod).dependencies).toContain(backup.urn);
  });

  it("dev takes no pre-release backup, even with backups enabled", async () => {
    const withBackups = await plan("dev", (_app, config) => (config["twinstack:backup"] = JSON.stringify({ enabled: true })));
    expect(byType(withBackups.resources, "docker:index/container:Container").some((c) => c.props.name === "myapp-dev-backup")).toBe(true);
    expect(releaseBackup(withBackups)).toBeUndefined();
  });

  it("prod without backups runs the release without a backup step", async () => {
    const noBackups = await plan("prod", (_app, config) => (config["twinstack:backup"] = JSON.stringify({ enabled: false })));
    expect(releaseBackup(noBackups)).toBeUndefined();
    expect(releaseRun(noBackups)).toBeDefined();
  });

  it("Swarm: exactly one release task for a replicated service, on the main manager, on the attachable overlay network", () => {
    expect(commands(prod).filter((c) => c.name.endsWith("-release-run"))).toHaveLength(1);
    const [service] = apps(prod);
    expect(service.type).toBe("docker:index/service:Service");
    expect(service.props.mode).toEqual({ replicated: { replicas: 2 } });
    expect(service.dependencies).toContain(releaseRun(prod).urn);
    const net = named(prod, "docker:index/network:Network", "-net");
    expect(net.props).toMatchObject({ driver: "overlay", attachable: true });
    expect(String(releaseRun(prod).props.create)).toContain("'nginxdemos/hello@sha256:");
  });

  it("standalone with three replicas: still one release task, before each of the three containers", async () => {
    const three = await plan("dev", (app) => (app.replicas = 3));
    const run = releaseRun(three);
    expect(commands(three).filter((c) => c.name.endsWith("-release-run"))).toHaveLength(1);
    expect(apps(three)).toHaveLength(3);
    for (const app of apps(three)) expect(app.dependencies).toContain(run.urn);
  });

  it("re-runs per release only: same inputs for the same release, new triggers for a new version", async () => {
    const again = await plan("prod");
    const moreReplicas = await plan("prod", (app) => (app.replicas = 4));
    const next = await plan("prod", (app) => (app.version = "v1.0.1"));
    const newCommand = await plan("prod", (app) => (app.release = { command: ["alembic", "upgrade", "+1"] }));
    const inputs = (p: PlanResult) => JSON.stringify(releaseRun(p).props);
    expect(inputs(again)).toBe(inputs(prod));
    expect(inputs(moreReplicas)).toBe(inputs(prod));
    expect(releaseRun(next).props.triggers).not.toEqual(releaseRun(prod).props.triggers);
    expect(releaseRun(newCommand).props.triggers).not.toEqual(releaseRun(prod).props.triggers);
    expect(releaseBackup(next)!.props.triggers).not.toEqual(releaseBackup(prod)!.props.triggers);
  });

  it("declares nothing without app.release", async () => {
    const file = readStackConfig(path.join(root, "Pulumi.dev.yaml"));
    const none = await planProgram(runStack, { stack: "dev", config: file.engineConfig, secretKeys: file.engineSecretKeys });
    expect(commands(none).filter((c) => c.name.includes("-release-"))).toEqual([]);
  });
});

describe("app.release config validation", () => {
  const problems = (release: unknown): string[] => {
    try {
      parseStackConfig({ env: "dev", app: { name: "gigi", image: "gigi:dev", release } }, { stack: "dev", sourceFile: "Pulumi.dev.yaml" });
    } catch (err) {
      if (err instanceof ConfigError) return err.problems;
      throw err;
    }
    return [];
  };

  it("accepts a command list", () => {
    expect(problems({ command: ["bun", "run", "migrate"] })).toEqual([]);
  });

  it("names the file and key for an empty, missing or misspelt command", () => {
    expect(problems({ command: [] })).toEqual(["Pulumi.dev.yaml: twinstack:app.release.command: expected a command such as [alembic, upgrade, head], got []"]);
    expect(problems({})).toEqual(["Pulumi.dev.yaml: twinstack:app.release.command: required key is missing"]);
    expect(problems({ command: "alembic upgrade head" })[0]).toMatch(/^Pulumi\.dev\.yaml: twinstack:app\.release\.command: expected a list of strings/);
    expect(problems({ comand: ["x"] })).toContain('Pulumi.dev.yaml: twinstack:app.release.comand: unknown key (did you mean "command"?)');
  });
});

describe("release scripts (renderer)", () => {
  const base = {
    containerName: "makapix-prod-release",
    image: "ghcr.io/makapix/makapix:v1.8.0",
    network: "makapix-prod-net",
    envNames: ["DATABASE_URL", "APP_ENV"],
    command: ["alembic", "upgrade", "head"],
  };

  // The body is scripts/release.sh (run against a fake docker by tests/consumers/release.test.ts);
  // these check the settings the renderer writes above it.
  it("passes env by name only, sorted, and quotes every value", () => {
    const script = renderReleaseScript({ ...base, command: ["sh", "-c", "echo 'it''s'"], labels: { "twinstack.env": "prod" } });
    expect(script).toContain("\nenv_names='APP_ENV DATABASE_URL'\n");
    expect(script).toContain("\nimage='ghcr.io/makapix/makapix:v1.8.0'\n");
    expect(script).toContain(`\ncommand=${shellQuote(["sh", "-c", "echo 'it''s'"].map(shellQuote).join(" "))}\n`);
    expect(script).toContain(`\nlabels=${shellQuote("'--label' 'twinstack.env=prod'")}\n`);
    expect(script).toContain("\nlimits=''\n");
  });

  it("connects extra networks before starting", () => {
    const script = renderReleaseScript({ ...base, extraNetworks: ["lugh-shared"] });
    expect(script).toContain("\nextra_networks='lugh-shared'\n");
    expect(script.indexOf('docker network connect "$extra_network" "$name"')).toBeGreaterThan(script.indexOf("docker create"));
    expect(script.indexOf("docker network connect")).toBeLessThan(script.indexOf('docker start "$name"'));
    expect(() => renderReleaseScript({ ...base, extraNetworks: ["two words"] })).toThrow(/invalid network name/);
  });

  it("rejects what Docker or the shell would not take", () => {
    expect(() => renderReleaseScript({ ...base, command: [] })).toThrow(/must not be empty/);
    expect(() => renderReleaseScript({ ...base, containerName: "bad name" })).toThrow(/invalid container name/);
    expect(() => renderReleaseScript({ ...base, envNames: ["BAD-NAME"] })).toThrow(/invalid environment variable name/);
    expect(() => renderPreReleaseBackupScript("x; rm -rf /", "/usr/local/bin/b.sh")).toThrow(/invalid backup container name/);
  });
});
