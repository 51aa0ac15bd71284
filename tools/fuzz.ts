// npm run fuzz -- [--count N] [--seed S] [--timeout-ms T] [--verbose]
// Mutates every stack file of the repo (Pulumi.*.yaml at the root and in examples/*), plans each
// mutant as a user would (the offline plan, policies included) and sorts the outcomes:
//   accepted          the plan passed (an "obviously bad" mutation accepted is counted apart)
//   rejected well     one line per problem naming the stack file and a twinstack: key, nothing
//                     declared before a config error, no stack trace, no secret in the text
//   rejected poorly   any other failure
//   timeouts          no answer within the timeout
// Exit 1 when anything was rejected poorly or obviously bad was accepted.
import { ChildProcess, spawn } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { parseCommandLine, UsageError } from "./cli";
import { exitWhenFlushed } from "./exit";
import type { FuzzAnswer, FuzzJob } from "./fuzzWorker";

// The project root from tools/build.js (a link in dist/ resolves to the source): the same whether
// this runs compiled (npm run fuzz: dist/tools/fuzz.js) or from TypeScript.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { ROOT: root } = require("./build.js") as { ROOT: string };

interface Options {
  count: number;
  seed: number;
  timeoutMs: number;
  verbose: boolean;
}

const USAGE = "npm run fuzz -- [--count N] [--seed S] [--timeout-ms T] [--verbose]";
const HELP = `usage: ${USAGE}
Mutates every stack file of the repo (Pulumi.*.yaml at the root and in examples/*), plans each
mutant offline as a user would (policies included) and prints how many were accepted, obviously
bad but accepted, rejected well, rejected poorly, or timed out. Exit 1 when anything was obviously
bad but accepted, rejected poorly or timed out, 0 otherwise.
  --count <n>        mutants to plan (default 200), spread over the stack files in turn
  --seed <s>         seed of the mutations (default 14): a run is reproducible from it
  --timeout-ms <t>   how long one plan may take before it counts as a timeout (default 60000)
  --verbose          one line per mutant on stderr as it is planned
  -h, --help         this help`;

/** A whole number >= min from the flag's text, else a UsageError naming the flag. */
function wholeNumber(flag: string, text: string | undefined, fallback: number, min: number): number {
  if (text === undefined) return fallback;
  const n = Number(text);
  if (!/^\s*-?\d+\s*$/.test(text) || !Number.isSafeInteger(n) || n < min) throw new UsageError(`fuzz: --${flag} must be a whole number >= ${min}, got ${text}; usage: ${USAGE}`);
  return n;
}

/** The parsed command line, or undefined when --help was asked for. */
export function parseOptions(argv: string[]): Options | undefined {
  const parsed = parseCommandLine("fuzz", USAGE, argv, {
    count: { type: "string" },
    seed: { type: "string" },
    "timeout-ms": { type: "string" },
    verbose: { type: "boolean" },
  });
  if (!parsed) return undefined;
  const { values } = parsed;
  return {
    count: wholeNumber("count", values.count, 200, 1),
    seed: wholeNumber("seed", values.seed, 14, 0),
    timeoutMs: wholeNumber("timeout-ms", values["timeout-ms"], 60000, 1),
    verbose: values.verbose ?? false,
  };
}

/** mulberry32: a small seeded generator, so a run is reproducible from its seed. */
function rng(seed: number) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return { next, int: (n: number) => Math.floor(next() * n), pick: <T>(xs: T[]): T => xs[Math.floor(next() * xs.length)] };
}
type Rng = ReturnType<typeof rng>;

export function stackFiles(): string[] {
  const dirs = [root, ...fs.readdirSync(path.join(root, "examples")).map((d) => path.join(root, "examples", d))];
  return dirs.flatMap((d) =>
    fs
      .readdirSync(d)
      .filter((f) => /^Pulumi\.[^.]+\.yaml$/.test(f))
      .sort()
      .map((f) => path.join(d, f)),
  );
}

type Doc = Record<string, unknown>;
interface Mutation {
  description: string;
  /** An input any reader would call wrong: the plan must reject it. */
  obviouslyBad: boolean;
  apply(config: Doc): boolean;
}

