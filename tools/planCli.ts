// Runs `npm run plan`'s script in a child process, as a user would (exit code, stdout, stderr):
// node on the compiled dist/tools/plan.js (tools/build.js brings dist/ up to date first).
import { SpawnSyncReturns, spawnSync } from "child_process";
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { ensureBuilt, compiled, ROOT } = require("./build.js") as { ensureBuilt(): string; compiled(rel: string): string; ROOT: string };

export function runPlanCli(args: string[], env: NodeJS.ProcessEnv = process.env): SpawnSyncReturns<string> {
  ensureBuilt();
  return spawnSync(process.execPath, [compiled("tools/plan.ts"), ...args], {
    cwd: ROOT,
    encoding: "utf8",
    env,
    maxBuffer: 64 * 1024 * 1024,
  });
}
