import * as pulumi from "@pulumi/pulumi";
import * as docker from "@pulumi/docker";
import * as random from "@pulumi/random";
import { aliasUrns, planProgram, SecretValue, one } from "./harness";
import { plainStructOf, roundTrips, usePlainStructs } from "../tools/harness/plainStructs";
import { skipSdkStackTraces } from "./sdkStackTraces";

const SECRET_KEY = pulumi.runtime.specialSigKey;

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

describe("the plan's stand-ins for the SDK's per-resource work (same results, same microtask order)", () => {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const rpc = require("@pulumi/pulumi/runtime/rpc") as { transferProperties: (onto: object, label: string, props: Record<string, unknown>) => Record<string, Function> };
  // The SDK's own function, taken before any plan swaps it.
  const sdkTransferProperties = rpc.transferProperties;

  /**
   * Resolves (or rejects) the outputs transferProperties put on two resources, beside a ticker that
   * counts microtask turns, and returns at which turn each observation of each output ran.
   */
  async function observe(transfer: typeof sdkTransferProperties, fail: boolean): Promise<string[]> {
    const log: string[] = [];
    let turn = 0;
    let ticking = true;
    const tick = (): Promise<void> | void => {
      turn++;
      if (ticking) return Promise.resolve().then(tick);
    };
    void Promise.resolve().then(tick);
    const resources = ["a", "b"].map((name) => {
      const onto = {} as Record<string, pulumi.Output<unknown>>;
      const resolvers = transfer(onto, `res:${name}`, { x: 1, y: ["p", "q"], id: undefined, urn: undefined });
      for (const key of ["x", "y"]) {
        const out = onto[key] as any;
        for (const [what, promise] of [
          ["value", out.promise()],
          ["isKnown", out.isKnown],
          ["isSecret", out.isSecret],
          ["allResources", out.allResources()],
        ] as [string, Promise<unknown>][]) {
          promise.then(
            (v) => log.push(`${turn} ${name}.${key} ${what} ${JSON.stringify(v instanceof Set ? [...v].length : v)}`),
            (e) => log.push(`${turn} ${name}.${key} ${what} rejected ${(e as Error).message}`),
          );
        }
      }
      return resolvers;
    });
    await Promise.resolve();
    for (const [i, resolvers] of resources.entries()) {
      for (const [key, resolve] of Object.entries(resolvers)) {
        if (fail) resolve(undefined, true, false, [], new Error(`failed ${i}`));
        else resolve(key === "x" ? 42 : ["p", "q"], i === 0, i === 1, []);
        // A second call changes nothing, as with the SDK's promises.
        resolve("again", false, true, []);
      }
      await Promise.resolve();
    }
    for (let i = 0; i < 40; i++) await Promise.resolve();
    ticking = false;
    return log;
  }

  it("gives every output of a registration its value, known and secret flags at the same microtask as the SDK's transferProperties", async () => {
    const restore = skipSdkStackTraces();
    try {
      expect(rpc.transferProperties).not.toBe(sdkTransferProperties);
      for (const fail of [false, true]) {
        const sdk = await observe(sdkTransferProperties, fail);
        const plan = await observe(rpc.transferProperties, fail);
        expect(sdk).toHaveLength(16);
        expect(plan).toEqual(sdk);
      }
    } finally {
      restore();
    }
    expect(rpc.transferProperties).toBe(sdkTransferProperties);
  });

  it("reads the protobuf Structs of the mock round trip back as the real Struct does, and refuses what it refuses", () => {
    const values: unknown[] = [
      { b: 1, a: { d: [1, "x", null, true, { z: 0, y: -0 }], c: "" }, "10": "n", "2": NaN, Z: Infinity, é: [[]], "": {} },
      { [SECRET_KEY]: "1b47061264138c4ac30d75fd1eb44270", value: { nested: ["a", { k: false }] } },
      Object.assign(Object.create({ inherited: "i" }), { own: 1 }),
      {},
    ];
    for (const value of values) {
      const { real, plain } = roundTrips(value);
      expect(plain).toEqual(real);
      // The same keys in the same order (the real Struct reads them sorted).
      expect(JSON.stringify(plain)).toBe(JSON.stringify(real));
    }
    for (const bad of [{ a: undefined }, { a: [1, undefined] }, { f: () => 1 }]) {
      expect(() => roundTrips(bad)).toThrow("Unexpected struct type");
      expect(() => plainStructOf(bad)).toThrow("Unexpected struct type");
    }
  });

  it("gives each reader of a plain Struct its own copy, and a real field map when asked for one", () => {
    const source = { a: { b: [1] } };
    const struct = plainStructOf(source);
    source.a.b.push(2);
    const first = struct.toJavaScript() as { a: { b: number[] } };
    first.a.b.push(3);
    expect(struct.toJavaScript()).toEqual({ a: { b: [1] } });
    const fields = struct.getFieldsMap() as { get(key: string): { toJavaScript(): unknown } };
    expect(fields.get("a").toJavaScript()).toEqual({ b: [1] });
  });

  it("answers plain Structs only while a plan runs, also when two plans overlap", async () => {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { Struct } = require("google-protobuf/google/protobuf/struct_pb");
    const real = Struct.fromJavaScript;
    const program = () => new random.RandomPassword("pw", { length: 8 });
    const inside: unknown[] = [];
    await Promise.all([
      planProgram(
        () => {
          inside.push(Struct.fromJavaScript);
          return program();
        },
        { stack: "dev", config: {} },
      ),
    ]);
    expect(inside[0]).not.toBe(real);
    expect(Struct.fromJavaScript).toBe(real);
    const first = usePlainStructs();
    const second = usePlainStructs();
    first();
    expect(Struct.fromJavaScript).not.toBe(real);
    first();
    expect(Struct.fromJavaScript).not.toBe(real);
    second();
    expect(Struct.fromJavaScript).toBe(real);
  });
});