/** Every (parent, key) leaf path under config, for picking a value to change. */
function leaves(value: unknown, at: (string | number)[] = []): (string | number)[][] {
  if (Array.isArray(value)) return value.flatMap((v, i) => leaves(v, [...at, i]));
  if (value && typeof value === "object") {
    if ("secure" in (value as object)) return [at];
    return Object.entries(value as object).flatMap(([k, v]) => leaves(v, [...at, k]));
  }
  return [at];
}
function getAt(doc: unknown, p: (string | number)[]): unknown {
  return p.reduce<unknown>((v, k) => (v as Record<string | number, unknown> | undefined)?.[k], doc);
}
function setAt(doc: unknown, p: (string | number)[], value: unknown) {
  const parent = getAt(doc, p.slice(0, -1)) as Record<string | number, unknown>;
  parent[p[p.length - 1]] = value;
}
const key = (p: (string | number)[]) => p.map(String).join(".");
/** Free text: env values, commands and labels may hold anything. */
const FREE_TEXT = /^twinstack:app\.(env|command|workers\.\d+\.command)|\.labels\.|twinstack:hosts\.\d+\.labels/;
const NUMERIC_BAD = [1e20, -5, 2_000_000, 1.5];
const TEXT_BAD = ["\n}", "{$HOME}", " defer ", "a,b", 'x" y', "../../etc"];

function mutations(r: Rng, env: string, appName: string): Mutation[] {
  const leafMutation = (obviouslyBad: boolean, describe: string, pick: (p: (string | number)[], v: unknown) => unknown): Mutation => ({
    description: describe,
    obviouslyBad,
    apply(config) {
      const candidates = leaves(config).filter((p) => p.length > 1 || typeof getAt(config, p) !== "object");
      const typed = candidates.filter((p) => pick(p, getAt(config, p)) !== undefined);
      if (!typed.length) return false;
      const p = r.pick(typed);
      const v = pick(p, getAt(config, p));
      setAt(config, p, v);
      this.description = `${describe} at ${key(p)} = ${JSON.stringify(v)}`;
      return true;
    },
  });
  return [
    leafMutation(true, "number out of range", (p, v) =>
      typeof v === "number" && !/routerId|share/.test(key(p)) ? r.pick(NUMERIC_BAD.filter((n) => !(n === 1.5 && /cpus/.test(key(p))))) : undefined,
    ),
    leafMutation(true, "structure characters in a name or address", (p, v) =>
      typeof v === "string" && !FREE_TEXT.test(key(p)) && !/secretEnv|Key$|image$|template$|prefix$|healthPath|dataPath|hostPath|description/.test(key(p))
        ? `${v}${r.pick(TEXT_BAD)}`
        : undefined,
    ),
    leafMutation(false, "a string emptied", (_p, v) => (typeof v === "string" ? "" : undefined)),
    leafMutation(false, "a boolean flipped", (_p, v) => (typeof v === "boolean" ? !v : undefined)),
    leafMutation(false, "a value made secure", (p, v) => (typeof v === "string" && p.length > 1 ? { secure: "v1:fuzz" } : undefined)),
    {
      description: "an array element duplicated",
      obviouslyBad: true,
      apply(config) {
        const arrays = [
          "twinstack:app.workers",
          "twinstack:mqtt.devices",
          "twinstack:tenants",
          "twinstack:hosts",
          "twinstack:postgres.extensions",
          "twinstack:domains",
          "twinstack:proxy.basicAuth",
        ]
          .map((k) => k.split("."))
          .filter((p) => Array.isArray(getAt(config, p)) && (getAt(config, p) as unknown[]).length > 0);
        if (!arrays.length) return false;
        const p = r.pick(arrays);
        const list = getAt(config, p) as unknown[];
        list.push(structuredClone(r.pick(list)));
        this.description = `duplicate element in ${key(p)}`;
        return true;
      },
    },
    {
      description: "a generated env var set in app.env",
      obviouslyBad: true,
      apply(config) {
        const app = config["twinstack:app"] as Doc | undefined;
        if (!app) return false;
        const name = r.pick(["APP_ENV", "PORT", "DATABASE_URL", "REDIS_PREFIX", "SESSION_SECRET", "FEATURE_X", "DATA_DIR"]);
        app.env = { ...((app.env as Doc) ?? {}), [name]: "prod" };
        this.description = `app.env.${name} = "prod"`;
        return true;
      },
    },
    {
      description: "a non-prod stack naming prod's things",
      obviouslyBad: env !== "prod",
      apply(config) {
        const which = r.pick(["network", "template", "prefix"]);
        if (which === "prefix") config["twinstack:redis"] = { ...((config["twinstack:redis"] as Doc) ?? {}), mode: "dedicated", prefix: "prod:" };
        else {
          const pg = (config["twinstack:postgres"] as Doc) ?? {};
          config["twinstack:postgres"] = { ...pg, [which]: which === "network" ? `${appName}-prod-net` : `${appName.replace(/-/g, "_")}_prod` };
        }
        this.description = `${which} of prod in a ${env} stack`;
        return true;
      },
    },
    {
      description: "a proxy header named defer",
      obviouslyBad: true,
      apply(config) {
        const proxy = (config["twinstack:proxy"] as Doc) ?? {};
        config["twinstack:proxy"] = { ...proxy, headers: { ...((proxy.headers as Doc) ?? {}), [r.pick(["defer", "match", "X-A b"])]: "1" } };
        return true;
      },
    },
    {
      description: "a key deleted",
      obviouslyBad: false,
      apply(config) {
        const candidates = leaves(config).filter((p) => p.length > 1);
        if (!candidates.length) return false;
        const p = r.pick(candidates);
        const parent = getAt(config, p.slice(0, -1));
        if (Array.isArray(parent)) parent.splice(Number(p[p.length - 1]), 1);
        else delete (parent as Doc)[p[p.length - 1]];
        this.description = `deleted ${key(p)}`;
        return true;
      },
    },
  ];
}

