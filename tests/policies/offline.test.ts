import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { ResourceValidationArgs, ResourceValidationPolicy, StackValidationArgs, StackValidationPolicy } from "@pulumi/policy";
import { formatViolation, HARNESS_UNKNOWN, policyConfigFor, runPolicies } from "../../policy/offline";
import { policies } from "../../policy/policies";
import { planProgram } from "../harness";
import { cleanupProjects, devProdProject, dockerProvider, of, resource, run } from "./helpers";

afterAll(cleanupProjects);

describe("the pack's policy list", () => {
  it("has the eleven rules, all mandatory but TLS, with tunable config", () => {
    expect(policies.map((p) => `${p.name}:${p.enforcementLevel}`)).toEqual([
      "env-token-in-names:mandatory",
      "no-shared-claims:mandatory",
      "nonprod-sites-private:mandatory",
      "prod-images-immutable:mandatory",
      "prod-data-protected:mandatory",
      "nonprod-resource-budget:mandatory",
      "preview-stays-on-dev:mandatory",
      "no-public-data-ports:mandatory",
      "prod-health-gated:mandatory",
      "runners-ephemeral:mandatory",
      "sites-use-tls:advisory",
    ]);
    const byName = Object.fromEntries(policies.map((p) => [p.name, p]));
    expect(policyConfigFor(byName["nonprod-resource-budget"])).toEqual({ nonProdShare: 0.4 });
    expect(policyConfigFor(byName["sites-use-tls"])).toEqual({ allowedPlainHttpSites: [] });
    expect(policyConfigFor(byName["prod-data-protected"]).protectedTypes).toContain("postgresql:index/database:Database");
  });
});

