import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import YAML from "yaml";
import fc from "fast-check";
import { ConfigError, parseStackConfig } from "../stacks/config";
import { decodeConfigValue, previewStackBranch } from "../model/config";
import { previewSlug } from "../model/slug";
import { readStackConfig, SECRET_PLACEHOLDER } from "../model/stackFile";
import { planStack, readPolicyConfig } from "../tools/planner";
import { runPlanCliAsync, spawnAsync } from "../tools/planCli";
import { allEnded, startAllEarly, startEarly } from "./support/startEarly";

const root = path.join(__dirname, "..");

function problemsOf(values: Record<string, unknown>, stack = "dev"): string[] {
  try {
    parseStackConfig(values, { stack, sourceFile: `Pulumi.${stack}.yaml` });
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
  return [];
}

const minimalDev = { env: "dev", app: { name: "gigi", image: "gigi:dev" } };

describe("stack config schema", () => {
  it("accepts a short config and fills in the defaults", () => {
    const { config } = parseStackConfig(minimalDev, { stack: "dev", sourceFile: "Pulumi.dev.yaml" });
    expect(config.app?.port).toBe(3000);
    expect(config.postgres.mode).toBe("dedicated");
    expect(config.budget.share).toBe(0.4);
    expect(config.hosts).toEqual([expect.objectContaining({ name: "local", docker: "unix:///var/run/docker.sock" })]);
  });

  it("accepts numbers typed as strings", () => {
    const { config } = parseStackConfig({ ...minimalDev, app: { ...minimalDev.app, port: "8080" } }, { stack: "dev", sourceFile: "Pulumi.dev.yaml" });
    expect(config.app?.port).toBe(8080);
  });

  it("names file and key for a wrong type", () => {
    expect(problemsOf({ ...minimalDev, app: { ...minimalDev.app, port: "80a" } })).toEqual(['Pulumi.dev.yaml: twinstack:app.port: expected a number from 1 to 65535, got "80a"']);
  });

  it("names an unknown env", () => {
    expect(problemsOf({ ...minimalDev, env: "staging" })).toEqual(['Pulumi.dev.yaml: twinstack:env: expected "prod", "dev" or "preview", got "staging"']);
  });

  it("names a typo with a suggestion, nested and top level", () => {
    expect(problemsOf({ ...minimalDev, app: { ...minimalDev.app, prot: 80 } })).toEqual(['Pulumi.dev.yaml: twinstack:app.prot: unknown key (did you mean "port"?)']);
    expect(problemsOf({ ...minimalDev, postgress: { mode: "shared" } })).toEqual(['Pulumi.dev.yaml: twinstack:postgress: unknown key (did you mean "postgres"?)']);
  });

  it("names a missing required key", () => {
    expect(problemsOf({ env: "dev", app: { name: "gigi" } })).toEqual(["Pulumi.dev.yaml: twinstack:app.image: required key is missing"]);
    expect(problemsOf({ app: minimalDev.app })).toEqual(["Pulumi.dev.yaml: twinstack:env: required key is missing"]);
  });

  it("reports every problem at once, with array indexes", () => {
    const problems = problemsOf({
      ...minimalDev,
      hosts: [
        { name: "a", docker: "unix:///x", cpus: -1 },
        { name: "Bad Name", docker: "ftp://x" },
      ],
    });
    expect(problems).toEqual(
      expect.arrayContaining([
        expect.stringContaining("twinstack:hosts[0].cpus: expected a positive number of CPUs"),
        expect.stringContaining("twinstack:hosts[1].name:"),
        expect.stringContaining("twinstack:hosts[1].docker: expected unix:///path, ssh://user@host or tcp://host:port"),
      ]),
    );
  });

  it("says how to write a flat dotted key that names a nested one (preview.branch), one line, never its value", () => {
    expect(problemsOf({ env: "preview", "preview.branch": "feat/x" }, "pr-y")).toEqual([
      'Pulumi.pr-y.yaml: twinstack:preview.branch: unknown key: a dot does not nest keys in a stack file: write it as the lines "twinstack:preview:" and "  branch: <value>" ' +
        "(what `pulumi config set --path 'twinstack:preview.branch' <value>` writes)",
    ]);
    expect(problemsOf({ ...minimalDev, "gitea.runner.enabled": true })).toEqual([
      'Pulumi.dev.yaml: twinstack:gitea.runner.enabled: unknown key: a dot does not nest keys in a stack file: write it as the lines "twinstack:gitea:", "  runner:" and "    enabled: <value>" ' +
        "(what `pulumi config set --path 'twinstack:gitea.runner.enabled' <value>` writes)",
    ]);
    // A secure value: the command sets it as a secret; the value is not shown.
    let secret: string[] = [];
    try {
      parseStackConfig({ env: "preview", "preview.branch": "feat/hidden" }, { stack: "pr-y", sourceFile: "Pulumi.pr-y.yaml", isSecret: (k) => k === "preview.branch" });
    } catch (err) {
      secret = (err as ConfigError).problems;
    }
    expect(secret).toEqual([expect.stringContaining("(what `pulumi config set --secret --path 'twinstack:preview.branch' <value>` writes)")]);
    expect(secret.join("\n")).not.toContain("hidden");
    // The nested key's own checks do not echo it: postgres.host is "missing" only because of the dot.
    const shared = { ...minimalDev, postgres: { mode: "shared", adminPasswordKey: "pgAdmin" }, pgAdmin: "x", "postgres.host": "db.example.com" };
    expect(problemsOf(shared).map((p) => p.split(": unknown key")[0])).toEqual(["Pulumi.dev.yaml: twinstack:postgres.host"]);
    // A dotted key that names no key of the schema stays a plain unknown key.
    expect(problemsOf({ ...minimalDev, "app.nope": 1, "foo.bar": 2 })).toEqual([
      "Pulumi.dev.yaml: twinstack:app.nope: unknown key",
      "Pulumi.dev.yaml: twinstack:foo.bar: unknown key",
    ]);
  });

  it("names the stack file for a flat dotted key in a plan, and never the secure value's ciphertext", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "twinstack-dotted-"));
    try {
      fs.copyFileSync(path.join(root, "examples/gigi/Pulumi.dev.yaml"), path.join(dir, "Pulumi.dev.yaml"));
      const file = path.join(dir, "Pulumi.pr-y.yaml");
      fs.writeFileSync(file, "config:\n  twinstack:env: preview\n  twinstack:preview.branch:\n    secure: v1:Q2lwaGVydGV4dE9mVGhlQnJhbmNo\n");
      const error: Error = await planStack({ stack: "pr-y", stackFile: file, projectDir: root, runPolicyPack: false }).then(
        () => new Error("planned"),
        (err: Error) => err,
      );
      expect(error.message).toBe(
        `${path.relative(process.cwd(), file)}: twinstack:preview.branch: unknown key: a dot does not nest keys in a stack file: ` +
          'write it as the lines "twinstack:preview:" and "  branch: <value>" (what `pulumi config set --secret --path \'twinstack:preview.branch\' <value>` writes)',
      );
      expect(error.message).not.toMatch(/Q2lwaGVy|v1:/);
      expect(error.message).not.toContain(SECRET_PLACEHOLDER);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it("requires referenced secrets to exist and to be secret", () => {
    const values = { ...minimalDev, app: { ...minimalDev.app, secretEnv: { BOT_TOKEN: "botToken" } } };
    expect(problemsOf(values)).toEqual([expect.stringContaining("twinstack:botToken: required secret is missing")]);
    expect(() => parseStackConfig({ ...values, botToken: "x" }, { stack: "dev", sourceFile: "f", isSecret: () => false })).toThrow(/holds a secret in plain text/);
    expect(parseStackConfig({ ...values, botToken: "x" }, { stack: "dev", sourceFile: "f", isSecret: (k) => k === "botToken" }).secretKeys).toEqual(["botToken"]);
  });

  it("rejects what a component would only find half-way: a world-open runner SSH range, an app name too long for preview databases", () => {
    expect(problemsOf({ ...minimalDev, runners: { count: 1, forgeUrl: "https://git.example.com", adminCidr: "0.0.0.0/0" }, runnerRegistrationToken: "x" })).toEqual([
      "Pulumi.dev.yaml: twinstack:runners.adminCidr: opens SSH to the whole internet (0.0.0.0/0): use your admin range, e.g. 203.0.113.0/24",
    ]);
    expect(problemsOf({ ...minimalDev, app: { ...minimalDev.app, name: "a-really-long-application-name" } })).toEqual([
      expect.stringMatching(/^Pulumi\.dev\.yaml: twinstack:app\.name: at most 22 characters/),
    ]);
  });

  it("derives env from a preview stack name and needs nothing else", () => {
    const { config } = parseStackConfig({}, { stack: "preview-feature-x", sourceFile: "Pulumi.preview-feature-x.yaml" });
    expect(config.env).toBe("preview");
    expect(problemsOf({ env: "dev" }, "preview-x")).toEqual(expect.arrayContaining([expect.stringContaining('stack "preview-x" is a preview stack: env must be "preview"')]));
  });

  it("refuses a preview-… stack name without a slug (and no stack file) with the slug message, not a missing env", () => {
    const command = '(`npx twinstack preview-stack-name -- "<branch>"` prints it)';
    expect(problemsOf({}, "preview-Feature")).toEqual([
      `Pulumi.preview-Feature.yaml: stack "preview-Feature" does not carry the preview slug "${previewSlug("Feature")}" of branch "Feature": name the stack preview-${previewSlug("Feature")} ${command}`,
    ]);
    expect(problemsOf({}, "org/project/preview-feature_login")).toEqual([
      `Pulumi.org/project/preview-feature_login.yaml: stack "org/project/preview-feature_login" does not carry the preview slug "${previewSlug("feature_login")}" of branch "feature_login": name the stack preview-${previewSlug("feature_login")} ${command}`,
    ]);
    expect(problemsOf({}, "preview-")).toEqual([`Pulumi.preview-.yaml: stack "preview-" names no branch after preview-: name the stack preview-<slug> ${command}`]);
    // An over-long slug gets the same message, from the program's check.
    const long = "feature-" + "x".repeat(40);
    expect(() => previewStackBranch(undefined, `preview-${long}`, `Pulumi.preview-${long}.yaml`)).toThrow(
      expect.objectContaining({ problems: [expect.stringContaining(`name the stack preview-${previewSlug(long)} ${command}`)] }),
    );
    // A stack file that says what the stack is still decides.
    expect(problemsOf({ env: "dev", app: minimalDev.app }, "preview-Feature")).toEqual(expect.not.arrayContaining([expect.stringContaining("preview slug")]));
  });

  it("refuses a preview-<slug> stack whose preview.branch has another slug; the same slug or another stack name is fine", () => {
    expect(problemsOf({ env: "preview", preview: { branch: "feature-xyz" } }, "preview-other")).toEqual([
      'Pulumi.preview-other.yaml: twinstack:preview.branch: branch "feature-xyz" has the preview slug "feature-xyz", but the stack name "preview-other" says "other": ' +
        "remove the key (the stack name gives the branch) or name the stack preview-feature-xyz",
    ]);
    // feature/login slugs to feature-login-<hash>: the stack named with that slug agrees.
    const slug = previewSlug("feature/login");
    expect(problemsOf({ env: "preview", preview: { branch: "feature/login" } }, `preview-${slug}`)).toEqual([]);
    expect(problemsOf({ env: "preview", preview: { branch: "feature/login" } }, "pr-42")).toEqual([]);
    // A branch with no slug is named once, by validation (the claims do not slug it).
    expect(problemsOf({ env: "preview", preview: { branch: "" } }, "pr-9")).toEqual([
      "Pulumi.pr-9.yaml: twinstack:preview.branch: expected a git branch name (non-empty, well-formed Unicode)",
    ]);
  });

  it("refuses a dev or prod Redis prefix that covers the previews' keys (preview-<slug>: on dev's Redis)", () => {
    const redis = (prefix: string) => ({ mode: "shared", url: "redis://10.0.0.5:6379", prefix });
    for (const prefix of ["preview-abc:", "preview-", "pre"]) {
      expect(problemsOf({ ...minimalDev, redis: redis(prefix) })).toEqual([
        `Pulumi.dev.yaml: twinstack:redis.prefix: ${JSON.stringify(prefix)} overlaps the preview stacks' keys (preview-<slug>: on dev's Redis): choose a prefix that does not start with "preview-"`,
      ]);
    }
    expect(problemsOf({ ...minimalDev, redis: redis("gigi-dev:") })).toEqual([]);
  });

  it("refuses a Redis URL holding a password in plain text, without showing it", () => {
    const problems = problemsOf({ ...minimalDev, redis: { mode: "shared", url: "redis://app:S3cretPassw0rd@10.0.0.5:6379/0" } });
    expect(problems).toEqual([
      "Pulumi.dev.yaml: twinstack:redis.url: holds a password in plain text: make it a secret (pulumi config set --secret --path 'twinstack:redis.url' <url>)",
    ]);
    expect(problemsOf({ ...minimalDev, redis: { mode: "shared", url: "redis://app@10.0.0.5:6379/0" } })).toEqual([]);
  });

  it("never shows a value that fails a secret-key-name check: it may be the secret pasted in place of the key's name", () => {
    const pasted = "S3cr3tP@ssw0rd!xyz";
    // Every schema key whose value names a secret config key (schema.ts secretKey), a string and a number.
    const sites: [string, (v: unknown) => Record<string, unknown>][] = [
      ["app.secretEnv.BOT_TOKEN", (v) => ({ app: { ...minimalDev.app, secretEnv: { BOT_TOKEN: v } } })],
      ["postgres.adminPasswordKey", (v) => ({ postgres: { mode: "shared", host: "db.example.com", adminPasswordKey: v } })],
      ["gitea.runner.registrationTokenKey", (v) => ({ gitea: { runner: { enabled: true, registrationTokenKey: v } } })],
      ["vip.apiTokenKey", (v) => ({ vip: { apiTokenKey: v } })],
      ["runners.registrationTokenKey", (v) => ({ runners: { count: 1, registrationTokenKey: v } })],
      ["monitoring.alerts.webhookUrlKey", (v) => ({ monitoring: { enabled: true, alerts: { webhookUrlKey: v } } })],
      ["monitoring.alerts.email.passwordKey", (v) => ({ monitoring: { enabled: true, alerts: { email: { passwordKey: v } } } })],
    ];
    for (const [key, at] of sites) {
      for (const value of [pasted, 84736251]) {
        const problems = problemsOf({ ...minimalDev, ...at(value) });
        const line = problems.find((p) => p.startsWith(`Pulumi.dev.yaml: twinstack:${key}: expected the name of a secret config key`));
        expect(line).toMatch(/got a value that is not a config key name \(not shown: it may be the secret itself\)$/);
        expect(problems.join("\n")).not.toContain(String(value));
      }
    }
  });

  it("masks a URL's password and credential query parameters in every value a message shows", () => {
    for (const url of ["redis://app:Hunter2Secret@lugh-redis:6379/cache", "redis://lugh-redis:6379/0?password=Hunter2Secret", "http://app:Hunter2Secret@lugh-redis"]) {
      const problems = problemsOf({ ...minimalDev, redis: { mode: "shared", url } });
      expect(problems).toHaveLength(1);
      expect(problems[0]).toMatch(/^Pulumi\.dev\.yaml: twinstack:redis\.url: /);
      expect(problems[0]).not.toContain("Hunter2Secret");
      expect(problems[0]).toContain("***");
    }
    // A schema error shows the value too (here a list where a string belongs).
    const listed = problemsOf({ ...minimalDev, redis: { mode: "shared", url: ["redis://:Hunter2Secret@lugh-redis:6379"] } });
    expect(listed.join("\n")).toContain("twinstack:redis.url");
    expect(listed.join("\n")).not.toContain("Hunter2Secret");
  });

  it("plans a secret Redis URL (the one nested secret) with a URL stand-in named by its ciphertext", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "twinstack-config-"));
    try {
      const file = path.join(dir, "Pulumi.dev.yaml");
      const text = (cipher: string) =>
        `config:\n  twinstack:env: dev\n  twinstack:app:\n    name: gigi\n    image: gigi:dev\n  twinstack:redis:\n    mode: shared\n    url:\n      secure: ${cipher}\n`;
      fs.writeFileSync(file, text("v1:AAAA"));
      const read = readStackConfig(file);
      const url = (read.values.redis as { url: string }).url;
      expect(url).toMatch(/^redis:\/\/plan-placeholder-secret-[0-9a-f]{12}\.invalid:6379$/);
      expect(read.secretKeys).toEqual(["redis"]);
      expect(() => parseStackConfig(read.values, { stack: "dev", sourceFile: file, isSecret: (k) => read.secretKeys.includes(k) })).not.toThrow();
      fs.writeFileSync(file, text("v1:BBBB"));
      expect((readStackConfig(file).values.redis as { url: string }).url).not.toBe(url);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it("the default stack files are valid", () => {
    for (const stack of ["dev", "prod"]) {
      const file = readStackConfig(path.join(root, `Pulumi.${stack}.yaml`));
      expect(() => parseStackConfig(file.values, { stack, sourceFile: file.file, isSecret: (k) => file.secretKeys.includes(k) })).not.toThrow();
    }
  });
});

describe("decodeConfigValue", () => {
  const reference = (value: string): unknown => {
    try {
      return JSON.parse(value);
    } catch {
      return value;
    }
  };

  it("decodes exactly what JSON.parse reads and keeps every other string", () => {
    for (const value of [
      "dev",
      "preview",
      "gigi.casa",
      "",
      " ",
      "8080",
      " 8080",
      "-1",
      "true",
      "false",
      "null",
      "none",
      "tls",
      "fr",
      '"x"',
      '{"a":1}',
      "\n[1, 2]",
      "\u00a0[1]",
      "[1",
      "{",
      "0x1F",
      "NaN",
    ]) {
      expect([value, decodeConfigValue(value)]).toEqual([value, reference(value)]);
    }
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string(),
          fc.json(),
          fc.json().map((j) => ` \t${j}`),
          fc.jsonValue().map((v) => JSON.stringify(v)),
        ),
        (value) => {
          expect(decodeConfigValue(value)).toEqual(reference(value));
        },
      ),
    );
  });
});

