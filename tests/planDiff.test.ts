// plan --against: the offline diff of a stack-file change, through the plan CLI, on two example configs.
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { SecretValue } from "../tests/harness";
import { diffPlans, stackFileAtRef } from "../tools/planDiff";
import { runPlanCli, runPlanCliAsync } from "../tools/planCli";
import { sharedPlanCli } from "./support/sharedProcess";
import { allEnded, startAllEarly, startEarly } from "./support/startEarly";

const ROOT = path.join(__dirname, "..");
jest.setTimeout(180_000);
let dir: string;
// The plans that depend on no other step (lugh's saved plan, the default prod --json) start before
// the tests (tests/support/startEarly.ts) and run while the first test runs its own.
const lughSaved = startEarly(() => runPlanCliAsync(["-s", "dev", "--config", path.join(ROOT, "examples", "lugh", "Pulumi.dev.yaml"), "--json"]));
// The default prod --json is the same process as adoption.test.ts's: run once per jest run.
const prodJson = startEarly(() => sharedPlanCli(["-s", "prod", "--json"]));
beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "twinstack-diff-"));
  startAllEarly();
});
afterAll(async () => {
  await allEnded();
  fs.rmSync(dir, { recursive: true, force: true });
});

/** Runs git in `repo` with a fixed author and committer (no user config needed). */
function gitIn(repo: string): (...args: string[]) => string {
  return (...args: string[]) =>
    execFileSync("git", args, {
      cwd: repo,
      encoding: "utf8",
      env: { ...process.env, GIT_AUTHOR_NAME: "t", GIT_AUTHOR_EMAIL: "t@t", GIT_COMMITTER_NAME: "t", GIT_COMMITTER_EMAIL: "t@t" },
    });
}

