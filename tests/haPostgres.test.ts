// HaPostgres: etcd + Patroni + HAProxy as Swarm services on the env network, one member per host,
// and haPostgres.enabled through the program (the env database created through HAProxy).
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import YAML from "yaml";
import { HAPROXY_CONFIG_PATH, HaPostgres, HaPostgresArgs, PATRONI_CONFIG_PATH, patroniStartScript } from "../components/haPostgres";
import { runStack } from "../stacks";
import { PlanResult, PlannedResource, SecretValue, byType, one, planProgram } from "./harness";

const SERVICE = "docker:index/service:Service";
const VOLUME = "docker:index/volume:Volume";
const CONFIG = "docker:index/serviceConfig:ServiceConfig";

async function plan(overrides: Partial<HaPostgresArgs> = {}, env = "prod"): Promise<PlanResult> {
  return planProgram(
    () => {
      const providers = ["a", "b", "c", "d", "e"].map((h) => new docker.Provider(`p-${h}`, { host: `ssh://deploy@${h}.example` }));
      const args: HaPostgresArgs = {
        namePrefix: `crm-${env}`,
        env,
        dockerProvider: providers[0],
        networkName: `crm-${env}-net`,
        members: ["a", "b", "c"].map((host, i) => ({ host, dockerProvider: providers[i] })),
        patroniImage: "ghcr.io/zalando/spilo-16:3.2-p3",
        etcdImage: "quay.io/coreos/etcd:v3.5.15",
        haproxyImage: "haproxy:2.9-alpine",
        port: 5000,
        publish: true,
        protect: env === "prod",
        ...overrides,
      };
      const ha = new HaPostgres("ha", args);
      return { superuserPassword: ha.superuserPassword, haproxyCfg: ha.haproxyCfg };
    },
    { stack: env, config: {} },
  );
}

const services = (r: PlanResult, role: string) =>
  byType(r.resources, SERVICE).filter((s) => (s.props.labels as any[]).some((l) => l.label === "twinstack.role" && l.value === role));
const spec = (s: PlannedResource) => (s.props.taskSpec as any).containerSpec;
/** A file of a Swarm service: a service config, or a Swarm secret for secret files. */
const configOf = (r: PlanResult, service: PlannedResource, file: string) => {
  const configRef = ((spec(service).configs ?? []) as { configId: string; fileName: string }[]).find((c) => c.fileName === file);
  const secretRef = ((spec(service).secrets ?? []) as { secretId: string; fileName: string }[]).find((c) => c.fileName === file);
  const id = configRef?.configId ?? secretRef?.secretId;
  const config = [...byType(r.resources, CONFIG), ...byType(r.resources, "docker:index/secret:Secret")].find((c) => `${c.name}-id` === id)!;
  return { resource: config, text: Buffer.from(String(config.props.data), "base64").toString() };
};
const visible = (r: PlannedResource) => JSON.stringify(r.inputs, (_k, v) => (v instanceof SecretValue ? "[secret]" : v));

