import { execFileSync, spawnSync, SpawnSyncReturns } from "child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "fs";
import { tmpdir } from "os";
import { join } from "path";
import { isMap, parse, parseDocument } from "yaml";
import { previewStackName } from "../model/slug";
import { shellcheckTexts } from "./consumers/shellcheck";

const ROOT = join(__dirname, "..");
const WORKFLOW_DIR = join(ROOT, ".forgejo", "workflows");
const PREVIEW_TOOL = "tools/preview-stack-name.ts";
// How the workflows start it: package.json's script (the build, then the compiled tool in dist/),
// npm's banner silenced; the second `--` ends the tool's options (a branch may start with "-").
const PREVIEW_COMMAND = 'npm run --silent preview-stack-name -- -- "$BRANCH"';
const PULUMI_SUBCOMMANDS = new Set(["preview", "up", "destroy", "stack", "login", "config"]);
// Subcommands (and `stack` sub-subcommands) that act on one stack: they must name it, never rely on the selected one.
const STACK_SCOPED = new Set(["preview", "up", "destroy", "config", "stack select", "stack init", "stack output", "stack rm"]);

interface Step {
  id?: string;
  name?: string;
  uses?: string;
  run?: string;
  env?: Record<string, unknown>;
  with?: Record<string, unknown>;
  if?: string;
}
interface Job {
  env?: Record<string, unknown>;
  steps: Step[];
  needs?: string | string[];
}
interface Workflow {
  on: Record<string, { types?: string[]; branches?: string[]; tags?: string[] } | null>;
  env?: Record<string, unknown>;
  jobs: Record<string, Job>;
}

const files = readdirSync(WORKFLOW_DIR)
  .filter((f) => /\.ya?ml$/.test(f))
  .sort();
const workflows = new Map<string, Workflow>(files.map((f) => [f, parse(readFileSync(join(WORKFLOW_DIR, f), "utf8")) as Workflow]));

function wf(file: string): Workflow {
  const w = workflows.get(file);
  if (!w) throw new Error(`missing workflow ${file}`);
  return w;
}

function allSteps(w: Workflow): Array<{ job: string; step: Step; steps: Step[] }> {
  return Object.entries(w.jobs).flatMap(([job, j]) => j.steps.map((step) => ({ job, step, steps: j.steps })));
}

/** Shell command segments of a script: continuation lines joined, split on ; && || | and $( ). */
function commandSegments(script: string): string[] {
  return script
    .replace(/\\\n/g, " ")
    .split("\n")
    .flatMap((line) => line.split(/;|&&|\|\||\||\$\(|\)/))
    .map((s) => s.trim())
    .filter(Boolean);
}

/** Words of a simple command: quotes removed, ${{ }} expressions kept whole. */
function words(segment: string): string[] {
  const out: string[] = [];
  const re = /"((?:\$\{\{[^}]*\}\}|[^"])*)"|'([^']*)'|((?:\$\{\{[^}]*\}\}|[^\s"'])+)/g;
  for (let m = re.exec(segment); m; m = re.exec(segment)) out.push(m[1] ?? m[2] ?? m[3]);
  return out;
}

interface PulumiCommand {
  file: string;
  job: string;
  step: Step;
  steps: Step[];
  sub: string;
  args: string[];
}

function pulumiCommands(): PulumiCommand[] {
  const found: PulumiCommand[] = [];
  for (const [file, w] of workflows) {
    for (const { job, step, steps } of allSteps(w)) {
      for (const segment of commandSegments(step.run ?? "")) {
        const ws = words(segment);
        const at = ws.indexOf("pulumi");
        if (at < 0) continue;
        const [sub, ...args] = ws.slice(at + 1);
        found.push({ file, job, step, steps, sub, args });
      }
    }
  }
  return found;
}

/** Stack names a pulumi command names: -s/--stack values, and the positional of `stack select|init|rm`. */
function namedStacks(cmd: PulumiCommand): string[] {
  const names: string[] = [];
  const args = cmd.args;
  for (let i = 0; i < args.length; i++) {
    if (args[i] === "-s" || args[i] === "--stack") names.push(args[++i]);
    else if (args[i].startsWith("--stack=")) names.push(args[i].slice("--stack=".length));
  }
  if (cmd.sub === "stack" && ["select", "init", "rm"].includes(args[0])) {
    const positional = args.slice(1).filter((a, i, all) => !a.startsWith("-") && !["-s", "--stack"].includes(all[i - 1]));
    names.push(...positional);
  }
  return names;
}

