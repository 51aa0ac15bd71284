// npm run plan -- -s <stack> [--config <path to Pulumi.<stack>.yaml>] [--policy-pack-config <file.json>] [--json] (--help for more)
// Offline: no Pulumi CLI, no credentials, no network. Exit 1 on a config error or a mandatory
// policy violation, 0 otherwise.
// First import, before anything loads the SDK: defers what only its function serialization uses.
import "./harness/deferSdkModules";
import * as fs from "fs";
import * as path from "path";
import type { StackPlan } from "./planner";
import type { PlanDiff } from "./planDiff";
import { formatGroup, groupViolations } from "../policy/summary";
// The planner, the diff and the harness load the Pulumi SDK and the program (~1.5 s of CPU): they are
// required once the command line parsed (loadPlanner), so --help and usage errors answer without them.
let { describeFailure, isUserError, parentName, PlanError, planStack, readPolicyConfig } = {} as typeof import("./planner");
let { diffPlans, formatDiff, readPlanJson, stackFileAtRef, toDiffResource } = {} as typeof import("./planDiff");
let { SecretValue } = {} as typeof import("./harness");
function loadPlanner(): void {
  /* eslint-disable @typescript-eslint/no-require-imports */
  ({ describeFailure, isUserError, parentName, PlanError, planStack, readPolicyConfig } = require("./planner") as typeof import("./planner"));
  ({ diffPlans, formatDiff, readPlanJson, stackFileAtRef, toDiffResource } = require("./planDiff") as typeof import("./planDiff"));
  ({ SecretValue } = require("./harness") as typeof import("./harness"));
  /* eslint-enable @typescript-eslint/no-require-imports */
}
import { checkStackName, fromCaller, parseCommandLine, UsageError } from "./cli";
import { exitWhenFlushed } from "./exit";

interface Args {
  stack?: string;
  config?: string;
  policyConfig?: string;
  json: boolean;
  /** A plan JSON file or a git ref to diff against. */
  against?: string;
}

const USAGE = "npm run plan -- -s <stack> [--config <Pulumi.<stack>.yaml>] [--policy-pack-config <file.json>] [--json] [--against <git ref | plan.json>]";
const HELP = `usage: ${USAGE}
       (or: npx twinstack plan -s <stack> ...; stdout then carries only the plan, e.g. the JSON with --json)
Evaluates the program offline for one stack's config (no Pulumi CLI, credentials or network), lists
every resource it declares and runs the policy pack over them. Exit 1 on a config error or a
mandatory policy violation, 0 otherwise.
  -s, --stack <name>           prod, dev, preview-<slug>, or any stack with a Pulumi.<name>.yaml
                               (a Pulumi stack name: letters, digits, "-", "_", ".")
  --config <file>              the stack file (default: Pulumi.<stack>.yaml in the project root);
                               a relative path is taken from the directory you run the command in
  --policy-pack-config <file>  policy settings, the file pulumi preview --policy-pack-config takes:
                               {"<policy>" | "all": "<level>" | {"enforcementLevel": ..., <key>: <value>}}
  --json                       print the plan as JSON (type, name, parent, inputs; secrets as "[secret]")
  --against <ref | file.json>  also list what changed since a git ref's stack files (e.g. origin/main)
                               or since a saved plan --json of the same stack: resources added, removed, and changed
                               with the inputs that differ (secrets masked; "diff" in --json)
  -h, --help                   this help`;

/** The parsed command line, or undefined when --help was asked for. */
function parseArgs(argv: string[]): Args | undefined {
  const parsed = parseCommandLine("plan", USAGE, argv, {
    stack: { type: "string", short: "s" },
    config: { type: "string" },
    "policy-pack-config": { type: "string" },
    json: { type: "boolean" },
    against: { type: "string" },
  });
  if (!parsed) return undefined;
  const { values } = parsed;
  if (!values.stack) throw new UsageError(`plan: missing -s <stack>; usage: ${USAGE}`);
  checkStackName("plan", USAGE, values.stack);
  return {
    stack: values.stack,
    config: values.config === undefined ? undefined : fromCaller("plan", values.config),
    policyConfig: values["policy-pack-config"] === undefined ? undefined : fromCaller("plan", values["policy-pack-config"]),
    json: values.json ?? false,
    against: values.against === undefined ? undefined : againstOf(values.against, values.stack),
  };
}