describe("files named on the command line (--policy-pack-config, sample --config)", () => {
  it("names a missing file or a directory in one line, not with the system's ENOENT", () => {
    const missing = path.join(os.tmpdir(), "twinstack-no-such-policy-config.json");
    expect(() => readPolicyConfig(missing)).toThrow(new Error(`${missing}: no such policy pack config file`));
    expect(() => readPolicyConfig(os.tmpdir())).toThrow(new Error(`${os.tmpdir()}: is a directory, not a policy pack config file`));
  });

  it("sample --config names a missing file the same way (tools/cli.ts readNamedFile)", async () => {
    const missing = path.join(os.tmpdir(), "twinstack-no-such-sample-config.yaml");
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const sample = require("../tools/build.js").compiled("tools/sample.ts");
    const run = await spawnAsync(process.execPath, [sample, "--from", "postgres://u@127.0.0.1:1/db", "--dry-run", "--config", missing], { cwd: root });
    expect(run.status).toBe(1);
    expect(run.stderr.trim()).toBe(`sample: ${missing}: no such sample config file`);
  });
});

describe("reading stack files", () => {
  // Made when the block's tests run (not when jest collects them: a run filtered with -t to other
  // tests would make it and never run the afterAll that removes it).
  let dir: string;
  beforeAll(() => void (dir = fs.mkdtempSync(path.join(os.tmpdir(), "twinstack-read-"))));
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
  const text = "config:\n  twinstack:env: dev\n  twinstack:domains: [a.example.com]\n  twinstack:app:\n    name: gigi\n    image: gigi:dev\n";

  it("gives two files of the same text values of their own, which a caller may change", () => {
    fs.writeFileSync(path.join(dir, "Pulumi.one.yaml"), text);
    fs.writeFileSync(path.join(dir, "Pulumi.two.yaml"), text);
    const one = readStackConfig(path.join(dir, "Pulumi.one.yaml"));
    (one.values.domains as string[]).push("b.example.com");
    (one.values.app as Record<string, unknown>).image = "changed";
    const two = readStackConfig(path.join(dir, "Pulumi.two.yaml"));
    expect(two.stack).toBe("two");
    expect(two.values.domains).toEqual(["a.example.com"]);
    expect(two.values.app).toEqual({ name: "gigi", image: "gigi:dev" });
    expect(readStackConfig(path.join(dir, "Pulumi.one.yaml")).values.domains).toEqual(["a.example.com"]);
  });

  it("reads a file again when its text changed, and still names a file that is not YAML", () => {
    const file = path.join(dir, "Pulumi.three.yaml");
    fs.writeFileSync(file, text);
    expect(readStackConfig(file).values.domains).toEqual(["a.example.com"]);
    fs.writeFileSync(file, text.replace("a.example.com", "c.example.com"));
    expect(readStackConfig(file).values.domains).toEqual(["c.example.com"]);
    fs.writeFileSync(file, "config: [unclosed\n");
    expect(() => readStackConfig(file)).toThrow(new RegExp(`^${file.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}: not valid YAML`));
    expect(() => readStackConfig(file)).toThrow(/not valid YAML/);
    // One complete line: the file, where (line, column) and what, without yaml's trailing colon
    // that introduces the quoted source lines.
    fs.writeFileSync(file, "config:\n  twinstack:env: prod\n  twinstack:env: dev\n");
    expect(() => readStackConfig(file)).toThrow(new Error(`${file}: not valid YAML at line 3, column 3: Map keys must be unique`));
  });

  it("names a YAML alias inside its own anchor's node as one line (file and key), and still reads an alias that is not", () => {
    const file = path.join(dir, "Pulumi.alias.yaml");
    fs.writeFileSync(file, 'config:\n  twinstack:env: dev\n  twinstack:app: &a {name: x, image: "x:1", env: *a}\n');
    expect(() => readStackConfig(file)).toThrow(new Error(`${file}: twinstack:app refers to itself through a YAML alias (&a … *a at twinstack:app.env)`));
    fs.writeFileSync(file, 'config:\n  twinstack:env: dev\n  twinstack:hosts: &h [{name: a, docker: "unix:///var/run/docker.sock", extra: *h}]\n');
    expect(() => readStackConfig(file)).toThrow(new Error(`${file}: twinstack:hosts refers to itself through a YAML alias (&h … *h at twinstack:hosts[0].extra)`));
    // The project file is read the same way.
    const project = path.join(dir, "Pulumi.yaml");
    fs.writeFileSync(project, "name: twinstack\nconfig:\n  twinstack:domains: &d [a.example.com, *d]\n");
    fs.writeFileSync(file, text);
    expect(() => readStackConfig(file, { projectFile: project })).toThrow(
      new Error(`${project}: twinstack:domains refers to itself through a YAML alias (&d … *d at twinstack:domains[1])`),
    );
    fs.rmSync(project);
    fs.writeFileSync(file, 'config:\n  twinstack:env: dev\n  twinstack:app: &a {name: x, image: "x:1"}\n  twinstack:domains: [a.example.com]\n  twinstack:copy: *a\n');
    expect(readStackConfig(file).values.copy).toEqual({ name: "x", image: "x:1" });
  });

  it("names a directory given as the stack file as one, not as YAML it cannot read", () => {
    expect(() => readStackConfig(dir, { stack: "prod" })).toThrow(new Error(`${dir}: is a directory, not a stack file`));
  });
});

