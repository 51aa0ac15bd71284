// Issue 13 kind 2: every default third-party image is used the way its documentation/Dockerfile
// says (model/images.ts, docs/images.md). The declared containers and services of whole
// stacks, planned through the harness, are checked against that one table.
import * as path from "path";
import { PlanResult, PlannedResource, planProgram } from "./harness";
import { runStack } from "../stacks";
import { planStack } from "../tools/planner";
import * as images from "../model/images";
import { FORGEJO_RUNNER_START } from "../components/instanceStack";
import { workloadImage, workloadLabels } from "../policy/lib/resources";

const root = path.join(__dirname, "..");
const CONTAINER = "docker:index/container:Container";
const SERVICE = "docker:index/service:Service";

interface Workload {
  r: PlannedResource;
  image?: string;
  ports: number[];
  mounts: { target: string; readOnly?: boolean }[];
  health?: string[];
  user?: string;
  command?: string[];
  env: string[];
}

function view(r: PlannedResource): Workload {
  const p = r.props as any;
  if (r.type === SERVICE) {
    const c = p.taskSpec.containerSpec;
    return {
      r,
      image: workloadImage(r.type, p),
      ports: (p.endpointSpec?.ports ?? []).map((x: any) => x.targetPort),
      mounts: (c.mounts ?? []).map((m: any) => ({ target: m.target, readOnly: m.readOnly })),
      health: c.healthcheck?.tests,
      user: c.user,
      command: c.args ?? c.commands,
      env: Object.entries(c.env ?? {}).map(([k, v]) => `${k}=${v}`),
    };
  }
  return {
    r,
    image: workloadImage(r.type, p),
    ports: (p.ports ?? []).map((x: any) => x.internal),
    mounts: (p.volumes ?? []).map((m: any) => ({ target: m.containerPath, readOnly: m.readOnly })),
    health: p.healthcheck?.tests,
    user: p.user,
    command: p.command,
    env: p.envs ?? [],
  };
}

function role(plan: PlanResult, name: string): Workload {
  const found = plan.resources.filter((r) => (r.type === CONTAINER || r.type === SERVICE) && workloadLabels(r.type, r.props as any)["twinstack.role"] === name);
  if (found.length !== 1) throw new Error(`expected one workload with role ${name}, found ${found.length}`);
  return view(found[0]);
}
const targets = (w: Workload) => w.mounts.map((m) => m.target);

function plan(config: Record<string, unknown>, secrets: Record<string, string> = {}): Promise<PlanResult> {
  const engine: Record<string, string> = {};
  for (const [k, v] of Object.entries(config)) engine[`twinstack:${k}`] = typeof v === "string" ? v : JSON.stringify(v);
  for (const [k, v] of Object.entries(secrets)) engine[`twinstack:${k}`] = v;
  return planProgram(runStack, { stack: String(config.env), config: engine, secretKeys: Object.keys(secrets).map((k) => `twinstack:${k}`) });
}

const app = { name: "acme", image: "registry.example.com/acme:1.2.3", port: 3000 };