interface Outcome {
  kind: "accepted" | "bad-accepted" | "rejected-well" | "rejected-poorly" | "timeout";
  file: string;
  mutation: string;
  message: string;
}

/** Whether a rejection reads as the README promises. */
export function rejectedWell(answer: FuzzAnswer, file: string): boolean {
  // Required here, not imported: --help and usage errors answer without loading the model (zod, YAML).
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { SECRET_PLACEHOLDER } = require("../model/stackFile") as typeof import("../model/stackFile");
  if (answer.stackTrace || answer.message.includes(SECRET_PLACEHOLDER) || answer.message.includes("v1:fuzz")) return false;
  if (answer.mandatory > 0) return answer.message.length > 0;
  const lines = answer.message.split("\n").filter(Boolean);
  const base = path.basename(file).replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  const named = new RegExp(`^\\S*${base}: (twinstack:.+?: |config: |not valid YAML)`);
  return answer.declared === 0 && lines.length > 0 && lines.every((l) => named.test(l));
}

class Pool {
  private child?: ChildProcess;
  private ready?: Promise<void>;
  start() {
    // The worker beside this file: compiled JavaScript under node when this runs compiled, else through ts-node.
    const worker =
      path.extname(__filename) === ".js" ? [path.join(__dirname, "fuzzWorker.js")] : [require.resolve("ts-node/dist/bin"), "--swc", path.join(__dirname, "fuzzWorker.ts")];
    const child = spawn(process.execPath, worker, { cwd: root, stdio: ["ignore", "ignore", "pipe", "ipc"] });
    child.stderr?.resume();
    this.child = child;
    this.ready = new Promise((resolve) => child.once("message", () => resolve()));
  }
  async run(job: FuzzJob, timeoutMs: number): Promise<FuzzAnswer | "timeout"> {
    if (!this.child) this.start();
    await this.ready;
    const child = this.child!;
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        child.removeListener("message", onMessage);
        child.kill("SIGKILL");
        this.child = undefined;
        resolve("timeout");
      }, timeoutMs);
      const onMessage = (m: FuzzAnswer) => {
        if (m.id !== job.id) return;
        clearTimeout(timer);
        child.removeListener("message", onMessage);
        resolve(m);
      };
      child.on("message", onMessage);
      child.send(job);
    });
  }
  stop() {
    this.child?.kill();
  }
}

