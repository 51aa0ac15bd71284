// The app contract: the README table is the one model/appContract.ts renders, and the program
// (planned through the same planStack the plan CLI runs) gives the app exactly those variables.
import * as fs from "fs";
import * as path from "path";
import { APP_CONTRACT, appContractTable } from "../model/appContract";
import { revealSecrets } from "../tests/harness";
import { planStack } from "../tools/planner";

const ROOT = path.join(__dirname, "..");

function appEnv(resources: { type: string; name: string; inputs: Record<string, unknown> }[], nameEnds: string): Record<string, string> {
  const app = resources.find((r) => r.type === "docker:index/container:Container" && r.name.endsWith(nameEnds));
  if (!app) throw new Error(`no container *${nameEnds}`);
  const envs = revealSecrets(app.inputs.envs) as string[];
  return Object.fromEntries(envs.map((e) => [e.slice(0, e.indexOf("=")), e.slice(e.indexOf("=") + 1)]));
}

const contractNames = (env: "prod" | "dev" | "preview") => APP_CONTRACT.filter((v) => v.envs[env] && !v.name.includes("<")).map((v) => v.name);

test("the README's app contract is generated from model/appContract.ts", () => {
  const readme = fs.readFileSync(path.join(ROOT, "README.md"), "utf8");
  const section = /<!-- app-contract:start -->\n([\s\S]*?)\n<!-- app-contract:end -->/.exec(readme)?.[1];
  expect(section).toBe(appContractTable());
});

test("dev: the app gets the contract's variables; SESSION_SECRET and JWT_SECRET are separate secrets", async () => {
  const plan = await planStack({ stack: "dev", projectDir: ROOT, runPolicyPack: false });
  const env = appEnv(plan.resources, "myapp-dev-app");
  // The default Pulumi.dev.yaml: dedicated Redis, one feature flag, LOG_LEVEL in app.env, no version or dataPath.
  const expected = contractNames("dev").filter((n) => !["APP_VERSION", "DATA_DIR"].includes(n));
  expect(Object.keys(env).sort()).toEqual([...expected, "FEATURE_NEW_EDITOR", "LOG_LEVEL"].sort());
  expect(env.APP_ENV).toBe("dev");
  expect(env.PORT).toBe("80");
  expect(env.SESSION_SECRET).toMatch(/^[A-Za-z0-9]{48}$/);
  expect(env.JWT_SECRET).toMatch(/^[A-Za-z0-9]{48}$/);
  expect(env.JWT_SECRET).not.toBe(env.SESSION_SECRET);
  // The env list is a secret as a whole in the declared inputs.
  const app = plan.resources.find((r) => r.name.endsWith("myapp-dev-app") && r.type === "docker:index/container:Container")!;
  expect(JSON.stringify(app.inputs.envs)).not.toContain(env.JWT_SECRET);
});

test("preview: the same contract as far as meaningful (own DB and secrets, dev's Redis under its own prefix, BASE_PATH)", async () => {
  const plan = await planStack({ stack: "preview-feature-x", projectDir: ROOT, runPolicyPack: false });
  const env = appEnv(plan.resources, "preview-app");
  const expected = contractNames("preview").filter((n) => n !== "APP_VERSION");
  expect(Object.keys(env).sort()).toEqual([...expected, "FEATURE_NEW_EDITOR", "LOG_LEVEL"].sort());
  expect(env.APP_ENV).toBe("preview");
  expect(env.BASE_PATH).toBe("/preview/feature-x");
  expect(env.REDIS_PREFIX).toBe("preview-feature-x:");
  expect(env.DATABASE_URL).toMatch(/\/myapp_preview_feature_x\?/);
  expect(env.JWT_SECRET).not.toBe(env.SESSION_SECRET);
});