/**
 * `--against` as given, after checking that a saved plan (a file) is one of `stack`: a plan JSON
 * whose "stack" names another stack is a UsageError naming both (diffing two stacks' plans is no
 * change of one). A file that is no plan JSON is left to readPlanJson to report.
 */
function againstOf(against: string, stack: string): string {
  const file = fromCaller("plan", against);
  if (!fs.existsSync(file) || !fs.statSync(file).isFile()) return against;
  let saved: unknown;
  try {
    saved = (JSON.parse(fs.readFileSync(file, "utf8")) as { stack?: unknown } | null)?.stack;
  } catch {
    return against;
  }
  if (typeof saved === "string" && saved !== stack) {
    throw new UsageError(`plan: --against ${against} is a saved plan of stack "${saved}", not of -s ${stack}: diff against a plan --json of stack "${stack}"; usage: ${USAGE}`);
  }
  return against;
}

/** Thrown to end main() after an error message was written. */
class Failed extends Error {}

function fail(message: string): never {
  process.stderr.write(`${message}\n`);
  throw new Failed(message);
}

/** The resources of the plan to compare with: a saved plan JSON, or this stack's files at a git ref. */
async function diffAgainst(against: string, plan: StackPlan, args: Args): Promise<PlanDiff> {
  const now = plan.resources.map((r) => toDiffResource(r, parentName(plan.resources, r.parent)));
  const file = fromCaller("plan", against);
  if (fs.existsSync(file) && fs.statSync(file).isFile()) return diffPlans(readPlanJson(file), now);
  const copy = stackFileAtRef(plan.stackFile, against);
  try {
    // The same stack files at the ref as today: the plan there is this plan (the code is today's in both).
    if (copy.unchanged) return diffPlans(now, now);
    let before: StackPlan;
    try {
      before = await planStack({ stack: args.stack!, stackFile: copy.file, runPolicyPack: false });
    } catch (err) {
      if (!isUserError(err)) throw err;
      // The files at the ref are planned from a temporary copy: name them as `<ref>:<dir>/<file>`.
      const copyDir = path.dirname(copy.file);
      let message = describeFailure(err);
      // The relative form first: the absolute one is a part of it.
      for (const form of [path.relative(process.cwd(), copyDir), copyDir]) message = message.split(`${form}${path.sep}`).join(copy.dirAtRef);
      throw new PlanError(`--against ${against}: the stack's files at ${against} do not plan: ${message}`);
    }
    return diffPlans(
      before.resources.map((r) => toDiffResource(r, parentName(before.resources, r.parent))),
      now,
    );
  } finally {
    copy.cleanup();
  }
}

