// Every command line through its real entry point: the `twinstack` bin (what `npx twinstack` runs)
// and `npm run <script>` for the path resolution npm's working directory makes necessary.
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { ProcessResult, spawnAsync } from "../tools/planCli";

const ROOT = path.join(__dirname, "..");
const BIN = path.join(ROOT, "bin", "twinstack.js");
const COMMANDS = ["plan", "promote", "sample", "bench", "preview-stack-name", "config-reference", "fuzz"];
const GIGI = path.join(ROOT, "examples", "gigi");

/** `npx twinstack …` from `cwd`, without npm in between (npx only finds and execs this file). */
function twinstack(args: string[], cwd = ROOT): Promise<ProcessResult> {
  return once(JSON.stringify(["twinstack", cwd, args]), () => {
    const env = { ...process.env };
    delete env.TWINSTACK_CALLER_DIR;
    return spawnAsync(process.execPath, [BIN, ...args], { cwd, env });
  });
}

/** `cd examples/gigi && npm run plan -- …` */
function npmRunPlan(args: string[]): Promise<ProcessResult> {
  return once(JSON.stringify(["npm", args]), () => {
    const env = { ...process.env };
    delete env.TWINSTACK_CALLER_DIR;
    return spawnAsync("npm", ["run", "plan", "--", ...args], { cwd: GIGI, env });
  });
}

// Each command line below runs once, all of them started together before the tests (beforeAll), a
// few at a time (spawnAsync): the tests then wait for the run they check. The processes are the
// same as one after another; they only no longer wait for each other.
const started = new Map<string, Promise<ProcessResult>>();
function once(key: string, start: () => Promise<ProcessResult>): Promise<ProcessResult> {
  if (!started.has(key)) {
    const run = start();
    run.catch(() => undefined); // awaited (and reported) by the test that checks it
    started.set(key, run);
  }
  return started.get(key)!;
}

const MISUSE: [string[], RegExp][] = [
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
  [["plan", "-s", "prod", "--config", "tests"], new RegExp(`^${path.join(ROOT, "tests")}: is a directory, not a stack file$`)],
  [["plan", "-s", "../x"], /^plan: "\.\.\/x" is not a stack name \(Pulumi stack names may only contain alphanumerics, hyphens, underscores and periods, at most 100\); usage: /],
  [["nope"], /^twinstack: unknown command "nope" .*usage: twinstack <command>/],
  [["help", "nope"], /^twinstack: unknown command "nope" .*usage: twinstack <command>/],
  [[], /^twinstack: missing command; usage: /],
];
const GIGI_PLAN = ["-s", "prod", "--config", "Pulumi.prod.yaml"];
/** A misspelt --config of a preview stack (Pulumi.preview-feature-xyz.yaml exists). */
const MISSPELT_PREVIEW = ["plan", "-s", "preview-feature-xyz", "--config", "Pulumi.preview-feature-xzy.yaml"];

let vaultDir: string;
/** sample --files with a --to inside the source vault (the last test). */
function sampleIntoVault(): Promise<ProcessResult> {
  const config = path.join(ROOT, "examples", "makapix", "sample.yaml");
  // Port 1 on loopback: nothing listens, so a connection attempt would say "cannot connect".
  return twinstack([
    "sample",
    "--files",
    path.join(vaultDir, "vault"),
    "--to",
    path.join(vaultDir, "vault", "dev"),
    "--db",
    "postgres://u:pw@127.0.0.1:1/makapix_dev",
    "--config",
    config,
  ]);
}

beforeAll(() => {
  vaultDir = fs.mkdtempSync(path.join(os.tmpdir(), "twinstack-files-cli-"));
  fs.mkdirSync(path.join(vaultDir, "vault", "dev"), { recursive: true });
  // The two plans first: they take longest.
  npmRunPlan(GIGI_PLAN);
  twinstack(["plan", ...GIGI_PLAN, "--json"], GIGI);
  twinstack(MISSPELT_PREVIEW, GIGI);
  for (const command of COMMANDS) twinstack([command, "--help"]);
  for (const command of COMMANDS) twinstack([command, "--bogus"]);
  for (const [args] of MISUSE) twinstack(args);
  twinstack(["preview-stack-name", "--", "--help"]);
  twinstack(["--version"]);
  twinstack(["help", "plan"]);
  sampleIntoVault();
});
afterAll(async () => {
  await Promise.allSettled(started.values());
  fs.rmSync(vaultDir, { recursive: true, force: true });
});