async function main(): Promise<number> {
  const o = parseOptions(process.argv.slice(2));
  if (!o) {
    process.stdout.write(`${HELP}\n`);
    return 0;
  }
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const YAML = require("yaml") as typeof import("yaml");
  const r = rng(o.seed);
  const files = stackFiles();
  const work = fs.mkdtempSync(path.join(os.tmpdir(), "twinstack-fuzz-"));
  const pool = new Pool();
  const outcomes: Outcome[] = [];
  for (let i = 0; i < o.count; i++) {
    const original = files[i % files.length];
    const doc = YAML.parse(fs.readFileSync(original, "utf8"));
    const config: Doc = doc.config ?? {};
    const env = String(config["twinstack:env"] ?? "preview");
    const appName = String((config["twinstack:app"] as Doc | undefined)?.name ?? "app");
    const choices = mutations(r, env, appName);
    let mutation = r.pick(choices);
    for (let tries = 0; tries < 20 && !mutation.apply(config); tries++) mutation = r.pick(choices);
    // The mutant sits beside copies of its siblings: policies compare stacks, a preview reads dev.
    const dir = path.join(work, String(i));
    fs.mkdirSync(dir);
    for (const f of fs.readdirSync(path.dirname(original))) if (/^Pulumi\.[^.]+\.yaml$/.test(f)) fs.copyFileSync(path.join(path.dirname(original), f), path.join(dir, f));
    const stackFile = path.join(dir, path.basename(original));
    fs.writeFileSync(stackFile, YAML.stringify(doc));
    const stack = path.basename(original).replace(/^Pulumi\.(.+)\.yaml$/, "$1");
    const answer = await pool.run({ id: i, stack, stackFile, projectDir: dir }, o.timeoutMs);
    const rel = path.relative(root, original);
    const outcome: Outcome =
      answer === "timeout"
        ? { kind: "timeout", file: rel, mutation: mutation.description, message: "" }
        : answer.ok
          ? { kind: mutation.obviouslyBad ? "bad-accepted" : "accepted", file: rel, mutation: mutation.description, message: "" }
          : {
              kind: rejectedWell(answer, stackFile) ? "rejected-well" : "rejected-poorly",
              file: rel,
              mutation: mutation.description,
              message: `${answer.message} (declared ${answer.declared})`,
            };
    outcomes.push(outcome);
    if (o.verbose) process.stderr.write(`${i} ${outcome.kind} ${rel}: ${outcome.mutation}\n`);
  }
  pool.stop();
  fs.rmSync(work, { recursive: true, force: true });

  const count = (k: Outcome["kind"]) => outcomes.filter((x) => x.kind === k).length;
  console.log(`fuzz: ${o.count} mutants of ${files.length} stack files (seed ${o.seed})`);
  console.log(`  accepted:                    ${count("accepted")}`);
  console.log(`  obviously bad but accepted:  ${count("bad-accepted")}`);
  console.log(`  rejected well:               ${count("rejected-well")}`);
  console.log(`  rejected poorly:             ${count("rejected-poorly")}`);
  console.log(`  timeouts:                    ${count("timeout")}`);
  for (const x of outcomes.filter((y) => y.kind === "bad-accepted" || y.kind === "rejected-poorly" || y.kind === "timeout")) {
    console.log(`\n${x.kind}: ${x.file}: ${x.mutation}${x.message ? `\n  ${x.message.split("\n").join("\n  ")}` : ""}`);
  }
  return count("bad-accepted") + count("rejected-poorly") + count("timeout") > 0 ? 1 : 0;
}

if (require.main === module) {
  main().then(
    (code) => exitWhenFlushed(code),
    (err) => {
      // A UsageError already reads "fuzz: <problem>; usage: ...".
      process.stderr.write(`${err instanceof UsageError ? "" : "fuzz: "}${(err as Error).message}\n`);
      return exitWhenFlushed(1);
    },
  );
}
