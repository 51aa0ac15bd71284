// The offline plan: evaluates the real program (stacks/runStack, what index.ts runs) for one stack's
// config under the shared mocks harness, then runs the policy pack's policies over what it declared.
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { PlanResult, PlannedResource, planProgram, revealSecrets } from "./harness";
import { memoPlan } from "./harness/planMemo";
import { ConfigError } from "../stacks/config";
import { runStack } from "../stacks";
import { readStackConfig, StackFileError } from "../model/stackFile";
import { Violation, runPolicies } from "../policy/offline";
import { findInvariant } from "../components/render/invariant";
import { devStackOf, PlanError, shownPath } from "./preflight";

// SDK-free (tools/preflight.ts): the plan CLI checks the config with them before it loads this module.
export { PlanError, readPolicyConfig } from "./preflight";

export interface StackPlan extends PlanResult {
  stack: string;
  stackFile: string;
  violations: Violation[];
}

/** The stack file of the plan last started (as shown in messages), for errors that surface later. */
let plannedFile: string | undefined;

function userMessage(err: unknown): string | undefined {
  if (err instanceof ConfigError || err instanceof StackFileError || err instanceof PlanError) return err.message;
  // The SDK prefixes the message of an error met while serializing a resource's or the stack's
  // inputs with each property's name (runtime/rpc.js serializeFilteredProperties); a RunError's own
  // message is the part the user needs.
  if (err instanceof pulumi.RunError) return err.message.replace(/^(error serializing property "[^"]*": )+/, "");
  const invariant = findInvariant(err);
  // A component's or renderer's own check (InvariantError): config validation should have caught
  // the value. One line naming the stack file, without a stack trace.
  if (invariant !== undefined) {
    return `${plannedFile ?? "the stack file"}: a check of the program failed that config validation should have caught (please report it): ${invariant}`;
  }
  return undefined;
}

export function describeFailure(err: unknown): string {
  return userMessage(err) ?? `error: ${(err as Error)?.message ?? String(err)}`;
}

export function isUserError(err: unknown): boolean {
  return userMessage(err) !== undefined;
}

/**
 * Plans `stack` from `stackFile` (default: Pulumi.<stack>.yaml in projectDir). A preview stack's
 * dev StackReference is answered with the dev stack's own planned outputs. A preview stack needs
 * no stack file of its own unless `requireStackFile` (the user named one: `plan --config`).
 */
export async function planStack(opts: {
  stack: string;
  stackFile?: string;
  projectDir?: string;
  runPolicyPack?: boolean;
  /** The stack file must exist, for a preview stack too (it was given on the command line). */
  requireStackFile?: boolean;
  /** Same shape as `pulumi preview --policy-pack-config`: { "<policy>": { key: value } }. */
  policyConfig?: Record<string, Record<string, unknown>>;
}): Promise<StackPlan> {
  const projectDir = opts.projectDir ?? process.cwd();
  const stackFile = opts.stackFile ?? path.join(projectDir, `Pulumi.${opts.stack}.yaml`);
  const fileConfig = readStackConfig(stackFile, { stack: opts.stack, mustExist: opts.requireStackFile });

  let stackOutputs: Record<string, Record<string, unknown>> | undefined;
  const devStack = devStackOf(opts.stack, stackFile, fileConfig);
  if (devStack) {
    const dev = await planStack({ stack: devStack.devName, stackFile: devStack.devFile, projectDir, runPolicyPack: false });
    stackOutputs = { [devStack.devStack]: revealSecrets(dev.outputs) as Record<string, unknown> };
  }

  plannedFile = shownPath(stackFile);
  const planOptions = {
    stack: opts.stack,
    config: fileConfig.engineConfig,
    secretKeys: fileConfig.engineSecretKeys,
    stackOutputs,
    sourceFile: path.relative(process.cwd(), stackFile) || stackFile,
  };
  // Under jest, a plan of the same program and inputs that another suite of the worker made is revived.
  const result = await memoPlan("runStack", planOptions, () => planProgram(runStack, planOptions));
  // The engine refuses a second resource with one URN (half-way through `pulumi up`): so does the plan.
  const urns = new Set<string>();
  for (const r of result.resources) {
    if (urns.has(r.urn)) throw new PlanError(`${path.relative(process.cwd(), stackFile) || stackFile}: the program declares ${r.urn} twice (duplicate resource name "${r.name}")`);
    urns.add(r.urn);
  }
  const violations = opts.runPolicyPack === false ? [] : runPolicies(result.resources, { stack: opts.stack, stackFile: path.resolve(stackFile), policyConfig: opts.policyConfig });
  return { ...result, stack: opts.stack, stackFile, violations };
}

/** Name by URN (the first resource of each URN), per resource list: parentName is asked once per resource. */
const namesByUrn = new WeakMap<PlannedResource[], { length: number; names: Map<string, string> }>();

/** The name of the resource `parentUrn` names in `resources`, else the URN's last part; "" without a parent. */
export function parentName(resources: PlannedResource[], parentUrn?: string): string {
  if (!parentUrn) return "";
  let index = namesByUrn.get(resources);
  if (!index || index.length !== resources.length) {
    const names = new Map<string, string>();
    for (const r of resources) if (!names.has(r.urn)) names.set(r.urn, r.name);
    index = { length: resources.length, names };
    namesByUrn.set(resources, index);
  }
  return index.names.get(parentUrn) ?? parentUrn.split("::").pop() ?? "";
}
