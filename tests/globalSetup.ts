// Once per `jest` run, before any worker starts: bring the compiled program and tools (dist/, see
// tools/build.js) up to date, so the suites that start the CLIs as processes find them built and
// no two workers build at once; and give the run a directory for its one PostgreSQL template
// cluster (tests/support/pgServer.ts: suites copy it instead of running initdb each, and keep their
// clusters in it; on a tmpfs when there is one, tests/support/tmpRoot.ts), and one for what the
// workers share: plans (tests/support/planStore.js) and the results of processes run once per run
// (tests/support/sharedProcess.ts, in its subdirectory shared-processes). The workers inherit the environment variables;
// tests/globalTeardown.ts removes the directories.
import * as fs from "fs";
import * as path from "path";
import { TEMPLATE_ENV } from "./support/pgServer";
import { testTmpRoot } from "./support/tmpRoot";

export default async function globalSetup(): Promise<void> {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  require("../tools/build.js").ensureBuilt();
  process.env[TEMPLATE_ENV] = fs.mkdtempSync(path.join(testTmpRoot(), "twinstack-pg-template-"));
  process.env.TWINSTACK_PLAN_STORE = fs.mkdtempSync(path.join(testTmpRoot(), "twinstack-plans-"));
}
