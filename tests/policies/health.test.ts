import { cleanupProjects, container, devProdProject, of, run, service } from "./helpers";

const POLICY = "prod-health-gated";
afterAll(cleanupProjects);

describe("prod-health-gated (rule 9)", () => {
  const gatedApp = (stack: string, extra: Record<string, unknown> = {}) =>
    container(stack, `gigi-${stack}-app`, { healthcheck: { tests: ["CMD", "wget", "-q", "http://127.0.0.1/healthz"] }, wait: true, ...extra });

  it("passes a health-gated prod app container and a prod service with rollback", () => {
    const dir = devProdProject();
    // The engine fills in an autoname for an unnamed container: <logical>-<7 hex>.
    const v = run(
      [
        gatedApp("prod", { name: "gigi-prod-app-1a2b3c4" }),
        service("prod", "gigi-prod-app"),
        service("prod", "gigi-prod-worker", { role: "worker", taskSpec: { containerSpec: { image: "x@sha256:" + "1".repeat(64) } } }),
      ],
      { stack: "prod", dir },
    );
    expect(of(v, POLICY)).toEqual([]);
  });

  it("flags a prod app without health check, wait or create-before-delete", () => {
    const dir = devProdProject();
    const v = of(run([container("prod", "gigi-prod-app", { name: "gigi-prod-app" })], { stack: "prod", dir }), POLICY);
    expect(v.map((x) => x.message)).toEqual([
      'prod app container "gigi-prod-app" has no health check: give it healthcheck.tests (twinstack:app.healthPath)',
      'prod app container "gigi-prod-app" is not health-gated: set wait: true so `pulumi up` fails on an unhealthy new container while the old one keeps serving',
      'prod app container "gigi-prod-app" has a fixed name, which forces delete-before-replace: leave name unset so the new container starts before the old one goes',
    ]);
    const dbr = of(
      run([gatedApp("prod")], { stack: "prod", dir }).concat(
        run([container("prod", "gigi-prod-app", { healthcheck: { tests: ["CMD", "true"] }, wait: true }, { deleteBeforeReplace: true })], { stack: "prod", dir }),
      ),
      POLICY,
    );
    expect(dbr.map((x) => x.message)).toEqual([
      'prod app container "gigi-prod-app" is replaced delete-first: drop deleteBeforeReplace so a failed new version leaves the old one serving',
    ]);
  });

  it("flags a prod service without health check or rollback", () => {
    const dir = devProdProject();
    const bare = service("prod", "gigi-prod-app", {
      taskSpec: { containerSpec: { image: "x@sha256:" + "1".repeat(64) } },
      updateConfig: { failureAction: "pause" },
      rollbackConfig: undefined,
    });
    expect(of(run([bare], { stack: "prod", dir }), POLICY).map((x) => x.message)).toEqual([
      'prod service "gigi-prod-app" has no health check (taskSpec.containerSpec.healthcheck)',
      'prod service "gigi-prod-app" does not roll back a failed update (set updateConfig.failureAction: "rollback")',
      'prod service "gigi-prod-app" has no rollbackConfig',
    ]);
  });

  it("does not apply to dev", () => {
    const dir = devProdProject();
    expect(of(run([container("dev", "gigi-dev-app", { name: "gigi-dev-app" })], { stack: "dev", dir }), POLICY)).toEqual([]);
  });
});
