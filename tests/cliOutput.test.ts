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

function bigProdStack(dir: string): string {
  const workers = Array.from({ length: 60 }, (_, i) => ({ name: `worker${i}`, command: ["node", `worker${i}.js`, "--queue", `queue-${i}`, "--note", "x".repeat(3000)] }));
  const file = path.join(dir, "Pulumi.prod.yaml");
  fs.writeFileSync(file, YAML.stringify({ config: { "twinstack:env": "prod", "twinstack:app": { name: "big", image: "ghcr.io/example/big:1", workers } } }));
  return file;
}

/**
 * Runs the plan CLI the way `npm run plan -- --json | reader` does: under a Node parent that has
 * used its stdout (libuv makes the pipe non-blocking for the whole file description, which the
 * child inherits), into a shell pipe whose reader starts reading only once the plan has exited
 * (the output is then cut short) or after `pauseMs` (the plan is still waiting to write).
 */
function planThroughSlowReader(dir: string, script: string, args: string[], pauseMs: number): { code: number | null; stdout: Buffer; stderr: string } {
  const signal = path.join(dir, "exited");
  const parent = `process.stdout.write("x".slice(1));
    require("child_process").spawn(process.execPath, ${JSON.stringify([compiled(script), ...args])}, { stdio: ["ignore", "inherit", "pipe"] })
      .on("exit", (code) => { require("fs").writeFileSync(${JSON.stringify(signal)}, String(code)); })
      .stderr.pipe(process.stderr);`;
  const polls = Math.ceil(pauseMs / 100);
  const shell = `"$NODE" -e "$PARENT" | { i=0; while [ ! -s "$SIGNAL" ] && [ $i -lt ${polls} ]; do sleep 0.1; i=$((i+1)); done; cat; }`;
  const result = spawnSync("sh", ["-c", shell], { cwd: root, env: { ...process.env, NODE: process.execPath, PARENT: parent, SIGNAL: signal }, maxBuffer: 64 * 1024 * 1024 });
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
  expect(json.resources.filter((r: { name: string }) => r.name.startsWith("big-prod-worker-"))).toHaveLength(60);
}, 120_000);
