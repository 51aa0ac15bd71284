// Issue 16: what a newcomer meets first, through the real entry points (the plan CLI as a process).
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { createHash } from "crypto";
import { previewStackName } from "../model/slug";
import { runPlanCliAsync, spawnAsync } from "../tools/planCli";
import { sharedPlanCli } from "./support/sharedProcess";
import { allEnded, startAllEarly, startEarly } from "./support/startEarly";

// Each test's processes are declared with startEarly beside it and all start before the tests
// (tests/support/startEarly.ts); every stack file is written into a directory of its own.
let dir: string;
beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "twinstack-adoption-"));
  startAllEarly();
});
afterAll(async () => {
  await allEnded();
  fs.rmSync(dir, { recursive: true, force: true });
});

function writeStack(name: string, yaml: string): string {
  const file = path.join(fs.mkdtempSync(path.join(dir, "stack-")), name);
  fs.writeFileSync(file, yaml);
  return file;
}

describe("compose habits", () => {
  const logLevel = startEarly(() => {
    const file = writeStack(
      "Pulumi.dev.yaml",
      ["config:", "  twinstack:env: dev", "  twinstack:app:", "    name: shop", "    image: shop:dev-latest", "    env:", "      LOG_LEVEL: 3", "      DEBUG: true", ""].join("\n"),
    );
    return runPlanCliAsync(["-s", "dev", "--config", file]);
  });
  test("LOG_LEVEL: 3 (a number where a string is expected) says to quote it, on one line", async () => {
    const run = await logLevel();
    expect(run.status).toBe(1);
    const lines = run.stderr.trim().split("\n");
    expect(lines).toEqual([
      expect.stringMatching(/Pulumi\.dev\.yaml: twinstack:app\.env\.LOG_LEVEL: expected a string, got 3 \(YAML reads 3 unquoted as a number: quote it, "3"\)$/),
      expect.stringMatching(/twinstack:app\.env\.DEBUG: expected a string, got true \(YAML reads true unquoted as a boolean: quote it, "true"\)$/),
    ]);
  });
});