// The plans below start together before the tests (tests/support/startEarly.ts), whichever of the
// file's tests run; their directory is made by the first of them and removed after the file's last
// test (the file's own afterAll: it runs whenever startAllEarly did).
beforeAll(startAllEarly);
let badConfigDir: string | undefined;
afterAll(async () => {
  await allEnded();
  if (badConfigDir) fs.rmSync(badConfigDir, { recursive: true, force: true });
});

describe("npm run plan on bad config", () => {
  const dir = () => (badConfigDir ??= fs.mkdtempSync(path.join(os.tmpdir(), "twinstack-config-")));

  function planWith(mutate: (config: Record<string, any>) => void) {
    const doc = YAML.parse(fs.readFileSync(path.join(root, "Pulumi.dev.yaml"), "utf8"));
    mutate(doc.config);
    // One directory per case: the four plans run at once.
    const file = path.join(fs.mkdtempSync(path.join(dir(), "case-")), "Pulumi.dev.yaml");
    fs.writeFileSync(file, YAML.stringify(doc));
    // Full stack traces kept in the plan (it drops the SDK's own while the program runs), so "without
    // a stack trace" below proves the CLI prints none, not that the error had none.
    return runPlanCliAsync(["-s", "dev", "--config", file], { ...process.env, TWINSTACK_STACK_TRACES: "1" });
  }

  const cases: [string, (c: any) => unknown, RegExp][] = [
    ["a wrong type", (c: any) => (c["twinstack:app"].port = "80a"), /Pulumi\.dev\.yaml: twinstack:app\.port: expected a number from 1 to 65535, got "80a"/],
    ["an unknown env", (c: any) => (c["twinstack:env"] = "staging"), /Pulumi\.dev\.yaml: twinstack:env: expected "prod", "dev" or "preview", got "staging"/],
    ["a typo", (c: any) => (c["twinstack:app"].prot = 80), /Pulumi\.dev\.yaml: twinstack:app\.prot: unknown key \(did you mean "port"\?\)/],
    ["a missing required key", (c: any) => delete c["twinstack:app"].image, /Pulumi\.dev\.yaml: twinstack:app\.image: required key is missing/],
  ];
  const plans = new Map(cases.map(([name, mutate]) => [name, startEarly(() => planWith(mutate))]));
  const previewPlan = startEarly(() => runPlanCliAsync(["-s", "preview-feature-login"]));
  const filePlan = startEarly(() => runPlanCliAsync(["-s", "dev"]));

  it("a plan's header says when the stack has no stack file (a preview), and names the file when there is one", async () => {
    const preview = await previewPlan();
    expect(preview.status).toBe(0);
    const absent = path.join(root, "Pulumi.preview-feature-login.yaml");
    expect(fs.existsSync(absent)).toBe(false);
    expect(preview.stdout.split("\n")[0]).toBe(`Plan of stack "preview-feature-login" (no stack file: ${absent} does not exist, a preview stack needs none):`);
    const dev = await filePlan();
    expect(dev.stdout.split("\n")[0]).toBe(`Plan of stack "dev" (${path.join(root, "Pulumi.dev.yaml")}):`);
  });

  it.each(cases)("%s exits 1 naming the file and key, without a stack trace or resources", async (name, _mutate, expected) => {
    const result = await plans.get(name)!();
    expect(result.status).toBe(1);
    expect(result.stderr).toMatch(expected);
    expect(result.stderr).not.toMatch(/\n\s+at /);
    expect(result.stdout).not.toMatch(/resources/);
  });
});