async function main(): Promise<number> {
  let args: Args;
  try {
    const parsed = parseArgs(process.argv.slice(2));
    if (!parsed) {
      process.stdout.write(`${HELP}\n`);
      return 0;
    }
    args = parsed;
  } catch (err) {
    fail((err as Error).message);
  }
  // A stack file the plan would refuse before declaring anything is refused here, with the same
  // message and exit code, without loading the SDK (tools/preflight.ts); the plan below repeats the
  // checks. Anything else preflight throws is left to the plan to report as it always has.
  // Required here, not imported: --help and usage errors answer without loading the model (zod, YAML).
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { isPreflightError, preflightStack, readPolicyConfig: readPolicyConfigEarly } = require("./preflight") as typeof import("./preflight");
  try {
    if (args.policyConfig) readPolicyConfigEarly(args.policyConfig);
    preflightStack({ stack: args.stack!, stackFile: args.config, requireStackFile: args.config !== undefined });
  } catch (err) {
    if (isPreflightError(err)) fail(err.message);
  }
  loadPlanner();
  // Errors inside the program's applies surface asynchronously: report them like any other.
  process.on("unhandledRejection", (err) => {
    process.stderr.write(`${describeFailure(err)}\n`);
    void exitWhenFlushed(1);
  });

  let plan;
  try {
    plan = await planStack({
      stack: args.stack!,
      stackFile: args.config,
      requireStackFile: args.config !== undefined,
      policyConfig: args.policyConfig ? readPolicyConfig(args.policyConfig) : undefined,
    });
  } catch (err) {
    if (!isUserError(err) && process.env.TWINSTACK_DEBUG) console.error(err);
    fail(describeFailure(err));
  }

  let diff: PlanDiff | undefined;
  if (args.against !== undefined) {
    try {
      diff = await diffAgainst(args.against, plan, args);
    } catch (err) {
      fail(describeFailure(err));
    }
  }

  const mandatory = plan.violations.filter((v) => v.enforcementLevel === "mandatory");
  if (args.json) {
    const json = {
      stack: plan.stack,
      stackFile: plan.stackFile,
      resources: plan.resources.map((r) => toDiffResource(r, parentName(plan.resources, r.parent))),
      outputs: plan.outputs,
      violations: plan.violations,
      ...(diff ? { diff } : {}),
    };
    // SecretValue serialises as "[secret]".
    process.stdout.write(`${JSON.stringify(json, (_k, v) => (v instanceof SecretValue ? "[secret]" : v), 2)}\n`);
  } else {
    const rows = plan.resources.map((r) => [r.type, r.name, parentName(plan.resources, r.parent)]);
    const widths = [0, 1].map((i) => Math.max(...rows.map((row) => row[i].length), 4));
    // A preview stack needs no stack file: its settings follow from its name and the dev stack.
    const source = fs.existsSync(plan.stackFile) ? plan.stackFile : `no stack file: ${plan.stackFile} does not exist, a preview stack needs none`;
    console.log(`Plan of stack "${plan.stack}" (${source}):`);
    console.log(`${"TYPE".padEnd(widths[0])}  ${"NAME".padEnd(widths[1])}  PARENT`);
    for (const [type, name, parent] of rows) console.log(`${type.padEnd(widths[0])}  ${name.padEnd(widths[1])}  ${parent}`);
    console.log(`${plan.resources.length} resources`);
    if (plan.violations.length) {
      console.log("\nPolicy violations:");
      // One line per cause (policy/summary.ts); --json keeps every violation as reported.
      for (const g of groupViolations(plan.violations)) console.log(`  ${formatGroup(g)}`);
    }
    if (diff) console.log(`\n${formatDiff(diff, args.against!)}`);
    const causes = groupViolations(plan.violations).length;
    console.log(
      `\n${mandatory.length} mandatory and ${plan.violations.length - mandatory.length} advisory policy violations` +
        (causes < plan.violations.length ? ` (${causes} cause${causes === 1 ? "" : "s"}, one line each above; --json lists every one)` : ""),
    );
  }
  if (process.env.TWINSTACK_PLAN_STATS) {
    process.stderr.write(`TWINSTACK_PLAN_STATS ${JSON.stringify({ maxRssKb: process.resourceUsage().maxRSS })}\n`);
  }
  return mandatory.length ? 1 : 0;
}

// Exit only once stdout is flushed: a >64 KiB plan JSON piped into a slow reader arrives whole.
main().then(
  (code) => exitWhenFlushed(code),
  (err) => {
    if (!(err instanceof Failed)) process.stderr.write(`${describeFailure ? describeFailure(err) : String(err)}\n`);
    return exitWhenFlushed(1);
  },
);
