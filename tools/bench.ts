// npm run bench: figures, not assertions (the issue-17 goals are ratios printed here, never timed
// assertions in tests). Every plan runs in its own process (node on the compiled dist/tools/plan.js,
// as `npm run plan` does), so its wall time includes node's start-up and its peak RSS is its own.
// Runs are interleaved (A B C A B C ...) and the median is quoted, so a machine whose speed drifts
// (shared CI runners) moves every figure alike and the ratios stay comparable.
//   npm run bench                 plan figures and ratios, then the sampler's throughput
//   npm run bench -- --tests      per-suite timing table of one `jest` run (its JSON report), its CPU and assertion count
//   npm run bench -- --tenants    only the plans with 0 to 1,000 tenants and their ratios
// BENCH_RUNS (default 3) sets the runs per figure; the 1,000-tenant plan runs at most as often.
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import YAML from "yaml";
import { parseCommandLine, UsageError } from "./cli";
import { exitWhenFlushed } from "./exit";

let RUNS = Math.max(1, Number(process.env.BENCH_RUNS ?? 3));
const USAGE = "npm run bench [-- --runs <n>] [-- --tests | --tenants]";
const HELP = `usage: ${USAGE}
Prints figures (no pass/fail): the offline plan against loading its dependencies, plans with 0 to
1,000 tenants, a preview beside 200 sibling stack files, and the sampler's throughput when
PostgreSQL is installed; --tests prints a per-suite timing table of one jest run instead, with
its wall and CPU time, the load average around it and the number of passing assertions.
  --runs <n>   runs per figure (default: BENCH_RUNS, else 3)
  --tests      per-suite timing table of \`npm test\`, its CPU time and assertion count
  --tenants    only the plans with 0 to 1,000 tenants (their figures and ratios)
  -h, --help   this help`;
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { ROOT, ensureBuilt, compiled } = require("./build.js") as { ROOT: string; ensureBuilt(): string; compiled(rel: string): string };

/** What the program imports: the SDK and the provider packages (components/, stacks/). */
const DEPENDENCIES = ["@pulumi/pulumi", "@pulumi/command", "@pulumi/digitalocean", "@pulumi/docker", "@pulumi/hcloud", "@pulumi/postgresql", "@pulumi/random", "@pulumi/tls"];

interface Sample {
  wallMs: number;
  /** user + system CPU of the process itself. */
  cpuMs: number;
  maxRssMb: number;
  resources: number;
}

const STATS = path.join(ROOT, "tools/benchStats.js");

/** Runs node (with the stats preload) on `args`; its stdout, wall time, CPU time and peak RSS. */
function timed(args: string[]): Sample & { stdout: string } {
  // stdout into a file: the plan ends with process.exit, which cuts off output still queued for a
  // pipe (a 1,000-tenant --json plan is several MB), while writes to a file are synchronous.
  const outFile = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "twinstack-bench-out-")), "stdout");
  const out = fs.openSync(outFile, "w");
  try {
    const started = process.hrtime.bigint();
    const child = spawnSync(process.execPath, ["-r", STATS, ...args], { cwd: ROOT, encoding: "utf8", stdio: ["ignore", out, "pipe"], maxBuffer: 64 * 1024 * 1024 });
    const wallMs = Number(process.hrtime.bigint() - started) / 1e6;
    const stats = /BENCH_STATS (\{.*\})/.exec(child.stderr ?? "");
    if (!stats || child.status !== 0) throw new Error(`node ${args.join(" ")} failed (exit ${child.status}):\n${child.stderr}`);
    const { cpuMs, maxRssKb } = JSON.parse(stats[1]);
    return { wallMs, cpuMs, maxRssMb: maxRssKb / 1024, resources: 0, stdout: fs.readFileSync(outFile, "utf8") };
  } finally {
    fs.closeSync(out);
    fs.rmSync(path.dirname(outFile), { recursive: true, force: true });
  }
}

/** One `npm run plan -- <args> --json`: node on the compiled plan, as the npm script runs it. */
function planOnce(args: string[]): Sample {
  const { stdout, ...sample } = timed([compiled("tools/plan.ts"), ...args, "--json"]);
  return { ...sample, resources: JSON.parse(stdout).resources.length };
}