jest.setTimeout(180_000);

describe("every command: --help, unknown flags, usage on misuse", () => {
  test.each(COMMANDS)("%s --help prints its usage on stdout, exit 0", async (command) => {
    const run = await twinstack([command, "--help"]);
    expect(run.stderr).toBe("");
    expect(run.status).toBe(0);
    expect(run.stdout).toMatch(/^usage: /);
    expect(run.stdout).toMatch(/-h, --help/);
    // The preview-name tool once turned --help into a branch name.
    expect(run.stdout).not.toMatch(/^preview-/m);
  });

  test.each(COMMANDS)("%s --bogus: exit 1, one line naming the flag and the usage", async (command) => {
    const run = await twinstack([command, "--bogus"]);
    expect(run.status).toBe(1);
    expect(run.stdout).toBe("");
    const lines = run.stderr.trim().split("\n");
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(new RegExp(`^${command}: unknown option --bogus; usage: `));
  });

  test("misuse without flags: missing or extra arguments", async () => {
    for (const [args, message] of MISUSE) {
      const run = await twinstack(args);
      expect({ args, status: run.status }).toEqual({ args, status: 1 });
      expect(run.stderr.trim()).toMatch(message);
    }
  });

  test("--version prints package.json's version, exit 0; help <command> is that command's --help", async () => {
    const version = await twinstack(["--version"]);
    expect(version.stderr).toBe("");
    expect(version.status).toBe(0);
    expect(version.stdout).toBe(`${JSON.parse(fs.readFileSync(path.join(ROOT, "package.json"), "utf8")).version}\n`);
    const help = await twinstack(["help", "plan"]);
    expect(help.stderr).toBe("");
    expect(help.status).toBe(0);
    expect(help.stdout).toMatch(/^usage: npm run plan -- -s <stack>/);
    expect(help.stdout).toBe((await twinstack(["plan", "--help"])).stdout);
    // help is in the command list, so help help is the general help.
    const helpHelp = await twinstack(["help", "help"]);
    expect({ stderr: helpHelp.stderr, status: helpHelp.status }).toEqual({ stderr: "", status: 0 });
    expect(helpHelp.stdout).toMatch(/^usage: twinstack <command> .*\ncommands:\n(.*\n)*  help +this list/);
  });

  test("preview-stack-name takes a branch after --, even one that looks like a flag", async () => {
    const run = await twinstack(["preview-stack-name", "--", "--help"]);
    expect(run.status).toBe(0);
    expect(run.stdout).toMatch(/^preview-help-[0-9a-f]{6}\n$/);
  });
});

describe("paths from the caller's directory; JSON alone on stdout", () => {
  test("cd examples/gigi && npm run plan -- -s prod --config Pulumi.prod.yaml plans gigi's file, not the root one", async () => {
    const run = await npmRunPlan(GIGI_PLAN);
    expect(run.status).toBe(0);
    expect(run.stdout).toContain(`Plan of stack "prod" (${path.join(GIGI, "Pulumi.prod.yaml")})`);
    expect(run.stdout).toMatch(/gigi-prod/);
  });

  test("npx twinstack plan --json from a subdirectory: stdout is the plan JSON and nothing else", async () => {
    const run = await twinstack(["plan", ...GIGI_PLAN, "--json"], GIGI);
    expect(run.status).toBe(0);
    const plan = JSON.parse(run.stdout);
    expect(plan.stackFile).toBe(path.join(GIGI, "Pulumi.prod.yaml"));
    expect(plan.resources.length).toBeGreaterThan(10);
  });

  test("a --config that does not exist is an error naming it, for a preview stack as for dev (not a plan of no file)", async () => {
    const run = await twinstack(MISSPELT_PREVIEW, GIGI);
    expect(run.status).toBe(1);
    expect(run.stdout).toBe("");
    expect(run.stderr).toBe(`${path.join(GIGI, "Pulumi.preview-feature-xzy.yaml")}: no such stack file\n`);
  });

  test("package.json declares the bin", () => {
    expect(JSON.parse(fs.readFileSync(path.join(ROOT, "package.json"), "utf8")).bin).toEqual({ twinstack: "bin/twinstack.js" });
  });
});

test("sample --files refuses a --to inside the source vault before it connects to any database", async () => {
  const run = await sampleIntoVault();
  expect(run.status).toBe(1);
  expect(run.stderr).toMatch(/refusing to write into .*is the source vault .* or inside it/);
  expect(run.stderr).not.toMatch(/cannot connect/);
});
