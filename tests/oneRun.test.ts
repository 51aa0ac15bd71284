// One run reports every problem of a stack file: its shape problems (the zod schema) and the
// semantic ones (model/validate.ts) of what still parses without the rejected values, with no
// semantic problem that only echoes a shape problem. Every line names the file and a key and never
// shows a secret's value; the plan declares nothing.
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import fc from "fast-check";
import YAML from "yaml";
import { ConfigError, parseStackConfig } from "../stacks/config";
import { planStack } from "../tools/planner";
import { runPlanCli } from "../tools/planCli";

const FILE = "Pulumi.dev.yaml";
type Values = Record<string, unknown>;

function problemsOf(values: Values, secret: string[] = [], stack = "dev"): string[] {
  try {
    parseStackConfig(values, { stack, sourceFile: FILE, isSecret: (k) => secret.includes(k) });
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
  return [];
}
/** The key each problem line names (file and key checked on the way). */
function keysOf(problems: string[]): string[] {
  return problems.map((p) => {
    const m = /^Pulumi\.dev\.yaml: twinstack:(\S+?): /.exec(p);
    if (!m) throw new Error(`a problem that names no file and key: ${p}`);
    return m[1];
  });
}
const app = (extra: Values = {}) => ({ name: "gigi", image: "gigi:1", ...extra });

describe("shape and semantic problems of one file, in one run", () => {
  it("a string for a port (shape) and a Caddy keyword as a header name (semantic)", () => {
    const problems = problemsOf({ env: "dev", app: app({ port: "abc" }), proxy: { headers: { defer: "1" } } });
    expect(keysOf(problems)).toEqual(["app.port", "proxy.headers.defer"]);
  });

  it("an unknown key (shape) and a duplicate worker, a generated env var and too many replicas (semantic)", () => {
    const problems = problemsOf({
      env: "dev",
      app: app({
        replica: 2,
        replicas: 500,
        env: { APP_ENV: "prod" },
        workers: [
          { name: "w", command: ["a"] },
          { name: "w", command: ["b"] },
        ],
      }),
    });
    expect(keysOf(problems).sort()).toEqual(["app.env.APP_ENV", "app.replica", "app.replicas", "app.workers[1].name"]);
    expect(problems.find((p) => p.includes("app.replica:"))).toMatch(/did you mean "replicas"/);
  });

  it("a wrong enum (shape) beside prod's network in a dev stack and an image with a space (semantic)", () => {
    const problems = problemsOf(
      {
        env: "dev",
        app: app({ image: "gigi :1" }),
        redis: { mode: "clustered" },
        postgres: { mode: "shared", host: "db", adminPasswordKey: "pw", network: "gigi-prod-net" },
        pw: { secure: "x" },
      },
      ["pw"],
    );
    expect(keysOf(problems).sort()).toEqual(["app.image", "postgres.network", "redis.mode"]);
  });

  it("a required value rejected (app.name) keeps its siblings checked, without an 'app is missing' echo", () => {
    const problems = problemsOf({ env: "dev", app: app({ name: "Gigi", env: { APP_ENV: "prod" } }), proxy: { acmeEmail: "not an email" } });
    expect(keysOf(problems).sort()).toEqual(["app.env.APP_ENV", "app.name", "proxy.acmeEmail"]);
  });

  it("secret-valued keys: a bad secure redis.url (semantic) beside a shape error never shows the password", () => {
    const password = "S3CRETvalue0123456789";
    const problems = problemsOf({ env: "dev", app: app({ port: true }), redis: { mode: "shared", url: `redis://:${password}@bad host:6379` } }, ["redis"]);
    expect(keysOf(problems)).toEqual(["app.port", "redis.url"]);
    expect(problems.join("\n")).not.toContain(password);
  });

  it("secret-valued keys: a shape error inside a secure key and a semantic one elsewhere; neither shows the value", () => {
    const password = "S3CRETanother98765";
    const problems = problemsOf({ env: "dev", app: app({ replicas: 0 }), redis: { mode: "shared", url: `redis://:${password}@cache:6379`, prefix: 7 } }, ["redis"]);
    expect(keysOf(problems).sort()).toEqual(["app.replicas", "redis.prefix"]);
    expect(problems.join("\n")).not.toContain(password);
    // The quoting hint would repeat the value: not for a secret key.
    expect(problems.join("\n")).not.toMatch(/unquoted/);
  });

  it("a secretEnv entry rejected: its value is not shown, and its secret key is not called unknown", () => {
    const problems = problemsOf({ env: "dev", app: app({ secretEnv: { TOKEN: 42, OTHER: "botToken" }, env: { PORT: "1" } }), botToken: "x", chatToken: "y" }, [
      "botToken",
      "chatToken",
    ]);
    expect(keysOf(problems)).toContain("app.secretEnv.TOKEN");
    expect(keysOf(problems)).toContain("app.env.PORT");
    // chatToken may be the secret TOKEN meant to name: not called an unknown key.
    expect(keysOf(problems)).not.toContain("chatToken");
    expect(keysOf(problems)).not.toContain("botToken");
    expect(problems.join("\n")).not.toMatch(/42/);
  });
});

describe("no semantic problem echoes a shape problem", () => {
  it.each([
    ["a wrong postgres.mode does not make the template 'need shared mode'", { postgres: { mode: "shard", template: "gigi_dev" } }, ["postgres.mode"]],
    [
      "a rejected host name does not make vip.nodes name an unknown host",
      { hosts: [{ name: "Main Host", docker: "unix:///var/run/docker.sock" }], vip: { nodes: ["main"] } },
      ["hosts[0].name"],
    ],
    ["a rejected docker endpoint does not make the host 'neither existing nor provisioned'", { hosts: [{ name: "a", docker: "http://x" }] }, ["hosts[0].docker"]],
    ["a rejected proxy.enabled does not ask for basic-auth users", { proxy: { enabled: "nope", basicAuth: [] } }, ["proxy.enabled"]],
    [
      "a rejected runtime does not make HA Postgres 'need swarm'",
      { runtime: "Swarm", haPostgres: { enabled: true }, hosts: ["a", "b", "c"].map((name) => ({ name, docker: "unix:///x" })) },
      ["runtime"],
    ],
    [
      "a rejected registrationTokenKey does not ask for the default secret",
      { runners: { count: 1, forgeUrl: "https://git.example.com", adminCidr: "203.0.113.0/24", registrationTokenKey: "no spaces allowed" } },
      ["runners.registrationTokenKey"],
    ],
    ["a rejected shared postgres.host is not also 'missing'", { postgres: { mode: "shared", host: 5432, adminPasswordKey: "pw" }, pw: "x" }, ["postgres.host"]],
    ["a misspelt section is not also 'missing'", { ap: app() }, ["ap"]],
    ["an env that is no env checks nothing else", { env: "staging", app: app({ env: { APP_ENV: "x" } }) }, ["env"]],
  ] as [string, Values, string[]][])("%s", (_name, extra, keys) => {
    const values: Values = { env: "dev", app: app(), ...extra };
    if ("ap" in extra) delete values.app;
    const problems = problemsOf(values, ["pw"]);
    expect(keysOf(problems)).toEqual(keys);
  });
});

describe("property: any shape problem plus any semantic problem, both reported in one run", () => {
  const shapeCases: { key: string; set(v: Values): void }[] = [
    { key: "app.port", set: (v) => ((v.app as Values).port = "http") },
    { key: "proxy.httpPort", set: (v) => (v.proxy = { ...(v.proxy as Values), httpPort: 70000 }) },
    { key: "redis.mode", set: (v) => (v.redis = { mode: "cluster" }) },
    { key: "mqtt.colour", set: (v) => (v.mqtt = { ...(v.mqtt as Values), colour: "red" }) },
    { key: "backup.keep", set: (v) => (v.backup = { keep: "seven" }) },
    { key: "dns.provider", set: (v) => (v.dns = { provider: "route53" }) },
  ];
  const semanticCases: { key: string; set(v: Values, x: string): void }[] = [
    { key: "app.replicas", set: (v) => ((v.app as Values).replicas = 5000) },
    { key: "proxy.headers.", set: (v) => (v.proxy = { ...(v.proxy as Values), headers: { match: "1" } }) },
    {
      key: "app.workers[1].name",
      set: (v, x) =>
        ((v.app as Values).workers = [
          { name: x, command: ["a"] },
          { name: x, command: ["b"] },
        ]),
    },
    { key: "mqtt.devices[1]", set: (v, x) => (v.mqtt = { ...(v.mqtt as Values), enabled: true, devices: [x, x] }) },
    { key: "postgres.network", set: (v) => (v.postgres = { network: "gigi-prod-net" }) },
    { key: "app.env.", set: (v) => ((v.app as Values).env = { DATABASE_URL: "postgres://x" }) },
  ];

  it("both keys are named, every line names file and key, nothing else fails", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: shapeCases.length - 1 }),
        fc.integer({ min: 0, max: semanticCases.length - 1 }),
        fc.stringMatching(/^[a-z][a-z0-9]{0,8}$/),
        (s, m, x) => {
          const values: Values = { env: "dev", app: app() };
          semanticCases[m].set(values, x);
          shapeCases[s].set(values);
          const problems = problemsOf(values);
          const keys = keysOf(problems);
          expect(keys.some((k) => k.startsWith(shapeCases[s].key))).toBe(true);
          expect(keys.some((k) => k.startsWith(semanticCases[m].key))).toBe(true);
          expect(keys).toHaveLength(2);
        },
      ),
      { numRuns: 60 },
    );
  });
});