/** node requiring the program's dependencies and nothing else: the floor a plan cannot go below. */
function loadOnce(): Sample {
  return timed(["-e", DEPENDENCIES.map((d) => `require(${JSON.stringify(d)});`).join("")]);
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/** Runs each named measurement `runs` times, interleaved; returns the samples by name. */
function interleaved(cases: Record<string, { run: () => Sample; runs?: number }>, runs: number): Record<string, Sample[]> {
  const out: Record<string, Sample[]> = Object.fromEntries(Object.keys(cases).map((k) => [k, []]));
  for (let i = 0; i < runs; i++) {
    for (const [name, c] of Object.entries(cases)) if (i < (c.runs ?? runs)) out[name].push(c.run());
  }
  return out;
}

const wall = (samples: Sample[]) => median(samples.map((s) => s.wallMs));
const cpu = (samples: Sample[]) => median(samples.map((s) => s.cpuMs));
const peak = (samples: Sample[]) => Math.max(...samples.map((s) => s.maxRssMb));
const ms = (v: number) => `${v.toFixed(0)} ms`;
/** The machine's load average now: figures on a shared machine mean little without it. */
const loadAverage = () =>
  `load average ${os
    .loadavg()
    .map((l) => l.toFixed(1))
    .join(" / ")} (1 / 5 / 15 min) on ${os.cpus().length} cores`;

/** "1.23x wall, 1.10x CPU (goal <= 1.5x: met)": the goal judged on wall time, as the issue states it. */
function ratio(a: Sample[], b: Sample[], goal: number): string {
  const w = wall(a) / wall(b);
  return `${w.toFixed(2)}x wall, ${(cpu(a) / cpu(b)).toFixed(2)}x CPU (goal <= ${goal}x: ${w <= goal ? "met" : "NOT met"})`;
}

const HEADER = `${"".padEnd(44)} resources       wall        CPU   peak RSS`;
function row(label: string, samples: Sample[], extra = ""): string {
  const res = samples[0].resources ? String(samples[0].resources) : "-";
  return `${label.padEnd(44)} ${res.padStart(9)}  ${ms(wall(samples)).padStart(9)}  ${ms(cpu(samples)).padStart(9)}  ${peak(samples).toFixed(0).padStart(5)} MiB${extra}`;
}

/** examples/cocotte's prod stack with `n` tenants in the shape of its own (two orgs, two templates each). */
function tenantStackFile(dir: string, n: number): string {
  const doc = YAML.parse(fs.readFileSync(path.join(ROOT, "examples/cocotte/Pulumi.prod.yaml"), "utf8"));
  doc.config["twinstack:tenants"] = Array.from({ length: n }, (_, i) => ({
    name: `tenant${i}`,
    orgs: [
      { org: `brand${i}`, tld: "maison" },
      { org: `label${i}`, tld: "maison" },
    ],
    templates: ["ai.{org}.{tld}", "data.{org}.{tld}"],
  }));
  const file = path.join(dir, `tenants-${n}`, "Pulumi.prod.yaml");
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, YAML.stringify(doc));
  return file;
}

/**
 * examples/gigi's dev and preview stack files, with `siblings` more preview stack files beside them:
 * copies of the preview file, or with `distinct` each with its own first line naming its branch (as
 * a team's per-branch files differ), so no two siblings have the same text.
 */
function previewDir(dir: string, siblings: number, distinct = false): string {
  const at = path.join(dir, `preview-${siblings}${distinct ? "-distinct" : ""}`);
  fs.mkdirSync(at, { recursive: true });
  for (const f of ["Pulumi.dev.yaml", "Pulumi.preview-feature-xyz.yaml"]) fs.copyFileSync(path.join(ROOT, "examples/gigi", f), path.join(at, f));
  const preview = fs.readFileSync(path.join(ROOT, "examples/gigi/Pulumi.preview-feature-xyz.yaml"), "utf8");
  for (let i = 0; i < siblings; i++) {
    const text = distinct ? `# preview of the branch branch-${i}\n${preview}` : preview;
    fs.writeFileSync(path.join(at, `Pulumi.preview-branch-${i}.yaml`), text);
  }
  return path.join(at, "Pulumi.preview-feature-xyz.yaml");
}