describe("defaults pass the default policy on the default host size", () => {
  const minimal = startEarly(() => {
    const file = writeStack(
      "Pulumi.dev.yaml",
      [
        "config:",
        "  twinstack:env: dev",
        "  twinstack:domains: [dev.shop.example.com]",
        "  twinstack:hosts:",
        "    - name: dev1",
        "      docker: ssh://deploy@dev1.shop.example.com",
        "  twinstack:app:",
        "    name: shop",
        "    image: registry.example.com/shop:main",
        "    workers:",
        "      - name: jobs",
        "        command: [node, worker.js]",
        "  twinstack:redis:",
        "    mode: dedicated",
        "",
      ].join("\n"),
    );
    return runPlanCliAsync(["-s", "dev", "--config", file, "--json"]);
  });
  test("a minimal dev file (app + worker + Postgres + Redis + proxy, host size not given) plans clean", async () => {
    const run = await minimal();
    expect(run.stderr).toBe("");
    const plan = JSON.parse(run.stdout);
    expect(plan.violations).toEqual([]);
    expect(run.status).toBe(0);
    // Five budgeted workloads on the host: app, worker, Postgres, Redis, Caddy; and the app health
    // probe's seeder (0.05 CPU, 16 MiB; model/images.ts HEALTH_PROBE): 0.8 CPUs of 0.8 allowed.
    const roles = plan.resources
      .filter((r: { type: string }) => r.type === "docker:index/container:Container")
      .map((r: { inputs: { labels?: { label: string; value: string }[] } }) => r.inputs.labels?.find((l) => l.label === "twinstack.role")?.value)
      .sort();
    expect(roles).toEqual(["app", "postgres", "probe", "proxy", "redis", "worker"]);
  });

  const overrun = startEarly(() => {
    const file = writeStack(
      "Pulumi.dev.yaml",
      [
        "config:",
        "  twinstack:env: dev",
        "  twinstack:domains: [dev.shop.example.com]",
        "  twinstack:app:",
        "    name: shop",
        "    image: shop:main",
        "  twinstack:redis:",
        "    mode: dedicated",
        "    limits: {cpus: 1, memoryMb: 2048}",
        "",
      ].join("\n"),
    );
    return runPlanCliAsync(["-s", "dev", "--config", file]);
  });
  test("a real overrun is one line naming the key to change and by how much", async () => {
    const run = await overrun();
    expect(run.status).toBe(1);
    const budget = run.stdout.split("\n").filter((l) => l.includes("nonprod-resource-budget"));
    // app, Postgres, Caddy at the default 0.15 CPU / 256 MiB, Redis at 1 CPU / 2048 MiB, the health probe's seeder at
    // 0.05 CPU / 16 MiB, on the default 2-CPU, 4096 MiB host: 1.5 CPUs asked, 0.8 allowed: Redis down to 1 - 0.7 = 0.3;
    // 2832 MiB asked, 1638 allowed: 2048 - 1194 = 854 -> 832; share 1.5 / 2 = 0.75; host 1.5 / 0.4 = 3.75 CPUs, 2832 / 0.4 = 7080 MiB.
    expect(budget).toEqual([
      expect.stringContaining(
        "ask for 1.5 CPUs and 2832 MiB, over the 0.8 CPUs and 1638 MiB allowed (40% of 2 CPUs and 4096 MiB, the policy's nonProdShare): lower twinstack:redis.limits.cpus from 1 to 0.3 and twinstack:redis.limits.memoryMb from 2048 to 832 (1 workload uses it); or raise twinstack:budget.share to 0.75; or if the host is bigger, say so: twinstack:hosts[0] cpus: 3.75, memoryMb: 7080 or more",
      ),
    ]);
  });
});

describe("previews: one slug for the stack name and the program, dev's HTTPS port kept", () => {
  const root = path.join(__dirname, "..");
  const tool = (args: string[]) =>
    // The compiled tool (npm run preview-stack-name), built once per run by tests/globalSetup.ts.
    spawnAsync(process.execPath, [require("../tools/build.js").compiled("tools/preview-stack-name.ts"), ...args], { cwd: root });

  const branch = "feature/JIRA-1234-make-the-checkout-page-load-faster";
  // The plan of the stack the tool printed (the test checks the printed name first).
  const printedThenPlanned = startEarly(async () => {
    const printed = await tool([branch]);
    return { printed, run: await runPlanCliAsync(["-s", printed.stdout.trim(), "--json"]) };
  });
  test("a branch over 32 characters: the plan of the printed stack uses exactly its slug, at https://dev…:8443", async () => {
    const { printed, run } = await printedThenPlanned();
    expect(printed.status).toBe(0);
    const stack = printed.stdout.trim();
    expect(stack).toBe(previewStackName(branch));
    const slug = stack.slice("preview-".length);
    expect(slug.length).toBeLessThanOrEqual(32);

    expect(run.status).toBe(0);
    const outputs = JSON.parse(run.stdout).outputs;
    expect(outputs.slug).toBe(slug);
    expect(outputs.image).toBe(`nginxdemos/hello:preview-${slug}`);
    // The default dev publishes HTTPS on 8443 (Pulumi.dev.yaml proxy.httpsPort).
    expect(outputs.previewUrl).toBe(`https://dev.myapp.localhost:8443/preview/${slug}/`);
  });

  const otherSlug = startEarly(() => runPlanCliAsync(["-s", "preview-feature-jira-1234-make-the-checkout-page-load-faster"]));
  test("a preview stack named with another slug is refused, naming the right stack", async () => {
    const run = await otherSlug();
    expect(run.status).toBe(1);
    expect(run.stderr.trim()).toMatch(
      /^Pulumi\.preview-feature-jira-1234-make-the-checkout-page-load-faster\.yaml: stack "preview-feature-jira-1234-make-the-checkout-page-load-faster" does not carry the preview slug "feature-jira-1234-make-th-[0-9a-f]{6}" .*: name the stack preview-feature-jira-1234-make-th-[0-9a-f]{6} \(`npx twinstack preview-stack-name -- "<branch>"` prints it\)$/,
    );
  });
});

