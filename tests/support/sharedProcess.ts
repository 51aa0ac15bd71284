// A process that several suites start with the same command line, working directory and
// environment, on inputs no test changes (the repository's own stack files), runs once per jest
// run: the first suite to ask runs it and leaves its result (exit code, stdout, stderr) in the run's
// directory; a suite asking later, in any worker, reads that result, and one asking while it runs
// waits for it. Each test still asserts on the result as before; it is the same process's output.
// The results live in the directory globalSetup makes for what the run's workers share
// (TWINSTACK_PLAN_STORE, tests/globalSetup.ts; its globalTeardown removes it), beside the shared
// plans; without it (jest started otherwise) every call runs its own process.
import { createHash } from "crypto";
import * as fs from "fs";
import * as path from "path";
import { ProcessResult, spawnAsync } from "../../tools/planCli";

// eslint-disable-next-line @typescript-eslint/no-require-imports
const { ensureBuilt, compiled, ROOT } = require("../../tools/build.js") as { ensureBuilt(): string; compiled(rel: string): string; ROOT: string };

/** Runs this suite asked for (jest gives each test file its own modules, so this map is per suite). */
const inThisSuite = new Map<string, Promise<ProcessResult>>();

/** How often a suite waiting for another worker's run looks for its result (ms). */
const POLL_MS = 100;

function sharedDir(): string | undefined {
  const runDir = process.env.TWINSTACK_PLAN_STORE;
  if (!runDir || !fs.existsSync(runDir)) return undefined;
  const dir = path.join(runDir, "shared-processes");
  fs.mkdirSync(dir, { recursive: true });
  return dir;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

/**
 * `command args` in `cwd` with the worker's environment, run once per jest run (see above). Only
 * for processes whose inputs are the same for every suite: the key is the command line and the
 * working directory (the environment is the run's, the same in every worker but for JEST_WORKER_ID).
 */
export function sharedProcess(command: string, args: string[], cwd: string): Promise<ProcessResult> {
  const key = createHash("sha256")
    .update(JSON.stringify([command, args, cwd]))
    .digest("hex");
  let run = inThisSuite.get(key);
  if (!run) {
    run = runOnce(key, () => spawnAsync(command, args, { cwd }));
    run.catch(() => undefined); // reported by the test that awaits it
    inThisSuite.set(key, run);
  }
  return run;
}

async function runOnce(key: string, start: () => Promise<ProcessResult>): Promise<ProcessResult> {
  const dir = sharedDir();
  if (!dir) return start();
  const result = path.join(dir, `${key}.json`);
  const lock = path.join(dir, `${key}.lock`);
  let claimed = false;
  try {
    fs.writeFileSync(lock, String(process.pid), { flag: "wx" });
    claimed = true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
  }
  if (claimed) {
    const done = await start();
    // Written whole, then renamed: a reader never sees part of it.
    fs.writeFileSync(`${result}.${process.pid}`, JSON.stringify(done));
    fs.renameSync(`${result}.${process.pid}`, result);
    return done;
  }
  // Another worker runs it: wait for its result; should that worker be gone without one, run it here.
  for (;;) {
    if (fs.existsSync(result)) return JSON.parse(fs.readFileSync(result, "utf8")) as ProcessResult;
    const owner = Number(fs.readFileSync(lock, "utf8"));
    if (owner && !alive(owner) && !fs.existsSync(result)) return start();
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
}

/** `npm run plan -- <args>` (as tools/planCli.ts runPlanCliAsync starts it), run once per jest run. */
export function sharedPlanCli(args: string[]): Promise<ProcessResult> {
  ensureBuilt();
  return sharedProcess(process.execPath, [compiled("tools/plan.ts"), ...args], ROOT);
}
