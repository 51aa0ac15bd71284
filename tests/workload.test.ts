// The workload helper's options (components/workload.ts): what each one declares, standalone and
// in a Swarm, planned by the offline harness. The components that use them (BackupJob,
// PostgresDatabase, PreviewEnv, VirtualIp) are proven unchanged by the URN baseline.
import * as pulumi from "@pulumi/pulumi";
import * as docker from "@pulumi/docker";
import { one, planProgram, PlannedResource } from "./harness";
import { declareWorkload, GATED_STOP_GRACE_SECONDS, Runtime, WorkloadSpec } from "../components/workload";
import { LABELS } from "../model/labels";

const CONTAINER = "docker:index/container:Container";
const SERVICE = "docker:index/service:Service";

async function declare(spec: WorkloadSpec, runtime: Runtime = "standalone"): Promise<PlannedResource[]> {
  const { resources } = await planProgram(
    () => {
      const provider = new docker.Provider("p", { host: "unix:///var/run/docker.sock" });
      const parent = new pulumi.ComponentResource("twinstack:index:Test", "t");
      declareWorkload("w", spec, { runtime, provider, parent });
    },
    { stack: "dev", config: {} },
  );
  return resources;
}

const base: WorkloadSpec = { name: "x-dev-w", role: "job", image: "img" };

describe("declareWorkload", () => {
  it("sorts labels by name by default, the role among them", async () => {
    const c = one(await declare({ ...base, labels: { "z.last": "1", "a.first": "2" } }), CONTAINER);
    expect(c.inputs.labels).toEqual([
      { label: "a.first", value: "2" },
      { label: LABELS.role, value: "job" },
      { label: "z.last", value: "1" },
    ]);
  });

  it("keeps the given label order with labelOrder 'given': the role where labels has it, else last", async () => {
    const placed = one(await declare({ ...base, labelOrder: "given", labels: { "z.a": "1", [LABELS.role]: "job", "b.c": "2" } }), CONTAINER);
    expect((placed.inputs.labels as { label: string }[]).map((l) => l.label)).toEqual(["z.a", LABELS.role, "b.c"]);
    const appended = one(await declare({ ...base, labelOrder: "given", labels: { "z.a": "1", "b.c": "2" } }), CONTAINER);
    expect((appended.inputs.labels as { label: string }[]).map((l) => l.label)).toEqual(["z.a", "b.c", LABELS.role]);
  });

  it("refuses a role label in labels that disagrees with role", async () => {
    await expect(declare({ ...base, labelOrder: "given", labels: { [LABELS.role]: "other" } })).rejects.toThrow(/workload x-dev-w: labels\.twinstack\.role must equal role/);
  });

  it("adds no role label without a role", async () => {
    const c = one(await declare({ name: "x", image: "img", labels: { a: "1" } }), CONTAINER);
    expect(c.inputs.labels).toEqual([{ label: "a", value: "1" }]);
  });

  it("waits for a health check with the documented defaults, and not with waitHealthy false", async () => {
    const waited = one(await declare({ ...base, healthcheck: { test: ["CMD", "true"] } }), CONTAINER);
    expect(waited.inputs).toMatchObject({
      healthcheck: { tests: ["CMD", "true"], interval: "10s", timeout: "5s", retries: 5, startPeriod: "20s" },
      wait: true,
      waitTimeout: 180,
    });
    const spec: WorkloadSpec = {
      ...base,
      healthcheck: { test: ["CMD", "true"], intervalSeconds: "5m", timeoutSeconds: 30, startPeriodSeconds: "1h", retries: 1 },
      waitHealthy: false,
      mustRun: true,
    };
    const job = one(await declare(spec), CONTAINER);
    expect(job.inputs).toMatchObject({ healthcheck: { interval: "5m", timeout: "30s", startPeriod: "1h", retries: 1 }, mustRun: true });
    expect(job.inputs.wait).toBeUndefined();
    expect(job.inputs.waitTimeout).toBeUndefined();
  });

  it("writes a port's defaults out unless portDefaults is 'provider'", async () => {
    const ports = [{ internal: 5432, external: 15432 }];
    expect(one(await declare({ ...base, ports }), CONTAINER).inputs.ports).toEqual([{ internal: 5432, external: 15432, ip: "0.0.0.0", protocol: "tcp" }]);
    expect(one(await declare({ ...base, ports, portDefaults: "provider" }), CONTAINER).inputs.ports).toEqual([{ internal: 5432, external: 15432 }]);
  });

  it("sets the entrypoint, file modes and stop grace (standalone)", async () => {
    const c = one(await declare({ ...base, entrypoint: ["/bin/sh"], command: ["/run.sh"], files: [{ path: "/k", content: "s", mode: "0600" }], stopGraceSeconds: 60 }), CONTAINER);
    expect(c.inputs).toMatchObject({ entrypoints: ["/bin/sh"], command: ["/run.sh"], uploads: [{ file: "/k", content: "s", permissions: "0600" }], destroyGraceSeconds: 60 });
    const gated = one(await declare({ ...base, gated: true }), CONTAINER);
    expect(gated.inputs.destroyGraceSeconds).toBe(GATED_STOP_GRACE_SECONDS);
  });

  it("maps the entrypoint, file modes and stop grace onto a Swarm service", async () => {
    const resources = await declare(
      {
        ...base,
        entrypoint: ["/bin/sh"],
        command: ["/run.sh"],
        files: [
          { path: "/k", content: "s", mode: "0600" },
          { path: "/x", content: "t", executable: true },
        ],
        stopGraceSeconds: 60,
      },
      "swarm",
    );
    const spec = (one(resources, SERVICE).inputs.taskSpec as { containerSpec: Record<string, unknown> }).containerSpec;
    expect(spec).toMatchObject({ commands: ["/bin/sh"], args: ["/run.sh"], stopGracePeriod: "60s" });
    expect((spec.configs as { fileName: string; fileMode: number }[]).map((c) => [c.fileName, c.fileMode])).toEqual([
      ["/k", 0o600],
      ["/x", 0o755],
    ]);
  });

  it("takes volumes as an Output of the list, and leaves out network aliases that are not given", async () => {
    const volumes = pulumi.output([{ volumeName: "probe", path: "/probe", readOnly: true }]);
    const c = one(await declare({ ...base, volumes, network: { name: "net" } }), CONTAINER);
    expect(c.inputs.volumes).toEqual([{ volumeName: "probe", containerPath: "/probe", readOnly: true }]);
    expect(c.inputs.networksAdvanced).toEqual([{ name: "net" }]);
  });

  it("deletes a named container before its replacement, and creates an unnamed gated one first", async () => {
    expect(one(await declare(base), CONTAINER).opts.deleteBeforeReplace).toBe(true);
    expect(one(await declare({ ...base, gated: true }), CONTAINER).opts.deleteBeforeReplace).toBe(false);
  });
});
