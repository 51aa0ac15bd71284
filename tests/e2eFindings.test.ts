// Program bugs the e2e scenarios (npm run e2e, tests/e2e/stack.e2e.test.ts) found on a real Docker
// engine, each kept fixed here on the offline plan of the e2e stack file.
import * as path from "path";
import { planStack } from "../tools/planner";
import { one } from "./harness";

const STACKS = path.join(__dirname, "e2e", "stacks");

test("the backup container waits for the database: its first dump, taken at start, no longer fails and leaves a whole interval without a backup", async () => {
  const plan = await planStack({ stack: "dev", stackFile: path.join(STACKS, "Pulumi.dev.yaml"), runPolicyPack: false });
  const backup = one(plan.resources, "docker:index/container:Container", "backup-backup");
  const postgres = one(plan.resources, "docker:index/container:Container", "db-postgres");
  expect(postgres.props.wait).toBe(true);
  expect(backup.dependencies).toContain(postgres.urn);
});

test("a preview app gets dev's Redis under a prefix of its own, and its URL carries the dev proxy's HTTPS port", async () => {
  const plan = await planStack({ stack: "preview-e2e-check", stackFile: path.join(STACKS, "Pulumi.preview-e2e-check.yaml"), runPolicyPack: false });
  const app = one(plan.resources, "docker:index/container:Container", "preview-app");
  const envs = app.props.envs as string[];
  expect(envs).toContain("REDIS_URL=redis://redis:6379");
  // The app contract gives each preview its own prefix (model/appContract.ts).
  expect(envs).toContain("REDIS_PREFIX=preview-e2e-check:");
  expect(envs.filter((e) => e.startsWith("REDIS_PREFIX="))).toHaveLength(1);
  expect(plan.outputs.previewUrl).toBe("https://dev.myapp.localhost:8443/preview/e2e-check/");
});
