import { cleanupProjects, container, DEV_YAML, devProdProject, dockerProvider, of, project, PROD_YAML, run, service } from "./helpers";

const POLICY = "nonprod-resource-budget";
afterAll(cleanupProjects);

// DEV_YAML: one host "local" with 4 CPUs and 8192 MiB; no budget.share, so the policy's 0.4 applies.
describe("nonprod-resource-budget (rule 6)", () => {
  const limited = (name: string, cpus: string, memory: number, role = "app") => container("dev", name, { name, role, cpus, memory });

  it("passes limited dev workloads within 40% of the host", () => {
    const dir = devProdProject();
    const v = run([limited("gigi-dev-app", "0.5", 512), limited("gigi-dev-redis", "0.5", 512, "redis"), container("dev", "gigi-dev-keepalived", { role: "keepalived" })], {
      stack: "dev",
      dir,
    });
    expect(of(v, POLICY)).toEqual([]);
  });

  it("flags a dev workload without a memory limit, naming the config key", () => {
    const dir = devProdProject();
    const v = of(run([container("dev", "gigi-dev-redis", { name: "gigi-dev-redis", role: "redis", cpus: "0.5" })], { stack: "dev", dir }), POLICY);
    expect(v).toEqual([
      {
        policy: POLICY,
        enforcementLevel: "mandatory",
        resource: "urn:pulumi:dev::twinstack::docker:index/container:Container::gigi-dev-redis",
        message: 'dev container "gigi-dev-redis" has no memory limit: set twinstack:redis.limits (or twinstack:budget.defaultLimits) with cpus and memoryMb',
      },
    ]);
  });

  it("flags dev limits over the share of the host", () => {
    const dir = devProdProject();
    const v = of(run([limited("gigi-dev-app", "1", 2048), limited("gigi-dev-db", "1", 2048, "postgres")], { stack: "dev", dir }), POLICY);
    // One line for the host; app and db set their own limits (they differ from budget.defaultLimits),
    // the larger CPU user is named first with the value that fits: 2 - (2 - 1.6) = 1.6 over 1 workload.
    expect(v.map((x) => x.message)).toEqual([
      'dev workloads on host "local" ask for 2 CPUs and 4096 MiB, over the 1.6 CPUs and 3276 MiB allowed (40% of 4 CPUs and 8192 MiB, the policy\'s nonProdShare): ' +
        "lower twinstack:app.limits.cpus from 1 to 0.6 and twinstack:app.limits.memoryMb from 2048 to 1216 (1 workload uses it); " +
        "or raise twinstack:budget.share to 0.5; or if the host is bigger, say so: twinstack:hosts[0] cpus: 5, memoryMb: 10240 or more",
    ]);
  });

  it("the stack's budget.share wins over the policy config; nonProdShare is configurable", () => {
    const dir = project({ "Pulumi.dev.yaml": DEV_YAML + "  twinstack:budget:\n    share: 0.6\n", "Pulumi.prod.yaml": PROD_YAML });
    const load = [limited("gigi-dev-app", "1", 2048), limited("gigi-dev-db", "1", 2048, "postgres")];
    expect(of(run(load, { stack: "dev", dir }), POLICY)).toEqual([]);
    const dir2 = devProdProject();
    expect(of(run(load, { stack: "dev", dir: dir2, policyConfig: { [POLICY]: { nonProdShare: 0.6 } } }), POLICY)).toEqual([]);
  });

  it("counts swarm service replicas against the whole swarm, and ignores prod", () => {
    const dir = devProdProject();
    const big = service("dev", "gigi-dev-app", { mode: { replicated: { replicas: 4 } } }); // 4 x 0.5 CPU = 2 > 1.6
    expect(of(run([big], { stack: "dev", dir }), POLICY).map((x) => x.message)[0]).toMatch(/^dev workloads on the swarm \(local\) ask for 2 CPUs/);
    expect(of(run([service("prod", "gigi-prod-app", { taskSpec: { containerSpec: { image: "x" } } })], { stack: "prod", dir }), POLICY)).toEqual([]);
  });

  it("sizes a preview against the dev host it runs on", () => {
    const dir = devProdProject();
    const provider = dockerProvider("preview-x", "preview-docker", "unix:///var/run/docker.sock");
    const ok = container("preview-x", "gigi-preview-x", { name: "gigi-preview-x", cpus: "0.5", memory: 512, host: "" }, { provider });
    expect(of(run([provider, ok], { stack: "preview-x", dir }), POLICY)).toEqual([]);
    const greedy = container("preview-x", "gigi-preview-x", { name: "gigi-preview-x", cpus: "3", memory: 512, host: "" }, { provider });
    expect(of(run([provider, greedy], { stack: "preview-x", dir }), POLICY).map((x) => x.message)).toEqual([
      expect.stringMatching(/^preview workloads on host "local" ask for 3 CPUs/),
    ]);
  });
});