describe("HaPostgres", () => {
  let result: PlanResult;
  beforeAll(async () => {
    result = await plan();
  });

  it("runs one etcd member per host as a static three-member cluster, advertising its alias on the env network", () => {
    const etcd = services(result, "etcd");
    expect(etcd.map((s) => s.props.name)).toEqual(["crm-prod-etcd-1", "crm-prod-etcd-2", "crm-prod-etcd-3"]);
    etcd.forEach((s, i) => {
      const env = spec(s).env as Record<string, string>;
      expect(env).toMatchObject({
        ETCD_NAME: `etcd-${i + 1}`,
        ETCD_INITIAL_CLUSTER: "etcd-1=http://etcd-1:2380,etcd-2=http://etcd-2:2380,etcd-3=http://etcd-3:2380",
        ETCD_INITIAL_CLUSTER_STATE: "new",
        ETCD_LISTEN_CLIENT_URLS: "http://0.0.0.0:2379",
        ETCD_ADVERTISE_CLIENT_URLS: `http://etcd-${i + 1}:2379`,
      });
      expect((s.props.taskSpec as any).networksAdvanceds).toEqual([{ name: "crm-prod-net", aliases: [`etcd-${i + 1}`] }]);
      expect((s.props.taskSpec as any).placement.constraints).toEqual([`node.labels.twinstack.host==${"abc"[i]}`]);
    });
  });

  it("runs one Patroni member per host on the rendered patroni.yml (a Swarm secret), its data on a protected volume of that host", () => {
    const patroni = services(result, "patroni");
    const providers = byType(result.resources, "pulumi:providers:docker");
    expect(patroni.map((s) => s.props.name)).toEqual(["crm-prod-patroni-1", "crm-prod-patroni-2", "crm-prod-patroni-3"]);
    patroni.forEach((s, i) => {
      expect(spec(s).args.join(" ")).toContain(`patroni ${PATRONI_CONFIG_PATH}`);
      const { resource, text } = configOf(result, s, PATRONI_CONFIG_PATH);
      expect(resource.type).toBe("docker:index/secret:Secret");
      expect(resource.inputs.data).toBeInstanceOf(SecretValue);
      const yml = YAML.parse(text.split("\n").slice(1).join("\n"));
      expect(yml).toMatchObject({ scope: "crm-prod", name: `pg-${i + 1}`, etcd3: { hosts: ["etcd-1:2379", "etcd-2:2379", "etcd-3:2379"] } });
      expect(yml.postgresql.connect_address).toBe(`pg-${i + 1}:5432`);
      expect(yml.restapi.connect_address).toBe(`pg-${i + 1}:8008`);
      expect(yml.postgresql.authentication.superuser.username).toBe("postgres");
      expect(yml.postgresql.authentication.replication.username).toBe("replicator");
      const volume = byType(result.resources, VOLUME).find((v) => v.props.name === `crm-prod-patroni-${i + 1}-data`)!;
      expect(volume.opts.protect).toBe(true);
      expect(volume.provider).toContain(providers[i].urn);
      expect(s.opts.dependsOn).toEqual(expect.arrayContaining(services(result, "etcd").map((e) => e.urn)));
    });
  });

  it("routes HAProxy to the leader through Patroni's REST check, published on the port, after the members exist", () => {
    const haproxy = one(services(result, "haproxy"), SERVICE);
    expect(haproxy.props.name).toBe("crm-prod-haproxy");
    expect((haproxy.props.taskSpec as any).networksAdvanceds).toEqual([{ name: "crm-prod-net", aliases: ["postgres-ha"] }]);
    expect((haproxy.props.endpointSpec as any).ports).toEqual([expect.objectContaining({ targetPort: 5000, publishedPort: 5000 })]);
    const { text } = configOf(result, haproxy, HAPROXY_CONFIG_PATH);
    expect(text).toContain("bind *:5000");
    expect(text).toContain("http-check send meth GET uri /primary");
    expect(text.match(/server pg-\d pg-\d:5432 maxconn 100 check port 8008/g)).toHaveLength(3);
    // One member's alias not resolving must not stop HAProxy (issue 13 kind 4): names resolve at run
    // time through Docker's embedded DNS and servers start in maintenance until they do.
    expect(text).toContain("nameserver dns1 127.0.0.11:53");
    expect(text.match(/resolvers members init-addr last,libc,none/g)).toHaveLength(3);
    expect(haproxy.opts.dependsOn).toEqual(expect.arrayContaining(services(result, "patroni").map((p) => p.urn)));
  });

  it("generates the passwords and keeps them out of every plain input and output", () => {
    const passwords = byType(result.resources, "random:index/randomPassword:RandomPassword").map((p) => String(p.state.result));
    expect(passwords).toHaveLength(2);
    for (const r of result.resources) for (const p of passwords) expect(visible(r)).not.toContain(p);
    expect(result.outputs.superuserPassword).toBeInstanceOf(SecretValue);
    for (const s of byType(result.resources, SERVICE)) {
      expect(spec(s).healthcheck).toBeDefined();
      expect(s.props.updateConfig).toMatchObject({ failureAction: "rollback" });
    }
  });

  it("uses a given superuser password, limits every workload outside prod and protects nothing there", async () => {
    const dev = await plan({ superuserPassword: pulumi.secret("given-superuser-password"), limits: { cpus: 0.25, memoryMb: 512 }, protect: false }, "dev");
    expect(byType(dev.resources, "random:index/randomPassword:RandomPassword").map((p) => p.name)).toEqual(["ha-replication"]);
    for (const s of byType(dev.resources, SERVICE)) expect((s.props.taskSpec as any).resources.limits).toEqual({ nanoCpus: 250000000, memoryBytes: 512 * 1048576 });
    for (const v of byType(dev.resources, VOLUME)) expect(v.opts.protect).toBe(false);
  });

  it("refuses an even or too small cluster, shared hosts, and a non-prod cluster without limits", async () => {
    const attempt = (overrides: Partial<HaPostgresArgs>, env = "prod") => plan(overrides, env);
    await expect(attempt({ members: [] })).rejects.toThrow(/odd number of members/);
    await expect(
      planProgram(
        () => {
          const p = new docker.Provider("p", { host: "unix:///var/run/docker.sock" });
          new HaPostgres("ha", {
            namePrefix: "crm-prod",
            env: "prod",
            dockerProvider: p,
            networkName: "n",
            members: ["a", "a", "b"].map((host) => ({ host, dockerProvider: p })),
            patroniImage: "x",
            etcdImage: "y",
            haproxyImage: "z",
            port: 5000,
            publish: false,
            protect: true,
          });
        },
        { stack: "prod", config: {} },
      ),
    ).rejects.toThrow(/distinct hosts/);
    await expect(attempt({}, "dev")).rejects.toThrow(/needs limits/);
  });
});