describe("runPolicies builds the engine's argument shapes", () => {
  it("resource policies: type, props, urn, name, opts, provider, isType/asType, getConfig, notApplicable", () => {
    const seen: ResourceValidationArgs[] = [];
    const probe: ResourceValidationPolicy = {
      name: "probe",
      description: "records its args",
      enforcementLevel: "advisory",
      configSchema: { properties: { limit: { type: "number", default: 3 }, names: { type: "array", default: ["a"] } } },
      validateResource: (args, report) => {
        if (args.type === "pulumi:providers:docker") args.notApplicable("providers are not checked");
        seen.push(args);
        if (args.isType(docker.Volume)) report(`volume ${args.asType(docker.Volume)?.name} limit ${args.getConfig<{ limit: number }>().limit}`);
      },
    };
    const provider = dockerProvider("dev", "p", "ssh://deploy@10.0.0.5");
    const volume = resource(
      "dev",
      "docker:index/volume:Volume",
      "v",
      { name: "gigi-dev-v" },
      { provider, protect: true, parent: "urn:pulumi:dev::twinstack::twinstack:index:X::x" },
    );
    const violations = runPolicies([provider, volume], { stack: "dev", policyConfig: { probe: { limit: 7, enforcementLevel: "mandatory" } } }, [probe]);

    expect(violations).toEqual([{ policy: "probe", enforcementLevel: "mandatory", resource: volume.urn, message: "volume gigi-dev-v limit 7" }]);
    expect(seen).toHaveLength(1);
    const args = seen[0];
    expect(args.type).toBe("docker:index/volume:Volume");
    expect(args.urn).toBe(volume.urn);
    expect(args.name).toBe("v");
    expect({ ...args.props }).toEqual({ name: "gigi-dev-v" });
    expect(args.opts).toEqual({
      protect: true,
      ignoreChanges: [],
      aliases: [],
      customTimeouts: { createSeconds: 0, updateSeconds: 0, deleteSeconds: 0 },
      additionalSecretOutputs: [],
      parent: "urn:pulumi:dev::twinstack::twinstack:index:X::x",
    });
    expect(args.provider && { ...args.provider, props: { ...args.provider.props } }).toEqual({
      type: "pulumi:providers:docker",
      urn: provider.urn,
      name: "p",
      props: { host: "ssh://deploy@10.0.0.5" },
    });
    expect(args.isType(docker.Container)).toBe(false);
    expect(args.asType(docker.Container)).toBeUndefined();
    expect(args.getConfig()).toEqual({ limit: 7, names: ["a"] });
    expect(args.stackTags.size).toBe(0);
  });

  it("stack policies: outputs as props, parent, dependencies and property dependencies as resource objects", () => {
    let seen: StackValidationArgs | undefined;
    const probe: StackValidationPolicy = { name: "stack-probe", description: "d", enforcementLevel: "mandatory", validateStack: (args) => void (seen = args) };
    const parent = resource("dev", "twinstack:index:X", "x");
    const net = resource("dev", "docker:index/network:Network", "net", { name: "n" });
    const c = resource(
      "dev",
      "docker:index/container:Container",
      "c",
      { image: "i" },
      { parent: parent.urn, state: { image: "i", name: "c-1234567" }, propertyDependencies: { networksAdvanced: [net.urn] } },
    );
    runPolicies([parent, net, c], { stack: "dev" }, [probe]);
    const rc = seen!.resources.find((r) => r.name === "c")!;
    expect(rc.props.name).toBe("c-1234567");
    expect(rc.parent?.name).toBe("x");
    expect(rc.dependencies.map((d) => d.name)).toEqual(["net"]);
    expect(rc.propertyDependencies.networksAdvanced.map((d) => d.name)).toEqual(["net"]);
    expect(rc.isType(docker.Container)).toBe(true);
  });

  it("honours disabled, reports unknown values as advisory, and refuses async policies", () => {
    const reads: ResourceValidationPolicy = { name: "reads", description: "d", enforcementLevel: "mandatory", validateResource: (args, report) => report(String(args.props.name)) };
    const r = resource("dev", "docker:index/volume:Volume", "v", { name: HARNESS_UNKNOWN });
    expect(runPolicies([r], { stack: "dev", policyConfig: { reads: { enforcementLevel: "disabled" } } }, [reads])).toEqual([]);
    expect(runPolicies([r], { stack: "dev" }, [reads])).toEqual([
      { policy: "reads", enforcementLevel: "advisory", resource: r.urn, message: "can't run policy during preview: string value at .name can't be known during preview" },
    ]);
    const later: ResourceValidationPolicy = { name: "later", description: "d", validateResource: async () => undefined };
    expect(() => runPolicies([r], { stack: "dev" }, [later])).toThrow(/asynchronous/);
  });

  it("finds the stack file through TWINSTACK_STACK_FILE_PATH when the caller passes none", () => {
    const dir = devProdProject();
    const image = resource("prod", "docker:index/remoteImage:RemoteImage", "img", { name: "app:latest" });
    const saved = process.env.TWINSTACK_STACK_FILE_PATH;
    try {
      process.env.TWINSTACK_STACK_FILE_PATH = `${dir}/Pulumi.dev.yaml`;
      // The file says dev, the URN says prod: the URN decides the env, the file supplies the config.
      expect(of(runPolicies([image], { stack: "prod" }), "prod-images-immutable")).toHaveLength(1);
      process.env.TWINSTACK_STACK_FILE_PATH = `${dir}/Pulumi.prod.yaml`;
      expect(of(runPolicies([resource("prod", "pulumi:pulumi:Stack", "s")], { stack: "prod" }), "no-shared-claims")).toEqual([]);
    } finally {
      if (saved === undefined) delete process.env.TWINSTACK_STACK_FILE_PATH;
      else process.env.TWINSTACK_STACK_FILE_PATH = saved;
    }
  });

  it("formats violations as policy (level): resource: message", () => {
    expect(formatViolation({ policy: "p", enforcementLevel: "mandatory", resource: "urn:pulumi:dev::twinstack::docker:index/volume:Volume::gigi-dev-v", message: "m" })).toBe(
      "p (mandatory): gigi-dev-v: m",
    );
    expect(formatViolation({ policy: "p", enforcementLevel: "advisory", message: "m" })).toBe("p (advisory): stack: m");
  });
});

describe("runPolicies over what the mocks harness records", () => {
  it("sees harness registrations the way the engine would", async () => {
    const dir = devProdProject();
    const { resources } = await planProgram(
      () => {
        const provider = new docker.Provider("prod-docker", { host: "ssh://deploy@10.0.0.5" });
        new docker.Volume("gigi-prod-data", { name: "gigi-prod-data" }, { provider });
        new docker.Network("net", { name: "gigi-net" }, { provider, protect: true });
        return { ok: pulumi.output(true) };
      },
      { stack: "prod", config: {} },
    );
    const violations = run(resources, { stack: "prod", dir });
    expect(violations.map(formatViolation).sort()).toEqual([
      'env-token-in-names (mandatory): net: prod network "gigi-net" does not carry the env token "prod": name it gigi-prod-net',
      'prod-data-protected (mandatory): gigi-prod-data: prod volume "gigi-prod-data" is not protected: declare it with { protect: true } so `pulumi destroy` or a replacement cannot delete it',
    ]);
    expect(of(violations, "preview-stays-on-dev")).toEqual([]);
  });
});