function stackFiles(): string[] {
  return readdirSync(ROOT)
    .map((f) => /^Pulumi\.(.+)\.yaml$/.exec(f)?.[1])
    .filter((s): s is string => s !== undefined);
}

/** prod and dev; once stack files exist in the repo root, only those that have one. */
function staticStacks(): Set<string> {
  const present = stackFiles();
  return new Set(["prod", "dev"].filter((s) => present.length === 0 || present.includes(s)));
}

/** A stack given as ${{ steps.<id>.outputs.<o> }} is fine when step <id> of the same job computes it with the preview tool. */
function isComputedPreviewStack(name: string, steps: Step[]): boolean {
  const m = /^\$\{\{\s*steps\.([\w-]+)\.outputs\.([\w-]+)\s*\}\}$/.exec(name);
  if (!m) return false;
  const producer = steps.find((s) => s.id === m[1]);
  return producer !== undefined && (producer.run ?? "").includes(PREVIEW_COMMAND) && new RegExp(`${m[2]}=.*>>\\s*"\\$GITHUB_OUTPUT"`).test(producer.run ?? "");
}

describe("workflow files", () => {
  test("the four workflows exist and parse as YAML", () => {
    expect(files).toEqual(["deploy-dev.yml", "deploy-prod.yml", "pr-closed.yml", "pr.yml"]);
    for (const f of files) {
      const doc = parseDocument(readFileSync(join(WORKFLOW_DIR, f), "utf8"));
      expect(doc.errors).toEqual([]);
      expect(doc.warnings).toEqual([]);
      const w = wf(f);
      expect(typeof w.on).toBe("object");
      expect(Object.keys(w.jobs).length).toBeGreaterThan(0);
      for (const job of Object.values(w.jobs)) expect(Array.isArray(job.steps)).toBe(true);
    }
  });

  test("triggers", () => {
    expect(wf("pr.yml").on).toEqual({ pull_request: { types: ["opened", "synchronize", "reopened"] } });
    expect(wf("pr-closed.yml").on).toEqual({ pull_request: { types: ["closed"] } });
    expect(wf("deploy-dev.yml").on).toEqual({ push: { branches: ["main"] } });
    expect(wf("deploy-prod.yml").on).toEqual({ push: { tags: ["v*"] } });
  });

  test("`on` is a string key (YAML 1.1 parsers would read it as true; the forge reads it as `on`)", () => {
    for (const f of files) {
      const doc = parseDocument(readFileSync(join(WORKFLOW_DIR, f), "utf8"));
      expect(isMap(doc.contents)).toBe(true);
      expect(doc.has("on")).toBe(true);
    }
  });

  test("every job that runs the policy pack installs it first from its own lockfile (npm ci --prefix policy)", () => {
    expect(readdirSync(join(__dirname, "..", "policy"))).toContain("package-lock.json");
    let jobsWithPack = 0;
    for (const f of files) {
      for (const job of Object.values(wf(f).jobs)) {
        const runs = job.steps.map((s) => s.run ?? "");
        const usesPack = runs.findIndex((r) => /--policy-pack policy|--prefix policy$/m.test(r) && !/^npm ci --prefix policy$/.test(r.trim()));
        if (usesPack < 0) continue;
        jobsWithPack++;
        const install = runs.findIndex((r) => r.trim() === "npm ci --prefix policy");
        expect({ file: f, install: install >= 0 && install < usesPack }).toEqual({ file: f, install: true });
      }
    }
    expect(jobsWithPack).toBeGreaterThanOrEqual(4);
  });

  test("the commands each workflow is for", () => {
    const runs = (f: string) =>
      allSteps(wf(f))
        .map(({ step }) => step.run ?? "")
        .join("\n");
    expect(runs("pr.yml")).toMatch(/^npm ci$/m);
    expect(runs("pr.yml")).toMatch(/^npm test$/m);
    expect(runs("pr.yml")).toMatch(/^npm ci --prefix policy$/m);
    expect(runs("pr.yml")).toMatch(/^npm test --prefix policy$/m);
    expect(runs("pr.yml")).toMatch(/pulumi preview -s prod --policy-pack policy/);
    expect(runs("pr.yml")).toMatch(/pulumi stack select --create -s /);
    expect(runs("pr.yml")).toMatch(/pulumi up -s "\$\{\{ steps\.stack\.outputs\.name \}\}" --yes/);
    expect(runs("pr.yml")).toMatch(/pulumi stack output previewUrl -s /);
    expect(runs("pr.yml")).toMatch(/curl .*\$api\/issues\/\$PR_NUMBER\/comments/);
    expect(runs("pr-closed.yml")).toMatch(/pulumi destroy -s "\$\{\{ steps\.stack\.outputs\.name \}\}" --yes --remove/);
    expect(runs("deploy-dev.yml")).toMatch(/pulumi up -s dev --yes/);
    expect(runs("deploy-prod.yml")).toMatch(/pulumi up -s prod --yes --policy-pack policy/);

    const uses = (f: string) =>
      allSteps(wf(f))
        .map(({ step }) => step.uses)
        .filter(Boolean);
    for (const f of files) {
      expect(uses(f)).toContain("actions/checkout@v4");
      const node = allSteps(wf(f)).find(({ step }) => step.uses === "actions/setup-node@v4");
      expect(node?.step.with?.["node-version"]).toBe(22);
    }
  });

  test("the PR comment is only posted after the preview is up", () => {
    const steps = wf("pr.yml").jobs["preview-env"].steps;
    const upAt = steps.findIndex((s) => /pulumi up /.test(s.run ?? ""));
    const commentAt = steps.findIndex((s) => /curl .*\/issues\//.test(s.run ?? ""));
    expect(upAt).toBeGreaterThan(0);
    expect(commentAt).toBeGreaterThan(upAt);
    expect(steps[commentAt].env?.FORGE_TOKEN).toBe("${{ secrets.FORGE_TOKEN }}");
  });
});

describe("pulumi commands", () => {
  const commands = pulumiCommands();

  test("there are pulumi commands to check", () => {
    expect(commands.length).toBeGreaterThanOrEqual(8);
  });

  test("only preview|up|destroy|stack|login|config", () => {
    for (const c of commands) expect({ where: c.file, sub: c.sub, ok: PULUMI_SUBCOMMANDS.has(c.sub) }).toMatchObject({ ok: true });
  });

  test("every stack-scoped command names its stack, and only prod, dev or a computed preview-<slug>", () => {
    const allowed = staticStacks();
    for (const c of commands) {
      const kind = c.sub === "stack" ? `stack ${c.args[0]}` : c.sub;
      const names = namedStacks(c);
      if (STACK_SCOPED.has(kind)) expect({ where: `${c.file}: pulumi ${kind}`, names: names.length }).toEqual({ where: `${c.file}: pulumi ${kind}`, names: 1 });
      for (const name of names) {
        const ok = allowed.has(name) || isComputedPreviewStack(name, c.steps);
        expect({ where: `${c.file}: pulumi ${c.sub} ${c.args.join(" ")}`, name, ok }).toMatchObject({ ok: true });
      }
    }
  });

  test("prod and dev appear where expected; previews never in the deploy workflows", () => {
    const stacksIn = (f: string) => new Set(commands.filter((c) => c.file === f).flatMap(namedStacks));
    expect([...stacksIn("deploy-prod.yml")]).toEqual(["prod"]);
    expect([...stacksIn("deploy-dev.yml")]).toEqual(["dev"]);
    expect(stacksIn("pr.yml").has("prod")).toBe(true);
    expect(stacksIn("pr.yml").has("dev")).toBe(false);
  });

  test("prod is only ever previewed from a PR, and always under the policy pack", () => {
    for (const c of commands.filter((c) => namedStacks(c).includes("prod"))) {
      if (c.file === "pr.yml") expect(c.sub).toBe("preview");
      expect(c.args).toEqual(expect.arrayContaining(["--policy-pack", "policy"]));
    }
  });

  test("up and destroy are non-interactive; destroy removes the stack", () => {
    for (const c of commands.filter((c) => c.sub === "up" || c.sub === "destroy")) expect(c.args).toContain("--yes");
    const destroys = commands.filter((c) => c.sub === "destroy");
    expect(destroys.length).toBeGreaterThan(0);
    for (const c of destroys) expect(c.args).toContain("--remove");
  });

  test("every job running pulumi installs the CLI and logs in first, with the backend and passphrase from secrets", () => {
    for (const [file, w] of workflows) {
      for (const [job, j] of Object.entries(w.jobs)) {
        const runs = j.steps.map((s) => s.run ?? "");
        const firstPulumi = runs.findIndex((r) => commandSegments(r).some((s) => words(s)[0] === "pulumi"));
        if (firstPulumi < 0) continue;
        const install = runs.findIndex((r) => /get\.pulumi\.com/.test(r));
        const login = runs.findIndex((r) => /^pulumi login$/m.test(r));
        expect({ file, job, install: install >= 0 && install < login, login: login === firstPulumi }).toEqual({
          file,
          job,
          install: true,
          login: true,
        });
        const env = { ...(w.env ?? {}), ...(j.env ?? {}) };
        expect(env.PULUMI_BACKEND_URL).toBe("${{ secrets.PULUMI_BACKEND_URL }}");
        expect(env.PULUMI_CONFIG_PASSPHRASE).toBe("${{ secrets.PULUMI_CONFIG_PASSPHRASE }}");
      }
    }
  });
});

describe("preview stack names", () => {
  test(`${PREVIEW_TOOL} prints previewStackName(branch)`, () => {
    // The compiled tool (dist/, built by jest's globalSetup): the same code without a build per branch.
    const compiledTool = require("../tools/build.js").compiled(PREVIEW_TOOL);
    for (const branch of ["main", "feature/Ünïcode", "123-fix", "a'b\"c$(x)"]) {
      const out = execFileSync(process.execPath, [compiledTool, branch], {
        cwd: ROOT,
        encoding: "utf8",
      });
      expect(out).toBe(`${previewStackName(branch)}\n`);
    }
  });

  // Each workflow step that names the preview stack, run as the runner runs it (bash -e, the branch in
  // env, GITHUB_OUTPUT a file): package.json's script, never ts-node.
  const producers = [...workflows].flatMap(([file, w]) =>
    allSteps(w)
      .filter(({ step }) => (step.run ?? "").includes("preview-stack-name"))
      .map(({ step }) => [file, step.run ?? ""] as const),
  );

  test("the workflows start the preview tool through package.json's script, never ts-node", () => {
    expect(producers.map(([file]) => file).sort()).toEqual(["pr-closed.yml", "pr.yml"]);
    for (const [, run] of producers) {
      expect(run).toContain(PREVIEW_COMMAND);
      expect(run).not.toMatch(/ts-node/);
    }
    expect(JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")).scripts["preview-stack-name"]).toBe("node tools/build.js && node dist/tools/preview-stack-name.js");
  });

  // A step's script, run as the runner runs it: what it wrote to GITHUB_OUTPUT for a branch, and its
  // run on an empty branch. Workflows whose steps hold the very same script share its runs (the same
  // processes with the same input; each test asserts on them).
  const stepRuns = new Map<string, { r: SpawnSyncReturns<string>; output: string; refused: SpawnSyncReturns<string> }>();
  const branch = "--help'b\"c$(x)";
  function runStep(run: string) {
    if (!stepRuns.has(run)) {
      const dir = mkdtempSync(join(tmpdir(), "twinstack-workflow-"));
      try {
        const output = join(dir, "output");
        const step = (branch: string) => spawnSync("bash", ["-e", "-c", run], { cwd: ROOT, encoding: "utf8", env: { ...process.env, BRANCH: branch, GITHUB_OUTPUT: output } });
        const r = step(branch);
        const written = r.status === 0 ? readFileSync(output, "utf8") : "";
        stepRuns.set(run, { r, output: written, refused: step("") });
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    }
    return stepRuns.get(run)!;
  }

  test.each(producers)("%s: the step writes name=previewStackName(branch), and fails on an empty branch", (_file, run) => {
    const { r, output, refused } = runStep(run);
    expect({ status: r.status, stderr: r.stderr }).toEqual({ status: 0, stderr: "" });
    expect(output).toBe(`name=${previewStackName(branch)}\n`);
    expect(refused.status).not.toBe(0);
    expect(refused.stderr).toMatch(/usage/);
  });

  test("the branch reaches the preview tool through env, never inlined into a script", () => {
    for (const [file, w] of workflows) {
      for (const { step } of allSteps(w)) {
        const run = step.run ?? "";
        // Attacker-chosen PR text inlined into a script is shell injection.
        expect({ file, inlined: /\$\{\{\s*github\.(head_ref|event\.pull_request\.(head|title|body))/.test(run) }).toEqual({
          file,
          inlined: false,
        });
        if (run.includes(PREVIEW_TOOL)) expect(step.env?.BRANCH).toBe("${{ github.head_ref }}");
      }
    }
  });
});

describe("npm scripts and secrets", () => {
  test("every `npm run X` names a script in package.json", () => {
    const scripts = Object.keys(JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")).scripts ?? {});
    for (const [file, w] of workflows) {
      for (const { step } of allSteps(w)) {
        for (const segment of commandSegments(step.run ?? "")) {
          const [cmd, sub, ...rest] = words(segment);
          if (cmd !== "npm") continue;
          // npm's own options (e.g. --silent) may stand before the script's name.
          const script = rest.find((w) => !w.startsWith("-"));
          expect(["ci", "test", "run"]).toContain(sub);
          if (sub === "run") expect({ file, script, known: script !== undefined && scripts.includes(script) }).toMatchObject({ known: true });
        }
      }
    }
  });

  const SECRETISH = /(PASSPHRASE|TOKEN|SECRET|PASSWORD|KEY|BACKEND_URL|KNOWN_HOSTS)/;

  test("secret-like env values are ${{ secrets.X }} and nothing else", () => {
    for (const [file, w] of workflows) {
      const envs: Array<Record<string, unknown> | undefined> = [w.env];
      for (const j of Object.values(w.jobs)) {
        envs.push(j.env);
        for (const s of j.steps) envs.push(s.env, s.with);
      }
      for (const env of envs) {
        for (const [key, value] of Object.entries(env ?? {})) {
          if (!SECRETISH.test(key)) continue;
          expect({ file, key, value }).toEqual({ file, key, value: expect.stringMatching(/^\$\{\{ secrets\.[A-Z0-9_]+ \}\}$/) });
        }
      }
    }
  });

  test("no secret is set or echoed in a script", () => {
    for (const [file, w] of workflows) {
      for (const { step } of allSteps(w)) {
        const run = step.run ?? "";
        expect({ file, run }).toEqual({ file, run: expect.not.stringMatching(/\b(PULUMI_CONFIG_PASSPHRASE|PULUMI_ACCESS_TOKEN|[A-Z_]*TOKEN)\s*=/) });
        expect({ file, run }).toEqual({ file, run: expect.not.stringMatching(/\$\{\{\s*secrets\./) });
        expect({ file, run }).toEqual({ file, run: expect.not.stringMatching(/echo\s+"?\$(PULUMI_CONFIG_PASSPHRASE|FORGE_TOKEN|DOCKER_SSH_KEY)/) });
      }
    }
    // Nothing that looks like a literal key or passphrase anywhere in the files.
    for (const f of files) {
      const text = readFileSync(join(WORKFLOW_DIR, f), "utf8");
      expect(text).not.toMatch(/BEGIN [A-Z ]*PRIVATE KEY/);
      for (const line of text.split("\n")) {
        const m = /^\s*([A-Z_]+):\s*(.+?)\s*$/.exec(line);
        if (m && SECRETISH.test(m[1])) expect(m[2]).toMatch(/^\$\{\{ secrets\.[A-Z0-9_]+ \}\}$/);
      }
    }
  });

  test("the SSH key written for the Docker hosts is removed at the end of the job, even on failure", () => {
    for (const [file, w] of workflows) {
      for (const [job, j] of Object.entries(w.jobs)) {
        if (!j.steps.some((s) => (s.run ?? "").includes("twinstack_deploy"))) continue;
        const last = j.steps[j.steps.length - 1];
        expect({ file, job, if: last.if, run: last.run }).toEqual({ file, job, if: "always()", run: "rm -f ~/.ssh/twinstack_deploy" });
      }
    }
  });
});

// Like every real-consumer test, this fails rather than skips without shellcheck: .ci/run installs it.
describe("run scripts pass shellcheck", () => {
  // The forge substitutes ${{ }} before bash runs; stand in a quoted-safe word for shellcheck.
  const checked = files.flatMap((f) =>
    allSteps(wf(f))
      .filter(({ step }) => step.run)
      .map(({ job, step }) => ({ f, job, step: step.name ?? step.run!.split("\n")[0], script: step.run!.replace(/\$\{\{[^}]*\}\}/g, "GHA_EXPR") })),
  );
  // Every step's script goes through one shellcheck process (tests/consumers/shellcheck.ts
  // shellcheckTexts, which checks each script on its own and says whose each finding is) instead of
  // one process per step: the same check (bash dialect, every severity), with 1 process in place of ~50.
  let findings: string[][];
  beforeAll(async () => {
    findings = await shellcheckTexts(
      checked.map(({ script }) => ({ name: "step.sh", text: script })),
      { shell: "bash" },
    );
  });

  test.each(files)("%s", (f) => {
    checked.forEach(({ f: file, job, step }, i) => {
      if (file !== f) return;
      expect({ f, job, step, out: findings[i].join("\n") }).toEqual({ f, job, step, out: "" });
    });
  });
});
