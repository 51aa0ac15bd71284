// The offline plan as users run it: `npm run plan -- -s <stack> ...`.
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { previewSlug } from "../model/slug";
import { runPlanCliAsync } from "../tools/planCli";
import { StackFileError } from "../model/stackFile";
import { PlanError, planStack, readPolicyConfig } from "../tools/planner";
import { sharedPlanCli } from "./support/sharedProcess";
import { allEnded, startAllEarly, startEarly } from "./support/startEarly";

const root = path.join(__dirname, "..");

// The two plan processes start before the tests (tests/support/startEarly.ts) and run while the
// in-process plans below run. The dev plan is the same process as adoption.test.ts's: run once per
// jest run (tests/support/sharedProcess.ts).
const devJson = startEarly(() => sharedPlanCli(["-s", "dev", "--json"]));
const misspelled = startEarly(() => runPlanCliAsync(["-s", "dev", "--jsn"]));
beforeAll(startAllEarly);
afterAll(allEnded);

describe("npm run plan", () => {
  it("--json lists type, name, parent and inputs, with secrets as [secret] and no plaintext", async () => {
    const result = await devJson();
    expect(result.status).toBe(0);
    const json = JSON.parse(result.stdout);
    expect(json.resources.length).toBeGreaterThan(10);
    for (const r of json.resources) expect(Object.keys(r).sort()).toEqual(expect.arrayContaining(["inputs", "name", "type"]));
    const app = json.resources.find((r: any) => r.name === "myapp-dev-app");
    expect(app.parent).toBe("myapp-dev");
    expect(app.inputs.envs).toBe("[secret]");
    expect(json.outputs.connectionString).toBe("[secret]");
    // The same plan in-process knows the generated passwords: none of them is in the JSON.
    const inProcess = await planStack({ stack: "dev", projectDir: root });
    const passwords = inProcess.resources.filter((r) => r.type === "random:index/randomPassword:RandomPassword").map((r) => String(r.state.result));
    expect(passwords.length).toBeGreaterThan(1);
    for (const p of passwords) expect(result.stdout).not.toContain(p);
  });

  it("takes the policy pack config the way pulumi preview --policy-pack-config does", async () => {
    const stackFile = path.join(root, "examples/makapix/Pulumi.prod.yaml");
    const without = await planStack({ stack: "prod", stackFile, projectDir: root });
    expect(without.violations.map((v) => `${v.policy} ${v.enforcementLevel}`)).toEqual(["sites-use-tls advisory"]);
    const withConfig = await planStack({ stack: "prod", stackFile, projectDir: root, policyConfig: readPolicyConfig(path.join(root, "examples/makapix/policy-config.json")) });
    expect(withConfig.violations).toEqual([]);
    expect(() => readPolicyConfig(path.join(root, "package-lock.json.missing"))).toThrow(PlanError);
    // "all" sets every policy's level, a policy's own entry (a level alone, as pulumi takes it) overrides it.
    const all = { all: { enforcementLevel: "mandatory" } };
    expect((await planStack({ stack: "prod", stackFile, projectDir: root, policyConfig: all })).violations.map((v) => `${v.policy} ${v.enforcementLevel}`)).toEqual([
      "sites-use-tls mandatory",
    ]);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "twinstack-policy-config-"));
    try {
      const file = path.join(dir, "policy.json");
      fs.writeFileSync(file, JSON.stringify({ all: "mandatory", "sites-use-tls": "disabled" }));
      const disabled = readPolicyConfig(file);
      expect(disabled["sites-use-tls"]).toEqual({ enforcementLevel: "disabled" });
      expect((await planStack({ stack: "prod", stackFile, projectDir: root, policyConfig: disabled })).violations).toEqual([]);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it("refuses a policy pack config naming no policy of the pack or no enforcement level, listing the valid ones", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "twinstack-policy-config-"));
    const file = path.join(dir, "policy.json");
    const refusal = (config: unknown): string => {
      fs.writeFileSync(file, JSON.stringify(config));
      try {
        readPolicyConfig(file);
      } catch (err) {
        expect(err).toBeInstanceOf(PlanError);
        return (err as Error).message;
      }
      throw new Error(`accepted ${JSON.stringify(config)}`);
    };
    try {
      const unknown = refusal({ "sites-use-tsl": { allowedPlainHttpSites: [] } });
      expect(unknown).toMatch(
        new RegExp(`^${file}: "sites-use-tsl" is no policy of the pack; its policies: env-token-in-names, no-shared-claims, .*, sites-use-tls \\(or "all" for every one\\)$`),
      );
      // The list is the pack's own.
      for (const policy of require("../policy/policies").policies) expect(unknown).toContain(policy.name);
      const levels = '"advisory", "mandatory", "remediate", "disabled"';
      expect(refusal({ "sites-use-tls": { enforcementLevel: "mandatroy" } })).toBe(`${file}: "sites-use-tls": enforcement level "mandatroy" is none of ${levels}`);
      expect(refusal({ all: "Advisory" })).toBe(`${file}: "all": enforcement level "Advisory" is none of ${levels}`);
      expect(refusal({ "sites-use-tls": 3 })).toBe(`${file}: "sites-use-tls": expected an enforcement level (${levels}) or {"enforcementLevel": ..., <key>: <value>}`);
      // Each policy's configSchema (policy/*.ts) says which keys exist and their types.
      expect(refusal({ "sites-use-tls": { allowedPlainHttpSites: "http://vault.makapix.club" } })).toBe(
        `${file}: "sites-use-tls": key "allowedPlainHttpSites": expected an array of string, got "http://vault.makapix.club"`,
      );
      expect(refusal({ "sites-use-tls": { allowedPlainHttpSites: ["a", 1] } })).toBe(
        `${file}: "sites-use-tls": key "allowedPlainHttpSites": expected an array of string, got ["a",1]`,
      );
      expect(refusal({ "sites-use-tls": { allowedPlainHttpSite: [] } })).toBe(
        `${file}: "sites-use-tls": unknown key "allowedPlainHttpSite"; expected one of: enforcementLevel, allowedPlainHttpSites`,
      );
      expect(refusal({ "prod-images-immutable": { enforcementlevel: "disabled" } })).toBe(
        `${file}: "prod-images-immutable": unknown key "enforcementlevel"; expected one of: enforcementLevel`,
      );
      expect(refusal({ all: { enforcementLevel: "advisory", nonProdShare: 0.5 } })).toBe(`${file}: "all": unknown key "nonProdShare"; expected one of: enforcementLevel`);
      expect(refusal({ "nonprod-resource-budget": { nonProdShare: 2 } })).toBe(`${file}: "nonprod-resource-budget": key "nonProdShare": expected a number <= 1, got 2`);
      expect(refusal({ "nonprod-resource-budget": { nonProdShare: "0.5" } })).toBe(`${file}: "nonprod-resource-budget": key "nonProdShare": expected a number, got "0.5"`);
      fs.writeFileSync(file, JSON.stringify({ "nonprod-resource-budget": { nonProdShare: 0.5 }, "prod-data-protected": { protectedTypes: ["docker:index/volume:Volume"] } }));
      expect(readPolicyConfig(file)["nonprod-resource-budget"]).toEqual({ nonProdShare: 0.5 });
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it("plans a preview stack not named preview-<slug> (twinstack:env preview, preview.branch) and flags a second preview of its branch", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "twinstack-plan-preview-"));
    try {
      fs.copyFileSync(path.join(root, "examples/gigi/Pulumi.dev.yaml"), path.join(dir, "Pulumi.dev.yaml"));
      const stackFile = path.join(dir, "Pulumi.pr-42.yaml");
      fs.writeFileSync(stackFile, "config:\n  twinstack:env: preview\n  twinstack:preview:\n    branch: feature/xyz\n");
      const slug = previewSlug("feature/xyz");
      // Alone: dev's outputs are read as for preview-<slug>, and the names carry the branch's slug
      // (the policy pack takes the branch from the config first, as the program does).
      const alone = await planStack({ stack: "pr-42", stackFile, projectDir: root });
      expect(alone.violations).toEqual([]);
      const container = alone.resources.find((r) => r.type === "docker:index/container:Container");
      expect(container?.inputs.name).toBe(`gigi-preview-${slug}`);
      // Beside the stack file a `preview-<slug>` stack of the same branch would have: both would
      // run one container, database and route.
      fs.writeFileSync(path.join(dir, `Pulumi.preview-${slug}.yaml`), "config:\n  twinstack:env: preview\n");
      const beside = await planStack({ stack: "pr-42", stackFile, projectDir: root });
      expect(beside.violations.map((v) => `${v.policy}: ${v.message}`)).toEqual([
        `no-shared-claims: stack "pr-42" is a preview of branch slug ${slug} on dev stack "dev" (from twinstack:preview.branch in ${stackFile}), ` +
          `as is stack "preview-${slug}" (from its stack name; ${path.join(dir, `Pulumi.preview-${slug}.yaml`)}): ` +
          "both would run one container, database, image tag and route: keep one of the two stacks (`pulumi destroy --remove` the other, and delete its file)",
      ]);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it("names the preview's file and preview.devStack when the dev stack exports no handoff (no domain), in one line", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "twinstack-plan-preview-"));
    try {
      const dev = fs.readFileSync(path.join(root, "examples/gigi/Pulumi.dev.yaml"), "utf8").replace(/  twinstack:domains:.*\n(    - .*\n)*/, "");
      expect(dev).not.toContain("twinstack:domains");
      fs.writeFileSync(path.join(dir, "Pulumi.dev.yaml"), dev);
      const stackFile = path.join(dir, "Pulumi.preview-feature-xyz.yaml");
      fs.writeFileSync(stackFile, "config:\n  twinstack:env: preview\n");
      // A process: the program's error surfaces as an unhandled rejection, which the CLI reports.
      const result = await runPlanCliAsync(["-s", "preview-feature-xyz", "--config", stackFile]);
      expect(result.status).toBe(1);
      expect(result.stderr.trim().split("\n")).toEqual([
        `${path.relative(process.cwd(), stackFile)}: twinstack:preview.devStack: stack "dev" has no previewHandoff output: ` +
          "only a dev stack with a proxy and a domain (twinstack:domains) exports it, once deployed (a prod or preview stack never does): point preview.devStack at such a dev stack",
      ]);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it("a preview stack needs no stack file of its own, but one given (--config) that does not exist is an error naming it, as for dev", async () => {
    const misspelt = path.join(root, "examples/gigi/Pulumi.preview-feature-xzy.yaml");
    expect(fs.existsSync(misspelt)).toBe(false);
    const given = planStack({ stack: "preview-feature-xyz", stackFile: misspelt, projectDir: root, requireStackFile: true, runPolicyPack: false });
    await expect(given).rejects.toBeInstanceOf(StackFileError);
    await expect(given).rejects.toThrow(new RegExp(`^${misspelt.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}: no such stack file$`));
    const dev = path.join(root, "examples/gigi/Pulumi.dve.yaml");
    await expect(planStack({ stack: "dev", stackFile: dev, projectDir: root, requireStackFile: true, runPolicyPack: false })).rejects.toThrow(`${dev}: no such stack file`);
    // Where no file was named, the default path may be missing: the preview plans beside dev's file.
    const plain = await planStack({ stack: "preview-feature-xyz", stackFile: misspelt, projectDir: root, runPolicyPack: false });
    expect(plain.resources.length).toBeGreaterThan(5);
  });

  it("rejects an unknown argument with its usage, exit 1", async () => {
    const result = await misspelled();
    expect(result.status).toBe(1);
    expect(result.stderr).toMatch(/unknown option --jsn; usage: npm run plan -- -s <stack>/);
  });
});
