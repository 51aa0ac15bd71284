import * as pulumi from "@pulumi/pulumi";
import * as docker from "@pulumi/docker";
import * as random from "@pulumi/random";
import { planProgram, SecretValue, one } from "./harness";

describe("mocks harness", () => {
  it("records type, name, parent, options and secret inputs of every registration", async () => {
    const { resources, outputs } = await planProgram(() => {
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
    }, { stack: "dev", config: {} });
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
    const { outputs } = await planProgram(() => {
      const container = new docker.Container("c", { image: "nginx:1" });
      // The mock computes no `networkDatas`: in preview it stays unknown, as with a real engine.
      return { ip: container.networkDatas, image: container.image };
    }, { stack: "dev", config: {} });
    expect(outputs).toEqual({ ip: "[unknown]", image: "nginx:1" });
  });
});
