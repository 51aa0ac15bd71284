import { cleanupProjects, devProdProject, of, resource, run } from "./helpers";

const POLICY = "prod-data-protected";
afterAll(cleanupProjects);

describe("prod-data-protected (rule 5)", () => {
  const db = (stack: string, protect: boolean) => resource(stack, "postgresql:index/database:Database", `gigi-${stack}-db`, { name: `gigi_${stack}` }, { protect });
  const vol = (stack: string, protect: boolean) => resource(stack, "docker:index/volume:Volume", `gigi-${stack}-data`, { name: `gigi-${stack}-data` }, { protect });
  const fip = (stack: string, protect: boolean) => resource(stack, "hcloud:index/floatingIp:FloatingIp", `gigi-${stack}-vip`, { type: "ipv4" }, { protect });

  it("passes protected prod data and unprotected dev data", () => {
    const dir = devProdProject();
    expect(of(run([db("prod", true), vol("prod", true), fip("prod", true)], { stack: "prod", dir }), POLICY)).toEqual([]);
    expect(of(run([db("dev", false), vol("dev", false)], { stack: "dev", dir }), POLICY)).toEqual([]);
  });

  it("flags an unprotected prod database, volume and VIP", () => {
    const dir = devProdProject();
    const messages = of(run([db("prod", false), vol("prod", false), fip("prod", false)], { stack: "prod", dir }), POLICY).map((v) => v.message);
    expect(messages).toEqual([
      'prod database "gigi_prod" is not protected: declare it with { protect: true } so `pulumi destroy` or a replacement cannot delete it',
      'prod volume "gigi-prod-data" is not protected: declare it with { protect: true } so `pulumi destroy` or a replacement cannot delete it',
      'prod VIP "gigi-prod-vip" is not protected: declare it with { protect: true } so `pulumi destroy` or a replacement cannot delete it',
    ]);
  });

  it("protectedTypes in the policy config replaces the list", () => {
    const dir = devProdProject();
    const violations = run([db("prod", false), vol("prod", false)], { stack: "prod", dir, policyConfig: { [POLICY]: { protectedTypes: ["docker:index/volume:Volume"] } } });
    expect(of(violations, POLICY).map((v) => v.message)).toEqual([expect.stringContaining('prod volume "gigi-prod-data"')]);
  });
});
