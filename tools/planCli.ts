// Runs `npm run plan`'s script in a child process, as a user would (exit code, stdout, stderr):
// node on the compiled dist/tools/plan.js (tools/build.js brings dist/ up to date first).
import { SpawnSyncReturns, spawn, spawnSync } from "child_process";
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

/** What a finished process left: its exit code (null when a signal ended it), stdout and stderr. */
export interface ProcessResult {
  status: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Starts `command` without blocking the caller, so a test can have several processes run at once
 * (they mostly wait on their own start-up and I/O); resolves once the process exited and both of
 * its streams ended. Rejects only when it cannot be started.
 */
export function spawnAsync(command: string, args: string[], options: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): Promise<ProcessResult> {
  return atMost(MAX_AT_ONCE, () => spawnOne(command, args, options));
}

/** Processes spawnAsync runs at once in one test process; later ones wait for a slot (2 cores here). */
const MAX_AT_ONCE = 4;
let running = 0;
const waiting: (() => void)[] = [];
async function atMost<T>(max: number, start: () => Promise<T>): Promise<T> {
  // A finishing process hands its slot straight to the next waiter, so `running` never exceeds max.
  if (running >= max) await new Promise<void>((resolve) => waiting.push(resolve));
  else running++;
  try {
    return await start();
  } finally {
    const next = waiting.shift();
    if (next) next();
    else running--;
  }
}

function spawnOne(command: string, args: string[], options: { cwd?: string; env?: NodeJS.ProcessEnv }): Promise<ProcessResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: options.cwd ?? ROOT, env: options.env ?? process.env, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (d: string) => (stdout += d));
    child.stderr.setEncoding("utf8").on("data", (d: string) => (stderr += d));
    child.on("error", reject);
    // "close", not "exit": both pipes have been read to their end.
    child.on("close", (status) => resolve({ status, stdout, stderr }));
  });
}

/** runPlanCli without blocking: the same process, started at once. */
export function runPlanCliAsync(args: string[], env: NodeJS.ProcessEnv = process.env): Promise<ProcessResult> {
  ensureBuilt();
  return spawnAsync(process.execPath, [compiled("tools/plan.ts"), ...args], { env });
}