describe("the Patroni start script, run by a real shell with fake tools", () => {
  const run = (uid: string) => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "fake-patroni-"));
    try {
      const log = path.join(dir, "log");
      const fake = (name: string, body = "") => fs.writeFileSync(path.join(dir, name), `#!/bin/sh\necho "${name} $*" >>"${log}"\n${body}\n`, { mode: 0o755 });
      fake("id", `echo ${uid}`);
      for (const tool of ["mkdir", "chown", "su", "patroni"]) fake(tool);
      execFileSync("/bin/sh", ["-c", patroniStartScript()], { env: { PATH: dir } });
      return fs
        .readFileSync(log, "utf8")
        .trim()
        .split("\n")
        .filter((l) => !l.startsWith("id "));
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  };

  it("as root: hands the data volume to postgres, then runs Patroni as postgres", () => {
    expect(run("0")).toEqual([
      "mkdir -p /home/postgres/pgdata/pgroot",
      "chown -R postgres:postgres /home/postgres/pgdata",
      `su postgres -s /bin/sh -c exec patroni ${PATRONI_CONFIG_PATH}`,
    ]);
  });

  it("as postgres already: runs Patroni directly", () => {
    expect(run("101")).toEqual([`patroni ${PATRONI_CONFIG_PATH}`]);
  });
});

describe("haPostgres.enabled through the program", () => {
  const config = (extra: Record<string, unknown>) =>
    Object.fromEntries(
      Object.entries({
        env: "dev",
        runtime: "swarm",
        domains: ["dev.crm.example.com"],
        hosts: ["a", "b", "c"].map((n, i) => ({ name: n, docker: `ssh://deploy@10.0.0.${i + 1}`, address: `10.0.0.${i + 1}`, cpus: 4, memoryMb: 8192 })),
        app: { name: "crm", image: "ghcr.io/example/crm:main" },
        haPostgres: { enabled: true },
        ...extra,
      }).map(([k, v]) => [`twinstack:${k}`, typeof v === "string" ? v : JSON.stringify(v)]),
    );

  it("declares the cluster inside the env, labels the swarm nodes, and creates crm_dev through HAProxy", async () => {
    const result = await planProgram(runStack, { stack: "dev", config: config({}) });
    const instance = one(result.resources, "twinstack:index:InstanceStack");
    const ha = one(result.resources, "twinstack:index:HaPostgres");
    expect(ha.parent).toBe(instance.urn);
    expect(services(result, "etcd")).toHaveLength(3);
    expect(services(result, "patroni")).toHaveLength(3);
    // Existing hosts: the swarm step only labels (and idempotently joins) them.
    expect(
      byType(result.resources, "command:remote:Command")
        .filter((c) => c.name.includes("swarm-label-"))
        .map((c) => c.name),
    ).toHaveLength(3);
    const pg = one(result.resources, "pulumi:providers:postgresql");
    expect(pg.props).toMatchObject({ host: "10.0.0.1", port: "5000", username: "postgres" });
    const db = one(result.resources, "twinstack:index:PostgresDatabase");
    // Depending on the component is depending on every resource of the cluster.
    expect(db.opts.dependsOn).toEqual(expect.arrayContaining([...services(result, "patroni"), ...services(result, "haproxy")].map((s) => s.urn)));
    expect(one(result.resources, "postgresql:index/database:Database").props.name).toBe("crm_dev");
    const app = services(result, "app")[0];
    expect(spec(app).env.DATABASE_URL).toMatch(/^postgres:\/\/crm_dev:[^@]+@postgres-ha:5000\/crm_dev\?sslmode=prefer$/);
    // Budget defaults apply to the cluster's workloads outside prod.
    for (const s of [...services(result, "etcd"), ...services(result, "patroni"), ...services(result, "haproxy")]) {
      expect((s.props.taskSpec as any).resources.limits).toEqual({ nanoCpus: 150000000, memoryBytes: 256 * 1048576 });
    }
  });

  it("names the config problem: a standalone runtime, or a shared postgres besides", async () => {
    await expect(planProgram(runStack, { stack: "dev", config: config({ runtime: "standalone" }) })).rejects.toThrow(/twinstack:haPostgres\.enabled: needs runtime "swarm"/);
    await expect(
      planProgram(runStack, {
        stack: "dev",
        config: { ...config({ postgres: { mode: "shared", host: "10.0.0.9", adminPasswordKey: "pgAdmin" } }), "twinstack:pgAdmin": "x" },
        secretKeys: ["twinstack:pgAdmin"],
      }),
    ).rejects.toThrow(/twinstack:postgres\.mode: is "shared", but haPostgres\.enabled/);
  });
});
