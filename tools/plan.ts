// npm run plan -- -s <stack> [--config <path to Pulumi.<stack>.yaml>] [--policy-pack-config <file.json>] [--json]
// Offline: no Pulumi CLI, no credentials, no network. Exit 1 on a config error or a mandatory
// policy violation, 0 otherwise.
import { describeFailure, isUserError, parentName, planStack, readPolicyConfig } from "./planner";
import { formatViolation } from "../policy/offline";
import { SecretValue } from "../tests/harness";
import { exitWhenFlushed } from "./exit";

interface Args {
  stack?: string;
  config?: string;
  policyConfig?: string;
  json: boolean;
}

function parseArgs(argv: string[]): Args {
  const args: Args = { json: false };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === "-s" || arg === "--stack") args.stack = argv[++i];
    else if (arg.startsWith("--stack=")) args.stack = arg.slice("--stack=".length);
    else if (arg === "--config") args.config = argv[++i];
    else if (arg.startsWith("--config=")) args.config = arg.slice("--config=".length);
    else if (arg === "--policy-pack-config") args.policyConfig = argv[++i];
    else if (arg.startsWith("--policy-pack-config=")) args.policyConfig = arg.slice("--policy-pack-config=".length);
    else if (arg === "--json") args.json = true;
    else throw new Error(`unknown argument "${arg}"; usage: npm run plan -- -s <stack> [--config <Pulumi.<stack>.yaml>] [--policy-pack-config <file.json>] [--json]`);
  }
  if (!args.stack) throw new Error("missing -s <stack>; usage: npm run plan -- -s <stack> [--config <Pulumi.<stack>.yaml>] [--policy-pack-config <file.json>] [--json]");
  return args;
}

/** Thrown to end main() after an error message was written. */
class Failed extends Error {}

function fail(message: string): never {
  process.stderr.write(`${message}\n`);
  throw new Failed(message);
}

async function main(): Promise<number> {
  let args: Args;
  try {
    args = parseArgs(process.argv.slice(2));
  } catch (err) {
    fail((err as Error).message);
  }
  // Errors inside the program's applies surface asynchronously: report them like any other.
  process.on("unhandledRejection", (err) => {
    process.stderr.write(`${describeFailure(err)}\n`);
    void exitWhenFlushed(1);
  });

  let plan;
  try {
    plan = await planStack({ stack: args.stack!, stackFile: args.config, policyConfig: args.policyConfig ? readPolicyConfig(args.policyConfig) : undefined });
  } catch (err) {
    if (!isUserError(err) && process.env.TWINSTACK_DEBUG) console.error(err);
    fail(describeFailure(err));
  }

  const mandatory = plan.violations.filter((v) => v.enforcementLevel === "mandatory");
  if (args.json) {
    const json = {
      stack: plan.stack,
      stackFile: plan.stackFile,
      resources: plan.resources.map((r) => ({ type: r.type, name: r.name, parent: parentName(plan.resources, r.parent) || undefined, inputs: r.inputs })),
      outputs: plan.outputs,
      violations: plan.violations,
    };
    // SecretValue serialises as "[secret]".
    process.stdout.write(`${JSON.stringify(json, (_k, v) => (v instanceof SecretValue ? "[secret]" : v), 2)}\n`);
  } else {
    const rows = plan.resources.map((r) => [r.type, r.name, parentName(plan.resources, r.parent)]);
    const widths = [0, 1].map((i) => Math.max(...rows.map((row) => row[i].length), 4));
    console.log(`Plan of stack "${plan.stack}" (${plan.stackFile}):`);
    console.log(`${"TYPE".padEnd(widths[0])}  ${"NAME".padEnd(widths[1])}  PARENT`);
    for (const [type, name, parent] of rows) console.log(`${type.padEnd(widths[0])}  ${name.padEnd(widths[1])}  ${parent}`);
    console.log(`${plan.resources.length} resources`);
    if (plan.violations.length) {
      console.log("\nPolicy violations:");
      for (const v of plan.violations) console.log(`  ${formatViolation(v)}`);
    }
    console.log(`\n${mandatory.length} mandatory and ${plan.violations.length - mandatory.length} advisory policy violations`);
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
    if (!(err instanceof Failed)) process.stderr.write(`${describeFailure(err)}\n`);
    return exitWhenFlushed(1);
  },
);
