// Issue 14, kind 8: every CLI writes all of its output whatever the reader. A plan JSON larger than
// a pipe's buffer (64 KiB), read by a reader that only starts reading after a pause, arrives whole.
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import YAML from "yaml";

const root = path.join(__dirname, "..");
// As `npm run plan` starts it: node on the compiled script (tools/build.js; built by tests/globalSetup.ts).
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { compiled } = require("../tools/build.js") as { compiled(rel: string): string };

/** Workers of the big stack: few (each is several resources to plan), with long commands for the size. */
const WORKERS = 10;

function bigProdStack(dir: string): string {
  const workers = Array.from({ length: WORKERS }, (_, i) => ({ name: `worker${i}`, command: ["node", `worker${i}.js`, "--queue", `queue-${i}`, "--note", "x".repeat(20000)] }));
  const file = path.join(dir, "Pulumi.prod.yaml");
  fs.writeFileSync(file, YAML.stringify({ config: { "twinstack:env": "prod", "twinstack:app": { name: "big", image: "ghcr.io/example/big:1", workers } } }));
  return file;
}

/**
 * Runs the plan CLI the way `npm run plan -- --json | reader` does: under a Node parent that has
 * used its stdout (libuv makes the pipe non-blocking for the whole file description, which the
 * child inherits), into a shell pipe whose reader starts reading only once the plan has exited
 * (the output is then cut short), or once the pipe has been full for a second with the plan still
 * running (it is waiting to write: a plan that exits without flushing does so within
 * milliseconds of filling the pipe), or at the latest after `pauseMs`.
 */
/**
 * The reader (python3, there with patroni): waits as planThroughSlowReader says, then copies its stdin
 * to stdout. How full the pipe is: FIONREAD (bytes queued) against F_GETPIPE_SZ (its capacity), both
 * from Python's fcntl/termios modules (https://docs.python.org/3/library/fcntl.html).
 */
const SLOW_READER = `
import fcntl, os, struct, sys, termios, time
signal, pause = sys.argv[1], float(sys.argv[2]) / 1000
capacity = fcntl.fcntl(0, fcntl.F_GETPIPE_SZ)
start = time.monotonic()
full_since = None
while time.monotonic() - start < pause:
    if os.path.exists(signal) and os.path.getsize(signal) > 0:
        break
    queued = struct.unpack("i", fcntl.ioctl(0, termios.FIONREAD, bytes(4)))[0]
    # Within a page of the capacity: the writer cannot add a page more.
    if queued >= capacity - 4096:
        full_since = full_since or time.monotonic()
        if time.monotonic() - full_since >= 1:
            break
    else:
        full_since = None
    time.sleep(0.05)
while True:
    chunk = os.read(0, 65536)
    if not chunk:
        break
    sys.stdout.buffer.write(chunk)
sys.stdout.buffer.flush()
`;

function planThroughSlowReader(dir: string, script: string, args: string[], pauseMs: number): { code: number | null; stdout: Buffer; stderr: string } {
  const signal = path.join(dir, "exited");
  const parent = `process.stdout.write("x".slice(1));
    require("child_process").spawn(process.execPath, ${JSON.stringify([compiled(script), ...args])}, { stdio: ["ignore", "inherit", "pipe"] })
      .on("exit", (code) => { require("fs").writeFileSync(${JSON.stringify(signal)}, String(code)); })
      .stderr.pipe(process.stderr);`;
  const shell = `"$NODE" -e "$PARENT" | python3 -c "$READER" "$SIGNAL" ${pauseMs}`;
  const result = spawnSync("sh", ["-c", shell], {
    cwd: root,
    env: { ...process.env, NODE: process.execPath, PARENT: parent, SIGNAL: signal, READER: SLOW_READER },
    maxBuffer: 64 * 1024 * 1024,
  });
  const code = fs.existsSync(signal) ? Number(fs.readFileSync(signal, "utf8")) : null;
  return { code, stdout: result.stdout, stderr: result.stderr.toString() };
}

test("npm run plan -- --json writes a >64 KiB plan whole into a slow pipe", async () => {
  // The stack file and the exit signal, removed again whatever the outcome.
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "twinstack-cli-"));
  let result: ReturnType<typeof planThroughSlowReader>;
  try {
    result = planThroughSlowReader(dir, process.env.TWINSTACK_PLAN_SCRIPT ?? "tools/plan.ts", ["-s", "prod", "--config", bigProdStack(dir), "--json"], 8000);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
  expect(fs.existsSync(dir)).toBe(false);
  expect(result.stderr).toBe("");
  expect(result.code).toBe(0);
  expect(result.stdout.length).toBeGreaterThan(200 * 1024);
  const json = JSON.parse(result.stdout.toString("utf8"));
  expect(json.resources.filter((r: { name: string }) => r.name.startsWith("big-prod-worker-"))).toHaveLength(WORKERS);
}, 120_000);