describe("one Node version", () => {
  test("every workflow sets up the Node major the README asks for", () => {
    const root = path.join(__dirname, "..");
    const readme = fs.readFileSync(path.join(root, "README.md"), "utf8");
    const wanted = /^- Node\.js (\d+) and npm/m.exec(readme)?.[1];
    expect(wanted).toBe("22");
    const dir = path.join(root, ".forgejo", "workflows");
    const versions = fs.readdirSync(dir).flatMap((f) => [...fs.readFileSync(path.join(dir, f), "utf8").matchAll(/node-version:\s*["']?([^"'\s]+)/g)].map((m) => `${f}: ${m[1]}`));
    expect(versions.length).toBeGreaterThan(0);
    for (const v of versions) expect(v).toMatch(new RegExp(`: ${wanted}$`));
  });
});

describe("policy violations: one line per mistake, naming the config key", () => {
  const root = path.join(__dirname, "..");
  function prodProject(edit: (prod: string) => string): string {
    const project = fs.mkdtempSync(path.join(dir, "project-"));
    fs.copyFileSync(path.join(root, "Pulumi.dev.yaml"), path.join(project, "Pulumi.dev.yaml"));
    fs.writeFileSync(path.join(project, "Pulumi.prod.yaml"), edit(fs.readFileSync(path.join(root, "Pulumi.prod.yaml"), "utf8")));
    return path.join(project, "Pulumi.prod.yaml");
  }
  const violationLines = (stdout: string) =>
    stdout
      .slice(stdout.indexOf("Policy violations:"))
      .split("\n")
      .filter((l) => /^  \S+ \((mandatory|advisory)\): /.test(l));

  const untagged = startEarly(() => {
    const file = prodProject((y) => y.replace(/^(    image: nginxdemos\/hello)@sha256:[0-9a-f]{64}$/m, "$1"));
    return runPlanCliAsync(["-s", "prod", "--config", file]);
  });
  test("an untagged prod image: one line naming twinstack:app.image and the resources", async () => {
    const run = await untagged();
    expect(run.status).toBe(1);
    expect(violationLines(run.stdout)).toEqual([
      expect.stringMatching(
        /^  prod-images-immutable \(mandatory\): myapp-prod-app-image, myapp-prod-app: prod image "nginxdemos\/hello" has no tag, which means :latest: set twinstack:app\.image in \S*Pulumi\.prod\.yaml to a digest /,
      ),
    ]);
    expect(run.stdout).toMatch(/2 mandatory and 0 advisory policy violations \(1 cause, one line each above/);
  });

  const prodSaysDev = startEarly(() => {
    const file = prodProject((y) => y.replace("twinstack:env: prod", "twinstack:env: dev"));
    return Promise.all([runPlanCliAsync(["-s", "prod", "--config", file]), runPlanCliAsync(["-s", "prod", "--config", file, "--json"])]);
  });
  test("a prod file saying env: dev: the real fix on one line, first, with what it clears", async () => {
    const [run, jsonRun] = await prodSaysDev();
    expect(run.status).toBe(1);
    expect(violationLines(run.stdout)).toEqual([
      expect.stringMatching(
        /^  no-shared-claims \(mandatory\): stack: stack "prod" sets twinstack:env "dev" in .*: set twinstack:env: prod \(fixing it also clears the \d+ violations it causes: env-token-in-names ×\d+, prod-data-protected ×\d+\)$/,
      ),
    ]);
    // --json keeps every violation as the policies reported them.
    const json = JSON.parse(jsonRun.stdout);
    expect(json.violations.length).toBeGreaterThan(10);
  });
});

describe("releases and previews really update: mutable tags re-pulled when the registry's digest changes", () => {
  const root = path.join(__dirname, "..");
  // The harness answers docker.getRegistryImage with sha256(<reference>) as the digest.
  const standIn = (ref: string) => `sha256:${createHash("sha256").update(ref).digest("hex")}`;
  type Plan = { resources: { type: string; name: string; inputs: Record<string, any> }[]; violations: unknown[] };
  /** The plan --json of a run started early (below); its stderr is empty. */
  const planJson = async (run: () => ReturnType<typeof runPlanCliAsync>) => {
    const { stderr, stdout } = await run();
    expect(stderr).toBe("");
    return JSON.parse(stdout) as Plan;
  };
  const byName = (plan: Plan, name: string) => plan.resources.find((r) => r.name === name)!;

  // The default stacks' plans, the same processes as plan.test.ts's and planDiff.test.ts's: run once per jest run.
  const devPlan = startEarly(() => sharedPlanCli(["-s", "dev", "--json"]));
  const prodPlan = startEarly(() => sharedPlanCli(["-s", "prod", "--json"]));
  const pullTriggerPlan = startEarly(() => {
    const file = writeStack(
      "Pulumi.dev.yaml",
      fs.readFileSync(path.join(root, "Pulumi.dev.yaml"), "utf8").replace("    port: 80\n", "    port: 80\n    pullTrigger: sha256:0123\n"),
    );
    return runPlanCliAsync(["-s", "dev", "--config", file, "--json"]);
  });
  test("dev: the app image re-pulls on the tag's registry digest; app.pullTrigger from CI replaces the lookup; prod pins instead", async () => {
    const dev = await planJson(devPlan);
    expect(byName(dev, "myapp-dev-app-image").inputs.pullTriggers).toEqual([standIn("nginxdemos/hello:0.4-plain-text")]);
    const prod = await planJson(prodPlan);
    expect(byName(prod, "myapp-prod-app-image").inputs.pullTriggers).toBeUndefined();

    expect(byName(await planJson(pullTriggerPlan), "myapp-dev-app-image").inputs.pullTriggers).toEqual(["sha256:0123"]);
  });

  const swarmPlan = startEarly(() => {
    const file = writeStack(
      "Pulumi.dev.yaml",
      fs
        .readFileSync(path.join(root, "Pulumi.dev.yaml"), "utf8")
        .replace("  twinstack:env: dev\n", "  twinstack:env: dev\n  twinstack:runtime: swarm\n")
        .replace("      docker: unix:///var/run/docker.sock\n", "      docker: ssh://deploy@dev1.example.com\n      address: 192.0.2.10\n"),
    );
    return runPlanCliAsync(["-s", "dev", "--config", file, "--json"]);
  });
  test("dev on Swarm: the service runs <tag>@<resolved digest>, so a new push is a new service spec", async () => {
    const plan = await planJson(swarmPlan);
    const app = plan.resources.find((r) => r.type === "docker:index/service:Service" && r.name === "myapp-dev-app")!;
    expect(app.inputs.taskSpec.containerSpec.image).toBe(`nginxdemos/hello:0.4-plain-text@${standIn("nginxdemos/hello:0.4-plain-text")}`);
  });

  const previewPlan = startEarly(() => runPlanCliAsync(["-s", "preview-feature-x", "--json"]));
  test("preview: :preview-<slug> re-pulls on its registry digest", async () => {
    const plan = await planJson(previewPlan);
    const image = plan.resources.find((r) => r.type === "docker:index/remoteImage:RemoteImage")!;
    expect(image.inputs.name).toBe("nginxdemos/hello:preview-feature-x");
    expect(image.inputs.pullTriggers).toEqual([standIn("nginxdemos/hello:preview-feature-x")]);
  });
});
