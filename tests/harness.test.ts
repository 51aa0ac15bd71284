import * as pulumi from "@pulumi/pulumi";
import * as docker from "@pulumi/docker";
import * as random from "@pulumi/random";
import { aliasUrns, planProgram, SecretValue, one } from "./harness";

describe("mocks harness", () => {
  it("records type, name, parent, options and secret inputs of every registration", async () => {
    const { resources, outputs } = await planProgram(
      () => {
        class Box extends pulumi.ComponentResource {
          constructor(name: string, opts?: pulumi.ComponentResourceOptions) {
            super("twinstack:index:Box", name, {}, opts);
            const password = new random.RandomPassword(`${name}-pw`, { length: 24 }, { parent: this });
            new docker.Container(`${name}-c`, { image: "nginx:1", envs: [pulumi.interpolate`PW=${password.result}`] }, { parent: this, protect: true, dependsOn: [password] });
            this.registerOutputs({});
          }
        }
        new Box("b");
        return { secret: pulumi.secret("s3"), plain: "p" };
      },
      { stack: "dev", config: {} },
    );
    const container = one(resources, "docker:index/container:Container");
    expect(container.parent).toBe(one(resources, "twinstack:index:Box").urn);
    expect(container.opts.protect).toBe(true);
    expect(container.inputs.envs).toEqual([expect.any(SecretValue)]);
    expect(String(container.props.envs)).toMatch(/^PW=[0-9a-f]{24}$/);
    expect(container.state.name).toMatch(/^b-c-[0-9a-f]{7}$/);
    expect(container.dependencies).toContain(one(resources, "random:index/randomPassword:RandomPassword").urn);
    expect(outputs.secret).toBeInstanceOf(SecretValue);
    expect(outputs.plain).toBe("p");
    expect(JSON.stringify(outputs)).not.toContain("s3");
  });

  it("reports an output the mock leaves unknown as [unknown] instead of waiting for it", async () => {
    const { outputs } = await planProgram(
      () => {
        const container = new docker.Container("c", { image: "nginx:1" });
        // The mock computes no `networkDatas`: in preview it stays unknown, as with a real engine.
        return { ip: container.networkDatas, image: container.image };
      },
      { stack: "dev", config: {} },
    );
    expect(outputs).toEqual({ ip: "[unknown]", image: "nginx:1" });
  });
});

describe("aliasUrns (the engine's alias inheritance)", () => {
  const parentNow = "urn:pulumi:prod::twinstack::twinstack:index:InstanceStack$twinstack:index:PostgresDatabase::prod-db";
  it("gives a renamed component its old URN and a child named from it the child's old URN", () => {
    const parentAliases = aliasUrns(
      { name: "prod-db", type: "twinstack:index:PostgresDatabase", parent: "urn:pulumi:prod::twinstack::twinstack:index:InstanceStack::prod" },
      [{ type: "twinstack:index:SharedPostgresDb" }],
      [],
      "twinstack",
      "prod",
    );
    expect(parentAliases).toEqual(["urn:pulumi:prod::twinstack::twinstack:index:InstanceStack$twinstack:index:SharedPostgresDb::prod-db"]);
    expect(aliasUrns({ name: "prod-db-role", type: "postgresql:index/role:Role", parent: parentNow }, [], parentAliases, "twinstack", "prod")).toEqual([
      "urn:pulumi:prod::twinstack::twinstack:index:SharedPostgresDb$postgresql:index/role:Role::prod-db-role",
    ]);
  });
  it("renames a child's name prefix with its parent's aliased name, and leaves other names alone", () => {
    const parentAliases = ["urn:pulumi:prod::twinstack::twinstack:index:X::old"];
    const parent = "urn:pulumi:prod::twinstack::twinstack:index:X::new";
    expect(aliasUrns({ name: "new-child", type: "t:index:C", parent }, [], parentAliases, "twinstack", "prod")).toEqual([
      "urn:pulumi:prod::twinstack::twinstack:index:X$t:index:C::old-child",
    ]);
    expect(aliasUrns({ name: "other", type: "t:index:C", parent }, [], parentAliases, "twinstack", "prod")).toEqual([
      "urn:pulumi:prod::twinstack::twinstack:index:X$t:index:C::other",
    ]);
    expect(aliasUrns({ name: "other", type: "t:index:C", parent }, [], [], "twinstack", "prod")).toEqual([]);
  });
});

test("planProgram records the alias URNs a renamed component and its children are matched by", async () => {
  class Renamed extends pulumi.ComponentResource {
    constructor(name: string, opts?: pulumi.ComponentResourceOptions) {
      super("twinstack:index:NewName", name, {}, { ...opts, aliases: [{ type: "twinstack:index:OldName" }] });
      new random.RandomPassword(`${name}-secret`, { length: 8 }, { parent: this });
      this.registerOutputs({});
    }
  }
  const plan = await planProgram(() => new Renamed("comp"), { stack: "dev", config: {} });
  expect(one(plan.resources, "twinstack:index:NewName").aliases).toEqual(["urn:pulumi:dev::twinstack::twinstack:index:OldName::comp"]);
  expect(one(plan.resources, "random:index/randomPassword:RandomPassword").aliases).toEqual([
    "urn:pulumi:dev::twinstack::twinstack:index:OldName$random:index/randomPassword:RandomPassword::comp-secret",
  ]);
});