describe("the plan: both kinds in one run, one line each, nothing declared", () => {
  const config = {
    env: "dev",
    app: { name: "gigi", image: "gigi:1", port: "http", secretEnv: { BOT_TOKEN: "botToken" }, env: { SESSION_SECRET: "x" } },
    proxy: { headers: { defer: "1" }, httpPort: "eighty" },
    botToken: { secure: "v1:placeholder" },
  };
  let dir: string;
  let file: string;
  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "twinstack-onerun-"));
    file = path.join(dir, FILE);
    fs.writeFileSync(file, YAML.stringify({ config: Object.fromEntries(Object.entries(config).map(([k, v]) => [`twinstack:${k}`, v])) }));
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it("planStack rejects with every problem of the file", async () => {
    const error = await planStack({ stack: "dev", stackFile: file, projectDir: dir }).then(
      () => undefined,
      (e: Error) => e,
    );
    expect(error).toBeDefined();
    const lines = error!.message.split("\n").map((p) => p.replace(/^\S*Pulumi\.dev\.yaml/, FILE));
    expect(keysOf(lines).sort()).toEqual(["app.env.SESSION_SECRET", "app.port", "proxy.headers.defer", "proxy.httpPort"]);
  });

  it("npm run plan prints one line per problem naming the file and key, exit 1", () => {
    const run = runPlanCli(["-s", "dev", "--config", file]);
    expect(run.status).toBe(1);
    expect(run.stdout).toBe("");
    const lines = run.stderr.trim().split("\n");
    expect(lines).toHaveLength(4);
    for (const line of lines)
      expect(line).toMatch(/^\S*twinstack-onerun-\w+\/Pulumi\.dev\.yaml: twinstack:(app\.port|app\.env\.SESSION_SECRET|proxy\.headers\.defer|proxy\.httpPort): /);
    expect(run.stderr).not.toMatch(/\n\s+at /);
  });
});