function planBench(tenantsOnly = false): void {
  ensureBuilt();
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "twinstack-bench-"));
  try {
    console.log(`offline plan: node on dist/tools/plan.js (npm run plan), median of ${RUNS} interleaved runs per figure;`);
    console.log("wall includes node start-up; CPU is the process's own user+system time (steadier on a busy machine)");
    console.log(`${loadAverage()}\n`);

    if (!tenantsOnly) planBaseBench();
    tenantsBench(tmp);
    if (!tenantsOnly) previewBench(tmp);
    console.log(loadAverage());
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

/** The default stacks' plans against loading the dependencies. */
function planBaseBench(): void {
  const base = interleaved(
    {
      load: { run: loadOnce },
      prod: { run: () => planOnce(["-s", "prod"]) },
      dev: { run: () => planOnce(["-s", "dev"]) },
    },
    RUNS,
  );
  console.log(HEADER);
  console.log(row("load the dependencies (node -e require)", base.load));
  console.log(row("plan -s prod (default stack file)", base.prod));
  console.log(row("plan -s dev (default stack file)", base.dev));
  console.log(`default prod plan / load: ${ratio(base.prod, base.load, 1.5)}\n`);
}

/** examples/cocotte's prod plan with 0, 20, 200 and 1,000 tenants. */
function tenantsBench(tmp: string): void {
  const counts = [0, 20, 200, 1000];
  const files = Object.fromEntries(counts.map((n) => [n, tenantStackFile(tmp, n)]));
  const tenants = interleaved(Object.fromEntries(counts.map((n) => [String(n), { run: () => planOnce(["-s", "prod", "--config", files[n]]) }])), RUNS);
  const t0 = tenants["0"];
  console.log(`${HEADER}   ms/resource (marginal, wall / CPU)`);
  for (const n of counts) {
    const s = tenants[String(n)];
    const added = s[0].resources - t0[0].resources;
    const marginal = n === 0 ? "" : `   ${((wall(s) - wall(t0)) / added).toFixed(2)} / ${((cpu(s) - cpu(t0)) / added).toFixed(2)}`;
    console.log(row(`examples/cocotte prod, ${n} tenants`, s, marginal));
  }
  // "Time per resource flat from 20 to 1,000 tenants": the marginal cost of a resource does not grow
  // with the count, judged as the 1,000-tenant figure within 1.25x of the 20-tenant one.
  const perResource = (n: number, f: (s: Sample[]) => number) => (f(tenants[String(n)]) - f(t0)) / (tenants[String(n)][0].resources - t0[0].resources);
  const flatWall = perResource(1000, wall) / perResource(20, wall);
  console.log(
    `ms per added resource, 1000 tenants / 20 tenants: ${flatWall.toFixed(2)}x wall, ${(perResource(1000, cpu) / perResource(20, cpu)).toFixed(2)}x CPU ` +
      `(goal flat, <= 1.25x: ${flatWall <= 1.25 ? "met" : "NOT met"})`,
  );
  console.log(`200 tenants / 0 tenants: ${ratio(tenants["200"], t0, 2)}`);
  console.log(`1000 tenants / 0 tenants: ${ratio(tenants["1000"], t0, 6)}`);
  const peak1000 = peak(tenants["1000"]);
  console.log(`1000 tenants peak RSS: ${peak1000.toFixed(0)} MiB (goal < 400 MiB: ${peak1000 < 400 ? "met" : "NOT met"})\n`);
}

/** A preview's plan alone and beside 200 sibling preview stack files. */
function previewBench(tmp: string): void {
  const alone = previewDir(tmp, 0);
  const crowded = previewDir(tmp, 200);
  const distinct = previewDir(tmp, 200, true);
  const previews = interleaved(
    {
      alone: { run: () => planOnce(["-s", "preview-feature-xyz", "--config", alone]) },
      crowded: { run: () => planOnce(["-s", "preview-feature-xyz", "--config", crowded]) },
      distinct: { run: () => planOnce(["-s", "preview-feature-xyz", "--config", distinct]) },
    },
    RUNS,
  );
  console.log(HEADER);
  console.log(row("examples/gigi preview-feature-xyz, alone", previews.alone));
  console.log(row("  next to 200 sibling preview stack files", previews.crowded));
  console.log(row("  next to 200 sibling files, each with its own first line", previews.distinct));
  console.log(`with 200 siblings / alone: ${ratio(previews.crowded, previews.alone, 1.2)}`);
  console.log(`with 200 distinct siblings / alone: ${ratio(previews.distinct, previews.alone, 1.2)}`);
}

interface JestReport {
  startTime: number;
  numTotalTests: number;
  numPassedTests: number;
  numFailedTests: number;
  testResults: {
    name: string;
    startTime: number;
    endTime: number;
    status: string;
    message: string;
    assertionResults: { fullName: string; status: string; numPassingAsserts?: number; ancestorTitles?: string[] }[];
  }[];
}

/** A line of the suite CPU log: a test file's CPU (tests/support/cpuEnvironment.js), or a group member's (tests/support/testGroup.ts). */
interface SuiteCpu {
  testPath: string;
  cpu: number;
  childrenCpu: number;
  /** Set for a member of a group: the group's test file, and the member's own wall seconds. */
  group?: string;
  seconds?: number;
}

/**
 * CPU seconds (user + system) of this process's waited-for children so far: /proc/self/stat fields
 * 16 and 17, cutime and cstime, in clock ticks (proc(5); USER_HZ is 100 on Linux). Daemons a test
 * starts and that detach (pg_ctl's postgres) are not counted. undefined where there is no /proc.
 */
function childrenCpuSeconds(): number | undefined {
  try {
    const stat = fs.readFileSync("/proc/self/stat", "utf8");
    // Fields after the command name, which is in parentheses and may contain spaces: field 3 onwards.
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return (Number(fields[13]) + Number(fields[14])) / 100;
  } catch {
    return undefined;
  }
}

/** One `jest` run with its JSON report: wall time and a per-suite table, slowest first. */
function testsBench(): void {
  const report = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "twinstack-bench-jest-")), "report.json");
  // Each suite's CPU time, logged by its test environment (tests/support/cpuEnvironment.js).
  const cpuLog = path.join(path.dirname(report), "suite-cpu.jsonl");
  const loadBefore = os.loadavg();
  const cpuBefore = childrenCpuSeconds();
  const started = process.hrtime.bigint();
  const child = spawnSync(process.execPath, [require.resolve("jest/bin/jest"), "--json", `--outputFile=${report}`], {
    cwd: ROOT,
    encoding: "utf8",
    env: { ...process.env, TWINSTACK_SUITE_CPU_LOG: cpuLog },
    stdio: ["ignore", "ignore", "pipe"],
  });
  const wallS = Number(process.hrtime.bigint() - started) / 1e9;
  const cpuAfter = childrenCpuSeconds();
  const loadAfter = os.loadavg();
  if (!fs.existsSync(report)) throw new Error(`jest wrote no report (exit ${child.status}):\n${child.stderr}`);
  const r = JSON.parse(fs.readFileSync(report, "utf8")) as JestReport;
  const suiteCpu = new Map<string, SuiteCpu>();
  if (fs.existsSync(cpuLog)) {
    for (const line of fs.readFileSync(cpuLog, "utf8").split("\n").filter(Boolean)) {
      const l = JSON.parse(line) as SuiteCpu;
      suiteCpu.set(l.testPath, l);
    }
  }
  fs.rmSync(path.dirname(report), { recursive: true, force: true });
  // A group (tests/groups.js) is one jest test file: its row is split into one per member, each with
  // the tests under the member's describe (named after its path) and the figures the member logged.
  const members = [...suiteCpu.values()].filter((l) => l.group);
  const groupFiles = new Set(members.map((l) => l.group!));
  const assertionsOf = (a: JestReport["testResults"][number]["assertionResults"]) => a.reduce((m, x) => m + (x.numPassingAsserts ?? 0), 0);
  const suites = r.testResults
    .flatMap((t) => {
      if (!groupFiles.has(t.name))
        return [
          {
            name: path.relative(ROOT, t.name),
            seconds: (t.endTime - t.startTime) / 1000,
            cpu: suiteCpu.get(t.name),
            tests: t.assertionResults.length,
            assertions: assertionsOf(t.assertionResults),
            status: t.status,
          },
        ];
      const group = path.basename(t.name, ".test.ts");
      return members
        .filter((m) => m.group === t.name)
        .map((m) => {
          const rel = path.relative(ROOT, m.testPath);
          const own = t.assertionResults.filter((a) => a.ancestorTitles?.[0] === rel);
          return {
            name: `${rel} [${group}]`,
            seconds: m.seconds ?? 0,
            cpu: m,
            tests: own.length,
            assertions: assertionsOf(own),
            // Its own tests' status; the group's when it has none (e.g. the group failed to load).
            status: own.some((a) => a.status === "failed") ? "failed" : own.length ? "passed" : t.status,
          };
        });
    })
    .sort((a, b) => b.seconds - a.seconds);
  // What each group spent beyond its members' own figures: its environment, and the modules its
  // first members loaded for the rest (counted in the member that loaded them), so mostly setup.
  const groupOverhead = [...groupFiles].map((g) => {
    const whole = suiteCpu.get(g);
    const own = members.filter((m) => m.group === g).reduce((n, m) => n + m.cpu, 0);
    return `${path.basename(g, ".test.ts")} ${whole ? (whole.cpu - own).toFixed(1) : "-"} s`;
  });
  // Assertions: every expect() that passed (jest counts them per test as numPassingAsserts): the
  // figure that shows no assertion was dropped to make the suite faster.
  const assertions = r.testResults.reduce((n, t) => n + t.assertionResults.reduce((m, a) => m + (a.numPassingAsserts ?? 0), 0), 0);
  const load = (l: number[]) => l.map((x) => x.toFixed(2)).join(" ");
  const cpu = cpuBefore !== undefined && cpuAfter !== undefined ? `${(cpuAfter - cpuBefore).toFixed(1)} s CPU (jest and the processes it waited for), ` : "";
  console.log(`npm test: ${wallS.toFixed(1)} s wall (goal < 60 s), ${cpu}load average ${load(loadBefore)} before, ${load(loadAfter)} after (${os.cpus().length} cores)`);
  console.log(`${r.numTotalTests} tests, ${r.numPassedTests} passed, ${r.numFailedTests} failed, ${assertions} passing assertions, exit ${child.status}`);
  // CPU: the suite's worker from the test file's imports to its last afterAll, and (+) the child
  // processes it waited for (PostgreSQL's detached server excluded); "-" when not logged.
  const cpuText = (c?: { cpu: number; childrenCpu: number }) => (c ? `${c.cpu.toFixed(1)} + ${c.childrenCpu.toFixed(1)}` : "-");
  console.log("suite                                            tests  asserts   seconds  CPU s (worker + children)  status");
  for (const s of suites) {
    console.log(
      `${s.name.padEnd(48)} ${String(s.tests).padStart(5)}  ${String(s.assertions).padStart(7)}  ${s.seconds.toFixed(1).padStart(8)}  ${cpuText(s.cpu).padStart(25)}  ${s.status}`,
    );
  }
  for (const t of r.testResults.filter((t) => t.status !== "passed")) {
    const failed = t.assertionResults.filter((a) => a.status === "failed").map((a) => a.fullName);
    console.log(`FAILED in ${path.relative(ROOT, t.name)}: ${failed.length ? failed.join("; ") : (t.message.split("\n").find((l) => l.trim()) ?? "(no message)")}`);
  }
  if (groupOverhead.length) console.log(`groups' own CPU beyond their members' (environment setup, in the sum below): ${groupOverhead.join(", ")}`);
  const logged = suites.filter((s) => s.cpu);
  // Workers' CPU: every test file's as its environment logged it (a group's whole, not its members').
  const fileCpu = r.testResults.map((t) => suiteCpu.get(t.name)).filter((c): c is SuiteCpu => c !== undefined);
  console.log(
    `sum of suite times ${suites.reduce((a, s) => a + s.seconds, 0).toFixed(1)} s over ${suites.length} suites (suites run on ${os.cpus().length} cores, in parallel workers); ` +
      `sum of suite CPU ${fileCpu.reduce((a, c) => a + c.cpu, 0).toFixed(1)} s in workers + ${fileCpu.reduce((a, c) => a + c.childrenCpu, 0).toFixed(1)} s in child processes ` +
      `(${logged.length} suites logged, ${members.length} of them in ${groupFiles.size} groups of one jest test file each)`,
  );
}

async function main() {
  const parsed = parseCommandLine("bench", USAGE, process.argv.slice(2), { runs: { type: "string" }, tests: { type: "boolean" }, tenants: { type: "boolean" } });
  if (!parsed) {
    console.log(HELP);
    return;
  }
  if (parsed.values.runs !== undefined) {
    RUNS = Number(parsed.values.runs);
    if (!Number.isInteger(RUNS) || RUNS < 1) throw new UsageError(`bench: --runs must be a whole number >= 1, got ${parsed.values.runs}; usage: ${USAGE}`);
  }
  if (parsed.values.tests) {
    testsBench();
    return;
  }
  planBench(parsed.values.tenants ?? false);
  if (parsed.values.tenants) return;

  const samplerBench = path.join(__dirname, `bench-sample${path.extname(__filename)}`);
  if (fs.existsSync(samplerBench) && fs.existsSync("/usr/lib/postgresql")) {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { benchSampling, formatBench } = require(samplerBench);
    console.log(`\n${formatBench(await benchSampling())}`);
    console.log(loadAverage());
  } else {
    console.log("\nsampler: skipped (PostgreSQL server binaries not installed)");
  }
}

main().catch((err) => {
  console.error(err.message ?? err);
  void exitWhenFlushed(1);
});