test("gigi prod against a git ref: a release and gitea switched off, resource by resource, secrets masked", () => {
  const repo = path.join(dir, "gigi");
  fs.mkdirSync(repo);
  const git = gitIn(repo);
  git("init", "-q");
  for (const f of fs.readdirSync(path.join(ROOT, "examples", "gigi"))) fs.copyFileSync(path.join(ROOT, "examples", "gigi", f), path.join(repo, f));
  git("add", ".");
  git("commit", "-qm", "before");
  const file = path.join(repo, "Pulumi.prod.yaml");
  const before = fs.readFileSync(file, "utf8");
  const after = before
    .replace("gigi/gigi:v1.2.3", "gigi/gigi:v1.3.0")
    .replace("version: v1.2.3", "version: v1.3.0")
    .replace("  twinstack:gitea:\n    enabled: true", "  twinstack:gitea:\n    enabled: false");
  expect(after).not.toBe(before);
  fs.writeFileSync(file, after);

  const run = runPlanCli(["-s", "prod", "--config", file, "--against", "HEAD"]);
  expect(run.stderr).toBe("");
  expect(run.status).toBe(0);
  const out = run.stdout.slice(run.stdout.indexOf("Against HEAD:"));
  // Removed: Gitea's service, data and config volumes, its runner's service and volume. Changed: the app
  // image, the app service (APP_VERSION) and the Caddyfile (no /gitea/ route) of the proxy on each of
  // the four VIP nodes: on the stdin of the node's config Command, which installs it and reloads Caddy.
  // The container's own uploads change too, but they are under its ignoreChanges (pulumi up leaves
  // them), so the container is not listed: a reviewer is not told it would be replaced.
  expect(out).toMatch(/^Against HEAD: 0 to add, 5 to remove, 6 to change, \d+ unchanged/);
  for (const node of ["turing1", "turing2", "turing3", "turing4"]) {
    expect(out).not.toContain(`  ~ docker:index/container:Container  gigi-prod-proxy-caddy-${node}\n`);
    expect(out).toContain(`  ~ command:local:Command  gigi-prod-proxy-caddy-config-${node}\n      stdin: [secret] => [secret] (changed)\n`);
  }
  expect(out).toContain("  - docker:index/service:Service  gigi-prod-gitea\n");
  expect(out).toContain("  - docker:index/volume:Volume  gigi-prod-gitea-data\n");
  expect(out).toContain('      name: "registry.gigi.casa/gigi/gigi:v1.2.3" => "registry.gigi.casa/gigi/gigi:v1.3.0"');
  // The app's env holds secrets: it shows as changed (APP_VERSION moved), never its content.
  expect(out).toContain("      taskSpec.containerSpec.env: [secret] => [secret] (changed)");
  expect(out).not.toMatch(/DATABASE_URL|postgres:\/\//);

  // Unchanged file: nothing to add, remove or change.
  fs.writeFileSync(file, before);
  const same = runPlanCli(["-s", "prod", "--config", file, "--against", "HEAD", "--json"]);
  expect(same.status).toBe(0);
  const diff = JSON.parse(same.stdout).diff;
  expect({ added: diff.added, removed: diff.removed, changed: diff.changed }).toEqual({ added: [], removed: [], changed: [] });
});

test("a git ref's stack files of a directory below the repository's top level, however the stack file's path is given", () => {
  const repo = path.join(dir, "nested");
  const sub = path.join(repo, "examples", "gigi");
  fs.mkdirSync(sub, { recursive: true });
  const git = gitIn(repo);
  git("init", "-q");
  fs.writeFileSync(path.join(sub, "Pulumi.prod.yaml"), "config:\n  twinstack:env: prod\n");
  fs.writeFileSync(path.join(sub, "Pulumi.dev.yaml"), "config:\n  twinstack:env: dev\n");
  fs.writeFileSync(path.join(sub, "notes.txt"), "not a stack file\n");
  fs.writeFileSync(path.join(repo, "Pulumi.prod.yaml"), "config:\n  twinstack:env: top\n");
  git("add", ".");
  git("commit", "-qm", "before");
  const file = path.join(sub, "Pulumi.prod.yaml");
  fs.writeFileSync(file, "config:\n  twinstack:env: changed\n");
  // Absolute, relative to this process's directory (how a tool resolves what the user typed), and with "..".
  for (const given of [file, path.relative(process.cwd(), file), path.join(sub, "..", "gigi", "Pulumi.prod.yaml")]) {
    const copy = stackFileAtRef(given, "HEAD");
    try {
      expect({ given, text: fs.readFileSync(copy.file, "utf8") }).toEqual({ given, text: "config:\n  twinstack:env: prod\n" });
      expect(fs.readdirSync(path.dirname(copy.file)).sort()).toEqual(["Pulumi.dev.yaml", "Pulumi.prod.yaml"]);
      expect(fs.readFileSync(path.join(path.dirname(copy.file), "Pulumi.dev.yaml"), "utf8")).toBe("config:\n  twinstack:env: dev\n");
    } finally {
      copy.cleanup();
    }
  }
  // A file (or directory) the ref does not have: named from the top level.
  const later = path.join(repo, "examples", "lugh");
  fs.mkdirSync(later);
  fs.writeFileSync(path.join(later, "Pulumi.dev.yaml"), "config: {}\n");
  expect(() => stackFileAtRef(path.join(later, "Pulumi.dev.yaml"), "HEAD")).toThrow("--against HEAD: examples/lugh/Pulumi.dev.yaml does not exist at HEAD");
  expect(() => stackFileAtRef(path.join(sub, "Pulumi.preview-x.yaml"), "HEAD")).toThrow("--against HEAD: examples/gigi/Pulumi.preview-x.yaml does not exist at HEAD");
});

test("lugh dev against a saved plan --json: a worker added", async () => {
  const saved = path.join(dir, "lugh-dev.json");
  const first = await lughSaved();
  expect(first.status).toBe(0);
  fs.writeFileSync(saved, first.stdout);

  const copy = path.join(dir, "lugh");
  fs.mkdirSync(copy);
  for (const f of fs.readdirSync(path.join(ROOT, "examples", "lugh"))) fs.copyFileSync(path.join(ROOT, "examples", "lugh", f), path.join(copy, f));
  const file = path.join(copy, "Pulumi.dev.yaml");
  const yaml = fs.readFileSync(file, "utf8");
  expect(yaml).toMatch(/^  twinstack:app:\n/m);
  fs.writeFileSync(file, yaml.replace(/^  twinstack:app:\n/m, "  twinstack:app:\n    workers:\n      - name: mailer\n        command: [node, mailer.js]\n"));

  const run = runPlanCli(["-s", "dev", "--config", file, "--against", saved]);
  expect(run.stderr).toBe("");
  const out = run.stdout.slice(run.stdout.indexOf(`Against ${saved}:`));
  expect(out).toMatch(/: 1 to add, 0 to remove, 0 to change, \d+ unchanged/);
  expect(out).toMatch(/\n  \+ docker:index\/container:Container  \S+-dev-worker-mailer\n/);

  // Another stack's saved plan is no baseline of this one: refused before planning, naming both stacks.
  const other = runPlanCli(["-s", "prod", "--config", path.join(copy, "Pulumi.prod.yaml"), "--against", saved]);
  expect(other.stdout).toBe("");
  expect(other.stderr).toMatch(new RegExp(`^plan: --against ${saved} is a saved plan of stack "dev", not of -s prod: .*usage: npm run plan`));
  expect(other.status).toBe(1);
});

test("diffPlans compares secrets without showing them", () => {
  const r = (inputs: Record<string, unknown>) => [{ type: "t", name: "n", inputs }];
  expect(diffPlans(r({ a: new SecretValue("x") }), r({ a: new SecretValue("x") })).changed).toEqual([]);
  const d = diffPlans(r({ a: new SecretValue("hunter2"), b: 1 }), r({ a: new SecretValue("hunter3"), b: 2 }));
  expect(d.changed[0].changes).toEqual([
    { path: "a", before: "[secret]", after: "[secret] (changed)" },
    { path: "b", before: "1", after: "2" },
  ]);
  expect(JSON.stringify(d)).not.toMatch(/hunter/);
});

test("diffPlans leaves out differences under a resource's ignoreChanges, as pulumi up does", () => {
  const before = [{ type: "docker:index/container:Container", name: "caddy", inputs: { uploads: [{ content: "a" }], image: "caddy:2.8" } }];
  const sameImage = [{ ...before[0], inputs: { uploads: [{ content: "b" }], image: "caddy:2.8" }, ignoreChanges: ["uploads"] }];
  expect(diffPlans(before, sameImage)).toMatchObject({ changed: [], unchanged: 1 });
  const newImage = [{ ...sameImage[0], inputs: { uploads: [{ content: "b" }], image: "caddy:2.9" } }];
  expect(diffPlans(before, newImage).changed).toEqual([
    { type: "docker:index/container:Container", name: "caddy", changes: [{ path: "image", before: '"caddy:2.8"', after: '"caddy:2.9"' }] },
  ]);
  // Without the option the same upload change is reported.
  expect(diffPlans(before, [{ ...sameImage[0], ignoreChanges: undefined }]).changed[0].changes[0].path).toBe("uploads[0].content");
});

test("diffPlans matches a renamed component through its alias: the same resource, not removed and added", () => {
  const old = [
    { type: "twinstack:index:SharedPostgresDb", name: "myapp-prod-db", parent: "prod", inputs: {} },
    { type: "postgresql:index/database:Database", name: "myapp-prod-db-database", parent: "myapp-prod-db", inputs: { name: "myapp_prod" } },
  ];
  const now = [
    { type: "twinstack:index:PostgresDatabase", name: "myapp-prod-db", parent: "prod", inputs: {}, aliases: [{ type: "twinstack:index:SharedPostgresDb", name: "myapp-prod-db" }] },
    old[1],
  ];
  const d = diffPlans(old, now);
  expect(d).toMatchObject({ added: [], removed: [], changed: [], unchanged: 2 });
  expect(d.renamed).toEqual([{ type: "twinstack:index:PostgresDatabase", name: "myapp-prod-db", was: "twinstack:index:SharedPostgresDb" }]);
  // Without the alias it would read as a replacement.
  expect(diffPlans(old, [{ ...now[0], aliases: undefined }, old[1]])).toMatchObject({ added: [{ name: "myapp-prod-db" }], removed: [{ name: "myapp-prod-db" }] });
});

test("plan --json carries each resource's ignoreChanges and alias type, so a saved plan diffs like a git ref", async () => {
  const run = await prodJson();
  expect(run.status).toBe(0);
  const resources = JSON.parse(run.stdout).resources as { type: string; name: string; ignoreChanges?: string[]; aliases?: { type: string; name: string }[] }[];
  expect(resources.find((r) => r.type === "twinstack:index:PostgresDatabase")?.aliases).toEqual([{ type: "twinstack:index:SharedPostgresDb", name: "myapp-prod-db" }]);
  expect(resources.find((r) => r.type === "twinstack:index:VirtualIp")?.aliases).toEqual([{ type: "twinstack:index:VipPair", name: "myapp-prod-vip" }]);
  expect(resources.find((r) => /proxy-caddy-node1$/.test(r.name))?.ignoreChanges).toEqual(["uploads"]);
});

test("a stack file that does not plan at the ref is named as <ref>:<path>, not as the temporary copy", async () => {
  const repo = path.join(dir, "badref");
  const sub = path.join(repo, "examples", "gigi");
  fs.mkdirSync(sub, { recursive: true });
  const git = gitIn(repo);
  git("init", "-q");
  for (const f of fs.readdirSync(path.join(ROOT, "examples", "gigi"))) fs.copyFileSync(path.join(ROOT, "examples", "gigi", f), path.join(sub, f));
  const file = path.join(sub, "Pulumi.prod.yaml");
  const good = fs.readFileSync(file, "utf8");
  expect(good).toMatch(/^ {4}port: 3000$/m);
  fs.writeFileSync(file, good.replace(/^ {4}port: 3000$/m, "    port: 30a0"));
  git("add", ".");
  git("commit", "-qm", "a bad port");
  fs.writeFileSync(file, good);
  const result = await runPlanCliAsync(["-s", "prod", "--config", file, "--against", "HEAD"]);
  expect(result.status).toBe(1);
  expect(result.stderr.trim().split("\n")).toEqual([
    `--against HEAD: the stack's files at HEAD do not plan: HEAD:examples/gigi/Pulumi.prod.yaml: twinstack:app.port: expected a number from 1 to 65535, got "30a0"`,
  ]);
});
