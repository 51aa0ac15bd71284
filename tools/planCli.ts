// Runs `npm run plan`'s script in a child process, as a user would (exit code, stdout, stderr).
import { SpawnSyncReturns, spawnSync } from "child_process";
import * as path from "path";

const root = path.join(__dirname, "..");

export function runPlanCli(args: string[], env: NodeJS.ProcessEnv = process.env): SpawnSyncReturns<string> {
  return spawnSync(process.execPath, [require.resolve("ts-node/dist/bin"), "--swc", path.join(root, "tools/plan.ts"), ...args], {
    cwd: root,
    encoding: "utf8",
    env,
    maxBuffer: 64 * 1024 * 1024,
  });
}