describe("standalone dev stack with every optional service, default images", () => {
  let p: PlanResult;
  beforeAll(async () => {
    p = await plan(
      {
        env: "dev",
        domains: ["dev.example.com"],
        app: { ...app, image: "node:20-slim" },
        redis: { mode: "dedicated" },
        mqtt: { enabled: true, port: 8884 },
        vault: { enabled: true, hostPath: "/srv/vault", domain: "vault.example.com" },
        gitea: { enabled: true, sshPort: 2222, runner: { enabled: true, registrationTokenKey: "runnerToken" } },
        browser: { enabled: true },
        proxy: { tls: "internal" },
        backup: { enabled: true },
      },
      { runnerToken: "tok" },
    );
  }, 60_000);

  it("runs rootless Gitea with its data in /var/lib/gitea, its config in /etc/gitea and SSH on 2222 (issue 13)", () => {
    const gitea = role(p, "gitea");
    expect(gitea.image).toBe(images.GITEA.image);
    expect(targets(gitea).sort()).toEqual([images.GITEA.paths.config, images.GITEA.paths.data].sort());
    expect(targets(gitea)).not.toContain("/data");
    expect(gitea.ports).toEqual([images.GITEA.ports.ssh]);
    expect(gitea.env).toContain(`GITEA__server__SSH_LISTEN_PORT=${images.GITEA.ports.ssh}`);
    expect(gitea.health).toEqual(["CMD", ...images.GITEA.health!]);
  });

  it("runs act_runner with its GITEA_* registration interface and /data", () => {
    const runner = role(p, "runner");
    expect(runner.image).toBe(images.ACT_RUNNER.image);
    expect(targets(runner)).toEqual(expect.arrayContaining([images.ACT_RUNNER.paths.data, images.ACT_RUNNER.paths.dockerSocket]));
    expect(runner.command).toBeUndefined();
  });

  it("gives the app a health check that needs nothing in its image (node:*-slim has no wget, curl or shell)", () => {
    const a = role(p, "app");
    expect(a.health).toEqual(images.httpProbeTest(3000, "/healthz"));
    expect(a.health![0]).toBe("CMD");
    expect(a.mounts).toContainEqual({ target: images.HEALTH_PROBE.mountPath, readOnly: true });
    const seeder = role(p, "probe");
    expect(seeder.image).toBe(images.HEALTH_PROBE.image);
    expect(targets(seeder)).toEqual(["/probe"]);
    // The app waits for the seeder, so the probe exists before its first check.
    expect(a.r.opts.dependsOn).toContain(seeder.r.urn);
  });

  it("uses redis, mosquitto, the vault's caddy, the proxy's caddy, browserless and postgres as documented", () => {
    const redis = role(p, "redis");
    expect([redis.image, targets(redis), redis.health]).toEqual([images.REDIS.image, [images.REDIS.paths.data], ["CMD", ...images.REDIS.health!]]);
    const mqtt = role(p, "mqtt");
    expect([mqtt.image, mqtt.ports, targets(mqtt)]).toEqual([images.MOSQUITTO.image, [images.MOSQUITTO.ports.mqtts], [images.MOSQUITTO.paths.data]]);
    expect(((mqtt.r.props as any).uploads as { file: string }[]).map((u) => u.file)).toContain(images.MOSQUITTO.paths.config);
    const vault = role(p, "vault");
    expect(vault.image).toBe(images.VAULT_CADDY.image);
    expect(vault.command).toEqual(["caddy", "file-server", "--root", images.VAULT_CADDY.paths.root, "--listen", `:${images.VAULT_CADDY.ports.http}`]);
    const proxy = role(p, "proxy");
    expect(proxy.image).toBe(images.CADDY.image);
    expect(proxy.ports).toEqual(expect.arrayContaining([images.CADDY.ports.http, images.CADDY.ports.https]));
    expect(targets(proxy)).toContain(images.CADDY.paths.data);
    expect(proxy.health).toEqual(["CMD", ...images.CADDY.health!]);
    expect(role(p, "browser").image).toBe(images.BROWSERLESS.image);
    const pg = role(p, "postgres");
    expect([pg.image !== undefined, targets(pg)]).toEqual([true, [images.POSTGRES.paths.dataMount]]);
  });

  it("backs a dedicated server up with the server's own image", () => {
    expect(role(p, "backup").image).toBe(images.POSTGRES.image);
  });
});

