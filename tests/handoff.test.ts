// The preview handoff as one zod schema (model/handoff.ts): every example dev stack's real
// `previewHandoff` output fits it, and a preview whose dev stack exports something else fails
// before declaring anything, naming the dev stack, the output and the field, never a secret value.
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { readPreviewHandoff } from "../stacks/preview";
import { parsePreviewHandoff, PreviewHandoff, previewHandoffProblems, previewHandoffSchema, PreviewHandoffError } from "../model/handoff";
import { planStack } from "../tools/planner";
import { revealSecrets } from "../tools/harness";
import { planProgram } from "./harness";

const HANDOFF: PreviewHandoff = {
  appName: "gigi",
  dockerHost: "unix:///var/run/docker.sock",
  dockerSshOpts: [],
  networkName: "gigi-dev-net",
  postgres: { host: "127.0.0.1", port: 5433, appHost: "postgres", appPort: 5432, adminUser: "gigi_dev", adminPassword: "devAdminPw1", sslmode: "disable", devDatabase: "gigi_dev" },
  proxy: { label: "gigi-dev", previewsDir: "/etc/caddy/previews" },
  domain: "dev.gigi.casa",
  imageRepository: "registry.gigi.casa/gigi/gigi",
  app: { port: 3000, healthPath: "/healthz", env: { LOG_LEVEL: "debug" } },
};

describe("preview handoff schema", () => {
  it.each(["gigi", "makapix", "twincigo", "cocotte", "lugh"])("accepts the previewHandoff the %s dev stack exports", async (system) => {
    const dir = path.join(__dirname, "..", "examples", system);
    const dev = await planStack({ stack: "dev", stackFile: path.join(dir, "Pulumi.dev.yaml"), projectDir: dir, runPolicyPack: false });
    const handoff = (revealSecrets(dev.outputs) as Record<string, unknown>).previewHandoff;
    // lugh's dev stack has no proxy domain, so no previews and no handoff.
    if (system === "lugh") return expect(handoff).toBeUndefined();
    expect(previewHandoffProblems(handoff)).toEqual([]);
    expect(parsePreviewHandoff(handoff, "dev")).toEqual(handoff);
  });

  it("names the dev stack, the output and every field that does not fit, and no secret value", () => {
    const bad = { ...HANDOFF, app: { ...HANDOFF.app, port: "3000" }, postgres: { ...HANDOFF.postgres, adminPassword: 12345678 }, domain: "Dev Domain" };
    let message = "";
    try {
      parsePreviewHandoff(bad, "acme/shop/dev");
    } catch (err) {
      expect(err).toBeInstanceOf(PreviewHandoffError);
      message = (err as Error).message;
    }
    expect(message.split("\n").slice(0, 3).sort()).toEqual([
      'dev stack "acme/shop/dev": output previewHandoff: app.port must be a port number',
      'dev stack "acme/shop/dev": output previewHandoff: domain "Dev Domain" is not a domain name',
      'dev stack "acme/shop/dev": output previewHandoff: postgres.adminPassword must be a string',
    ]);
    expect(message).toMatch(/run pulumi up -s acme\/shop\/dev/);
    expect(message).not.toContain("12345678");
  });

  it("asks for the clone's fields only when the preview clones the dev database", () => {
    expect(previewHandoffProblems(HANDOFF)).toEqual([]);
    expect(previewHandoffProblems(HANDOFF, { cloneDevDatabase: true })).toEqual([
      "postgres.clientImage and postgres.devDatabaseUrl are missing, which preview.cloneDevDatabase needs",
    ]);
    expect(previewHandoffProblems(undefined)).toEqual(["is missing or not an object"]);
    expect(previewHandoffSchema.safeParse({ ...HANDOFF, app: { ...HANDOFF.app, env: { "1X": "a" } } }).success).toBe(false);
    expect(previewHandoffProblems({ ...HANDOFF, app: { ...HANDOFF.app, env: { "1X": "a" } } })).toEqual(['app.env key "1X" is not an environment variable name']);
  });

  it("fails a preview's read of a dev stack that exports another shape, naming the dev stack and the output", async () => {
    const { imageRepository: _dropped, ...older } = HANDOFF;
    const run = planProgram(() => ({ handoff: readPreviewHandoff("acme/shop/dev") }), {
      stack: "preview-feature-login",
      config: {},
      stackOutputs: { "acme/shop/dev": { previewHandoff: { ...older, app: { ...HANDOFF.app, port: 0 } } } },
    });
    await expect(run).rejects.toThrow(
      /^dev stack "acme\/shop\/dev": output previewHandoff: imageRepository must be a string\ndev stack "acme\/shop\/dev": output previewHandoff: app\.port must be a port number\n/,
    );
    await expect(run).rejects.toBeInstanceOf(pulumi.RunError);
    await expect(run).rejects.not.toThrow(/devAdminPw1/);
  });

  it("fails a preview whose dev stack has no handoff output, naming the preview's file and preview.devStack", async () => {
    for (const stackOutputs of [{ prod: { url: "https://gigi.casa" } }, { prod: { previewHandoff: null } }]) {
      const run = planProgram(() => ({ handoff: readPreviewHandoff("prod", { sourceFile: "Pulumi.preview-x.yaml" }) }), { stack: "preview-x", config: {}, stackOutputs });
      await expect(run).rejects.toThrow(
        'Pulumi.preview-x.yaml: twinstack:preview.devStack: stack "prod" has no previewHandoff output: only a dev stack with a proxy and a domain (twinstack:domains) exports it, once deployed',
      );
      await expect(run).rejects.toBeInstanceOf(pulumi.RunError);
    }
  });

  it("hands a preview the dev stack's handoff as parsed", async () => {
    const { outputs } = await planProgram(() => ({ handoff: readPreviewHandoff("dev") }), {
      stack: "preview-feature-login",
      config: {},
      stackOutputs: { dev: { previewHandoff: { ...HANDOFF, extra: 1 } } },
    });
    expect(revealSecrets(outputs.handoff)).toEqual(HANDOFF);
  });
});
