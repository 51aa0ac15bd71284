// stacks/preview.ts and stacks/runners.ts through the real config loader under the mocks harness.
import { loadStackConfig } from "../stacks/config";
import { PreviewHandoff } from "../model/handoff";
import { composePreview } from "../stacks/preview";
import { composeRunners } from "../stacks/runners";
import { byType, one, planProgram, SecretValue } from "./harness";

const HANDOFF: PreviewHandoff = {
  appName: "gigi",
  dockerHost: "unix:///var/run/docker.sock",
  dockerSshOpts: [],
  networkName: "gigi-dev-net",
  postgres: { host: "127.0.0.1", port: 5433, appHost: "postgres", appPort: 5432, adminUser: "gigi_dev", adminPassword: "devAdminPw1", sslmode: "disable", devDatabase: "gigi_dev" },
  proxy: { label: "gigi-dev", previewsDir: "/etc/caddy/previews" },
  domain: "dev.gigi.casa",
  imageRepository: "registry.gigi.casa/gigi/gigi",
  app: { port: 3000, healthPath: "/healthz", env: { APP_ENV: "preview" } },
};

const json = (value: unknown) => JSON.stringify(value);

describe("composePreview", () => {
  it("derives the branch from the stack name and reads the dev stack's handoff", async () => {
    const { resources, outputs } = await planProgram(() => composePreview(loadStackConfig()), {
      stack: "preview-feature-login",
      config: {},
      stackOutputs: { dev: { previewHandoff: HANDOFF } },
    });
    expect(outputs).toEqual({
      previewUrl: "https://dev.gigi.casa/preview/feature-login/",
      slug: "feature-login",
      databaseName: "gigi_preview_feature_login",
      image: "registry.gigi.casa/gigi/gigi:preview-feature-login",
    });
    expect(one(resources, "docker:index/container:Container").inputs.cpus).toBe("0.5");
    expect(one(resources, "docker:index/container:Container").inputs.memory).toBe(512);
  });

  it("takes branch, dev stack, clone and limits from twinstack:preview", async () => {
    const { resources, outputs } = await planProgram(() => composePreview(loadStackConfig()), {
      // Not named preview-<slug>: the branch comes from the key (a preview-<slug> stack whose key
      // had another slug would be refused: tests/config.test.ts).
      stack: "pr-anything",
      config: {
        "twinstack:env": "preview",
        "twinstack:preview": json({ devStack: "acme/twinstack/dev", branch: "Feature/Login", cloneDevDatabase: true, limits: { cpus: 1, memoryMb: 768 } }),
      },
      stackOutputs: {
        "acme/twinstack/dev": {
          previewHandoff: { ...HANDOFF, postgres: { ...HANDOFF.postgres, devDatabaseUrl: "postgres://gigi_dev:pw@postgres:5432/gigi_dev", clientImage: "postgres:16-alpine" } },
        },
      },
    });
    expect(outputs.slug).toMatch(/^feature-login-[0-9a-f]{6}$/);
    // Cloned by dump/restore (scripts/clone-db.sh), not TEMPLATE (issue 13).
    expect(resources.filter((r) => r.type === "command:local:Command" && r.name.endsWith("-clone"))).toHaveLength(1);
    const container = one(resources, "docker:index/container:Container");
    expect(container.inputs.cpus).toBe("1");
    expect(container.inputs.memory).toBe(768);
  });

  it("asks for twinstack:preview.branch when the stack name carries no branch", async () => {
    await expect(
      planProgram(() => composePreview(loadStackConfig()), {
        stack: "pr42",
        config: { "twinstack:env": "preview" },
        stackOutputs: { dev: { previewHandoff: HANDOFF } },
      }),
    ).rejects.toThrow(/twinstack:preview\.branch: required key is missing/);
  });
});

describe("composeRunners", () => {
  const prodApp = json({ name: "gigi", image: "registry.gigi.casa/gigi/gigi:1.0.0" });

  it("builds the fleet from twinstack:runners with the token read as a secret", async () => {
    const { resources, outputs } = await planProgram(
      () => {
        const fleet = composeRunners(loadStackConfig(), "gigi-prod-runner");
        return { addresses: fleet.addresses, machineNames: fleet.machineNames };
      },
      {
        stack: "prod",
        config: {
          "twinstack:env": "prod",
          "twinstack:app": prodApp,
          "twinstack:runners": json({
            count: 2,
            provider: "hcloud",
            size: "cx22",
            region: "fsn1",
            image: "ubuntu-24.04",
            forgeUrl: "https://forge.gigi.casa",
            adminCidr: "198.51.100.7/32",
            sshKeys: ["ops"],
          }),
          "twinstack:runnerRegistrationToken": "runnerTok3n",
        },
        secretKeys: ["twinstack:runnerRegistrationToken"],
      },
    );
    const servers = byType(resources, "hcloud:index/server:Server");
    expect(servers.map((s) => s.inputs.name)).toEqual(["gigi-prod-runner-0", "gigi-prod-runner-1"]);
    for (const s of servers) {
      expect(s.inputs.labels).toEqual({ ephemeral: "true", env: "prod" });
      expect(s.inputs.userData).toBeInstanceOf(SecretValue);
      expect(String(s.props.userData)).toContain("runnerTok3n");
      expect(String(s.props.userData)).toContain("https://forge.gigi.casa");
    }
    for (const r of resources) expect(JSON.stringify(r.inputs)).not.toContain("runnerTok3n");
    expect(outputs.machineNames).toEqual(["gigi-prod-runner-0", "gigi-prod-runner-1"]);
  });

  it("constructs an empty fleet for count 0, with no token, forge or admin range configured", async () => {
    const { resources, outputs } = await planProgram(
      () => {
        const fleet = composeRunners(loadStackConfig(), "gigi-prod-runner");
        return { addresses: fleet.addresses };
      },
      { stack: "prod", config: { "twinstack:env": "prod", "twinstack:app": prodApp } },
    );
    expect(resources.map((r) => r.type)).toEqual(["twinstack:index:RunnerFleet"]);
    expect(outputs.addresses).toEqual([]);
  });
});