describe("swarm prod stack with Forgejo and a shared PostgreSQL 17", () => {
  let p: PlanResult;
  beforeAll(async () => {
    p = await plan(
      {
        env: "prod",
        runtime: "swarm",
        domains: ["example.com"],
        hosts: [{ name: "n1", docker: "ssh://deploy@10.0.0.11", address: "10.0.0.11" }],
        app: { ...app, healthCheck: { command: ["node", "healthcheck.js"] } },
        postgres: { mode: "shared", host: "10.0.0.20", adminPasswordKey: "pgAdmin", version: 17, extensions: ["pg_trgm"] },
        mqtt: { enabled: true },
        gitea: { enabled: true, kind: "forgejo", sshPort: 2222, runner: { enabled: true, registrationTokenKey: "runnerToken" } },
        proxy: { tls: "internal" },
        backup: { enabled: true },
      },
      { pgAdmin: "pw", runnerToken: "tok" },
    );
  }, 60_000);

  it("backs a shared PostgreSQL 17 up with a pg_dump of major 17 (was postgres:16-alpine, which aborts on a newer server)", () => {
    expect(role(p, "backup").image).toBe("postgres:17-alpine");
  });

  it("runs rootless Forgejo like rootless Gitea, and registers Forgejo's runner itself", () => {
    const forgejo = role(p, "gitea");
    expect(forgejo.image).toBe(images.FORGEJO.image);
    expect(targets(forgejo).sort()).toEqual([images.FORGEJO.paths.config, images.FORGEJO.paths.data].sort());
    expect(forgejo.ports).toEqual([images.FORGEJO.ports.ssh]);
    const runner = role(p, "runner");
    expect(runner.image).toBe(images.FORGEJO_RUNNER.image);
    expect(runner.command).toEqual(["/bin/sh", "-c", FORGEJO_RUNNER_START]);
    expect(FORGEJO_RUNNER_START).toMatch(/forgejo-runner register --no-interactive .*exec forgejo-runner daemon$/);
    expect(runner.user).toBe(images.FORGEJO_RUNNER.user);
  });

  it("hands mosquitto its key and certificates as its own user (it drops root before reading them)", () => {
    const mqtt = role(p, "mqtt");
    const spec = (mqtt.r.props as any).taskSpec.containerSpec;
    for (const f of [...spec.secrets, ...spec.configs]) expect([f.fileUid, f.fileGid]).toEqual(["1883", "1883"]);
    expect(spec.secrets.map((s: any) => s.fileName)).toEqual([`${images.MOSQUITTO.paths.certs}/server.key`]);
  });

  it("uses the app's own exec-form health check when given, and then no probe", () => {
    expect(role(p, "app").health).toEqual(["CMD", "node", "healthcheck.js"]);
    expect(p.resources.some((r) => r.type === SERVICE && workloadLabels(r.type, r.props as any)["twinstack.role"] === "probe")).toBe(false);
  });
});

describe("backup client versions", () => {
  const base = { env: "dev", domains: ["dev.example.com"], app, proxy: { tls: "internal" } };
  it("takes backup.image as given", async () => {
    const p = await plan({ ...base, backup: { enabled: true, image: "registry.example.com/pg-client:17" } });
    expect(role(p, "backup").image).toBe("registry.example.com/pg-client:17");
  });
  it("refuses a backup.image older than the server, naming the key", async () => {
    await expect(
      plan(
        { ...base, postgres: { mode: "shared", host: "db", adminPasswordKey: "pgAdmin", version: 17 }, backup: { enabled: true, image: "postgres:16-alpine" } },
        { pgAdmin: "x" },
      ),
    ).rejects.toThrow(/backup\.image: pg_dump 16 cannot dump a PostgreSQL 17 server/);
  });
  it("reads majors from image references", () => {
    expect(["postgres:17-alpine", "postgres:16.4", "pgvector/pgvector:pg16", "ghcr.io/zalando/spilo-16:3.2-p3", "nginx:1.25", "postgres"].map(images.postgresMajorOf)).toEqual([
      17,
      16,
      16,
      16,
      undefined,
      undefined,
    ]);
  });
});

describe("HA Postgres images (twincigo example)", () => {
  it("runs Spilo, etcd and HAProxy with the table's paths and health checks", async () => {
    const p = await planStack({ stack: "prod", stackFile: path.join(root, "examples/twincigo/Pulumi.prod.yaml"), projectDir: root });
    const all = (name: string) => p.resources.filter((r) => r.type === SERVICE && workloadLabels(r.type, r.props as any)["twinstack.role"] === name).map(view);
    for (const etcd of all("etcd")) expect(etcd.health).toEqual(["CMD", ...images.ETCD.health!]);
    for (const pg of all("patroni")) {
      expect(targets(pg)).toEqual([images.SPILO.paths.pgHome]);
      expect(pg.health![0]).toBe("CMD-SHELL");
      expect(pg.health![1]).toContain("curl");
    }
    const [haproxy] = all("haproxy");
    expect(haproxy.health).toEqual(["CMD", ...images.HAPROXY.health!]);
    // HA: the backup client's major follows the Spilo image.
    const backup = p.resources.find((r) => r.type === CONTAINER && workloadLabels(r.type, r.props as any)["twinstack.role"] === "backup");
    if (backup) expect((backup.props as any).image).toBe(`postgres:${images.postgresMajorOf(images.SPILO.image)}-alpine`);
  }, 60_000);
});
