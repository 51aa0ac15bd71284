import { nameProblem } from "../../policy/naming";
import { cleanupProjects, container, DEV_YAML, devProdProject, of, resource, run } from "./helpers";

const POLICY = "env-token-in-names";
afterAll(cleanupProjects);

describe("env-token-in-names (rule 1)", () => {
  it("passes names that carry the stack's env token", () => {
    const dir = devProdProject();
    const violations = run(
      [
        resource("dev", "docker:index/network:Network", "gigi-dev-net", { name: "gigi-dev-net" }),
        resource("dev", "docker:index/volume:Volume", "gigi-dev-pgdata", { name: "gigi-dev-pgdata" }),
        resource("dev", "postgresql:index/database:Database", "db", { name: "gigi_dev" }),
        // Autonamed app container: checked by its logical name.
        container("dev", "gigi-dev-app"),
        resource("dev", "digitalocean:index/dnsRecord:DnsRecord", "rec", { domain: "gigi.casa", name: "dev", type: "A" }),
      ],
      { stack: "dev", dir },
    );
    expect(of(violations, POLICY)).toEqual([]);
  });

  it("names a dev database with the prod token and says what to call it", () => {
    const dir = devProdProject();
    const violations = of(run([resource("dev", "postgresql:index/database:Database", "db", { name: "gigi_prod" })], { stack: "dev", dir }), POLICY);
    expect(violations).toHaveLength(1);
    expect(violations[0].message).toBe('dev database "gigi_prod" carries another stack\'s env token: name it gigi_dev');
    expect(violations[0].enforcementLevel).toBe("mandatory");
  });

  it("flags names without any env token, suggesting one", () => {
    const dir = devProdProject();
    const violations = of(
      run(
        [
          resource("prod", "docker:index/volume:Volume", "v", { name: "gigi-pgdata" }),
          container("prod", "app-container", {}),
          resource("prod", "postgresql:index/role:Role", "r", { name: "gigi" }),
        ],
        { stack: "prod", dir },
      ),
      POLICY,
    ).map((v) => v.message);
    expect(violations).toEqual([
      'prod volume "gigi-pgdata" does not carry the env token "prod": name it gigi-prod-pgdata',
      'prod container "app-container" does not carry the env token "prod": name it app-prod-container',
      'prod role "gigi" does not carry the env token "prod": name it gigi_prod',
    ]);
  });

  it("prod DNS records need no token but must not carry dev's", () => {
    const dir = devProdProject();
    const ok = run([resource("prod", "digitalocean:index/dnsRecord:DnsRecord", "apex", { domain: "gigi.casa", name: "@", type: "A" })], { stack: "prod", dir });
    expect(of(ok, POLICY)).toEqual([]);
    const bad = of(run([resource("prod", "hcloud:index/zoneRrset:ZoneRrset", "r", { zone: "gigi.casa", name: "dev", type: "A" })], { stack: "prod", dir }), POLICY);
    expect(bad.map((v) => v.message)).toEqual(['prod DNS record "dev.gigi.casa" carries another stack\'s env token: name it gigi.casa']);
  });

  it("preview names carry preview and the slug; a slug containing 'dev' is not a foreign token", () => {
    const dir = devProdProject();
    const stack = "preview-dev-tools";
    const ok = run([resource(stack, "postgresql:index/database:Database", "db", { name: "gigi_preview_dev_tools" }), container(stack, "c", { name: "gigi-preview-dev-tools" })], {
      stack,
      dir,
    });
    expect(of(ok, POLICY)).toEqual([]);
    const bad = of(run([resource(stack, "postgresql:index/database:Database", "db", { name: "gigi_dev" })], { stack, dir }), POLICY);
    expect(bad.map((v) => v.message)).toEqual(['preview (preview-dev-tools) database "gigi_dev" carries another stack\'s env token: name it gigi_preview_dev_tools']);
  });

  it("takes the env of a stack with another name from its config (twinstack:env)", () => {
    const dir = devProdProject({ "Pulumi.staging.yaml": DEV_YAML });
    const violations = of(run([resource("staging", "docker:index/network:Network", "n", { name: "gigi-staging-net" })], { stack: "staging", dir }), POLICY);
    expect(violations.map((v) => v.message)).toEqual(['dev network "gigi-staging-net" does not carry the env token "dev": name it gigi-dev-staging-net']);
  });

  it("ignores env-looking words inside the app name", () => {
    expect(nameProblem({ name: "devtools-prod-app", env: "prod", appName: "devtools" })).toBeUndefined();
    expect(nameProblem({ name: "prod-bot-dev-app", env: "dev", appName: "prod-bot" })).toBeUndefined();
    expect(nameProblem({ name: "prod-bot-dev-app", env: "dev" })?.kind).toBe("foreign");
  });
});
