// Every command line through its real entry point: the `twinstack` bin (what `npx twinstack` runs)
// and `npm run <script>` for the path resolution npm's working directory makes necessary.
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";

const ROOT = path.join(__dirname, "..");
const BIN = path.join(ROOT, "bin", "twinstack.js");
const COMMANDS = ["plan", "promote", "sample", "bench", "preview-stack-name", "config-reference", "fuzz"];

/** `npx twinstack …` from `cwd`, without npm in between (npx only finds and execs this file). */
function twinstack(args: string[], cwd = ROOT) {
  const env = { ...process.env };
  delete env.TWINSTACK_CALLER_DIR;
  return spawnSync(process.execPath, [BIN, ...args], { cwd, encoding: "utf8", env, maxBuffer: 64 * 1024 * 1024 });
}

jest.setTimeout(180_000);

describe("every command: --help, unknown flags, usage on misuse", () => {
  test.each(COMMANDS)("%s --help prints its usage on stdout, exit 0", (command) => {
    const run = twinstack([command, "--help"]);
    expect(run.stderr).toBe("");
    expect(run.status).toBe(0);
    expect(run.stdout).toMatch(/^usage: /);
    expect(run.stdout).toMatch(/-h, --help/);
    // The preview-name tool once turned --help into a branch name.
    expect(run.stdout).not.toMatch(/^preview-/m);
  });

  test.each(COMMANDS)("%s --bogus: exit 1, one line naming the flag and the usage", (command) => {
    const run = twinstack([command, "--bogus"]);
    expect(run.status).toBe(1);
    expect(run.stdout).toBe("");
    const lines = run.stderr.trim().split("\n");
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(new RegExp(`^${command}: unknown option --bogus; usage: `));
  });

  test("misuse without flags: missing or extra arguments", () => {
    for (const [args, message] of [
      [["plan"], /^plan: missing -s <stack>; usage: /],
      [["plan", "-s", "dev", "extra"], /^plan: unexpected argument extra; usage: /],
      [["plan", "-s"], /^plan: option -s needs a value; usage: /],
      [["promote"], /^promote: expected one <version>, got none; usage: /],
      [["preview-stack-name"], /^preview-stack-name: expected one non-empty branch name, got 0; usage: /],
      [["preview-stack-name", "a", "b"], /^preview-stack-name: expected one non-empty branch name, got 2; usage: /],
      [["bench", "--runs", "0"], /^bench: --runs must be a whole number >= 1, got 0; usage: /],
      [["fuzz", "--count", "0"], /^fuzz: --count must be a whole number >= 1, got 0; usage: /],
      [["fuzz", "--seed", "x"], /^fuzz: --seed must be a whole number >= 0, got x; usage: /],
      [["fuzz", "extra"], /^fuzz: unexpected argument extra; usage: /],
      [["nope"], /^twinstack: unknown command "nope" .*usage: twinstack <command>/],
      [[], /^twinstack: missing command; usage: /],
    ] as [string[], RegExp][]) {
      const run = twinstack(args);
      expect({ args, status: run.status }).toEqual({ args, status: 1 });
      expect(run.stderr.trim()).toMatch(message);
    }
  });

  test("preview-stack-name takes a branch after --, even one that looks like a flag", () => {
    const run = twinstack(["preview-stack-name", "--", "--help"]);
    expect(run.status).toBe(0);
    expect(run.stdout).toMatch(/^preview-help-[0-9a-f]{6}\n$/);
  });
});

describe("paths from the caller's directory; JSON alone on stdout", () => {
  test("cd examples/gigi && npm run plan -- -s prod --config Pulumi.prod.yaml plans gigi's file, not the root one", () => {
    const env = { ...process.env };
    delete env.TWINSTACK_CALLER_DIR;
    const run = spawnSync("npm", ["run", "plan", "--", "-s", "prod", "--config", "Pulumi.prod.yaml"], {
      cwd: path.join(ROOT, "examples", "gigi"),
      encoding: "utf8",
      env,
    });
    expect(run.status).toBe(0);
    expect(run.stdout).toContain(`Plan of stack "prod" (${path.join(ROOT, "examples", "gigi", "Pulumi.prod.yaml")})`);
    expect(run.stdout).toMatch(/gigi-prod/);
  });

  test("npx twinstack plan --json from a subdirectory: stdout is the plan JSON and nothing else", () => {
    const run = twinstack(["plan", "-s", "prod", "--config", "Pulumi.prod.yaml", "--json"], path.join(ROOT, "examples", "gigi"));
    expect(run.status).toBe(0);
    const plan = JSON.parse(run.stdout);
    expect(plan.stackFile).toBe(path.join(ROOT, "examples", "gigi", "Pulumi.prod.yaml"));
    expect(plan.resources.length).toBeGreaterThan(10);
  });

  test("package.json declares the bin", () => {
    expect(JSON.parse(fs.readFileSync(path.join(ROOT, "package.json"), "utf8")).bin).toEqual({ twinstack: "bin/twinstack.js" });
  });
});

test("sample --files refuses a --to inside the source vault before it connects to any database", () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "twinstack-files-cli-"));
  try {
    fs.mkdirSync(path.join(dir, "vault", "dev"), { recursive: true });
    const config = path.join(ROOT, "examples", "makapix", "sample.yaml");
    // Port 1 on loopback: nothing listens, so a connection attempt would say "cannot connect".
    const run = twinstack([
      "sample",
      "--files",
      path.join(dir, "vault"),
      "--to",
      path.join(dir, "vault", "dev"),
      "--db",
      "postgres://u:pw@127.0.0.1:1/makapix_dev",
      "--config",
      config,
    ]);
    expect(run.status).toBe(1);
    expect(run.stderr).toMatch(/refusing to write into .*is the source vault .* or inside it/);
    expect(run.stderr).not.toMatch(/cannot connect/);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
