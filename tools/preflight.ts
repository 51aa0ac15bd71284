// The plan's config checks that need no Pulumi SDK, run by `npm run plan` before it loads the SDK
// and the program (~0.8 s of CPU, issue 17): a stack file the plan refuses is refused by this module
// with the very message and exit code the plan gives (the program validates the same values with
// the same model/config.ts code first thing), and a good one goes on to the full plan, which
// repeats these checks. Never imports @pulumi/*.
import * as fs from "fs";
import * as path from "path";
import type { EnforcementLevel } from "@pulumi/policy";
import { ConfigError, NAMESPACE, namespaceValues, parseStackConfig, previewStackBranch } from "../model/config";
import { readStackConfig, StackFileConfig, StackFileError } from "../model/stackFile";
import { branchFromStackName } from "../model/slug";
import { STACK_REFERENCE_RE } from "../model/validate";
import { readNamedFile } from "./cli";

/** A problem the user fixes in config: printed as-is, without a stack trace. */
export class PlanError extends Error {}

/**
 * The enforcement levels a policy pack config may set: the members of @pulumi/policy's
 * EnforcementLevel type (its policy.d.ts; https://www.pulumi.com/docs/iac/using-pulumi/crossguard/configuration/).
 */
export const ENFORCEMENT_LEVELS = ["advisory", "mandatory", "remediate", "disabled"] as const satisfies readonly EnforcementLevel[];
// Fails to compile when the SDK's EnforcementLevel gains a level the list above lacks.
const noLevelMissing: [Exclude<EnforcementLevel, (typeof ENFORCEMENT_LEVELS)[number]>] extends [never] ? true : never = true;
void noLevelMissing;

/**
 * Reads a `--policy-pack-config` JSON file, the file `pulumi preview --policy-pack-config` takes:
 * `{"<policy>": "<level>" | {"enforcementLevel"?: "<level>", <key>: <value>}, "all"?: ...}`
 * (https://www.pulumi.com/docs/iac/using-pulumi/crossguard/configuration/). A level given alone is
 * returned as `{ enforcementLevel: level }`. Errors (PlanError, one line naming the file): not
 * JSON, not an object (`<file>: no such policy pack config file` when it does not exist), a key
 * that names no policy of the pack (policy/policies.ts) nor "all", a
 * level that is none of ENFORCEMENT_LEVELS, a key the policy's `configSchema` does not declare
 * (only `enforcementLevel` for "all" and for a policy without one) or a value of another type than
 * the schema's (see {@link schemaProblem}), a key the schema requires missing. Types and required
 * keys are what the engine checks too: @pulumi/policy sends each policy's configSchema to it
 * (protoutil.js, makeAnalyzerInfo: `schema.setProperties(...configSchema.properties)`,
 * `setRequiredList`), and pulumi/pulumi pkg/resource/analyzer/config.go ReconcilePolicyPackConfig
 * validates the merged config against `{type: object, properties, required}` (gojsonschema). This is
 * stricter than the engine in two ways, on purpose (both are almost always typos): the engine skips
 * an entry whose policy the pack does not have, and a schema without `additionalProperties: false`
 * lets an undeclared key through there.
 */
export function readPolicyConfig(file: string): Record<string, Record<string, unknown>> {
  let text: string;
  try {
    text = readNamedFile(file, "policy pack config");
  } catch (err) {
    throw new PlanError((err as Error).message);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw new PlanError(`${file}: not a readable JSON policy-pack config: ${(err as Error).message}`);
  }
  if (!parsed || typeof parsed !== "object" || Array.isArray(parsed)) throw new PlanError(`${file}: expected {"<policy-name>": {<key>: <value>}}`);
  // The pack's own list (SDK-free: its modules import only types from @pulumi/policy; ~30 ms).
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { ALL_POLICIES, policies } = require("../policy/policies") as typeof import("../policy/policies");
  const names = policies.map((p) => p.name);
  const levels = ENFORCEMENT_LEVELS.map((l) => `"${l}"`).join(", ");
  const config: Record<string, Record<string, unknown>> = {};
  for (const [key, value] of Object.entries(parsed)) {
    if (key !== ALL_POLICIES && !names.includes(key)) {
      throw new PlanError(`${file}: "${key}" is no policy of the pack; its policies: ${names.join(", ")} (or "${ALL_POLICIES}" for every one)`);
    }
    const entry = typeof value === "string" ? { enforcementLevel: value } : value;
    if (!entry || typeof entry !== "object" || Array.isArray(entry)) {
      throw new PlanError(`${file}: "${key}": expected an enforcement level (${levels}) or {"enforcementLevel": ..., <key>: <value>}`);
    }
    const level = (entry as Record<string, unknown>).enforcementLevel;
    if (level !== undefined && !(ENFORCEMENT_LEVELS as readonly unknown[]).includes(level)) {
      throw new PlanError(`${file}: "${key}": enforcement level ${JSON.stringify(level)} is none of ${levels}`);
    }
    // The policy's own config schema is the source of truth for its keys and their types.
    const schema = key === ALL_POLICIES ? undefined : policies.find((p) => p.name === key)?.configSchema;
    const declared = schema?.properties ?? {};
    const known = ["enforcementLevel", ...Object.keys(declared)];
    for (const [name, v] of Object.entries(entry)) {
      if (name === "enforcementLevel") continue;
      const property = declared[name];
      if (property === undefined || typeof property !== "object") {
        throw new PlanError(`${file}: "${key}": unknown key "${name}"; expected one of: ${known.join(", ")}`);
      }
      const problem = schemaProblem(v, property as SchemaNode);
      if (problem) throw new PlanError(`${file}: "${key}": key "${name}": expected ${problem}, got ${JSON.stringify(v)}`);
    }
    for (const name of schema?.required ?? []) {
      if (!(name in entry)) throw new PlanError(`${file}: "${key}": key "${name}" is required by the policy's config schema`);
    }
    config[key] = entry as Record<string, unknown>;
  }
  return config;
}

/** The parts of a JSON Schema (draft 7) node the pack's config schemas use. */
interface SchemaNode {
  type?: string | string[];
  items?: SchemaNode | boolean | Array<SchemaNode | boolean>;
  enum?: unknown[];
  minimum?: number;
  maximum?: number;
}

/** The JSON Schema type of a JSON value ("integer" counts as "number" too). */
function jsonTypes(v: unknown): string[] {
  if (v === null) return ["null"];
  if (Array.isArray(v)) return ["array"];
  if (typeof v === "number") return Number.isInteger(v) ? ["number", "integer"] : ["number"];
  return [typeof v];
}

/**
 * What `value` fails of the schema node (type, items, enum, minimum, maximum; JSON Schema draft 7
 * validation keywords, https://json-schema.org/draft-07/json-schema-validation), as "an array of
 * string" / "a number >= 0", or undefined when it fits. Keywords the pack's schemas do not use are
 * not checked (a pack policy using one must extend this).
 */
export function schemaProblem(value: unknown, node: SchemaNode): string | undefined {
  const types = node.type === undefined ? undefined : Array.isArray(node.type) ? node.type : [node.type];
  const items = typeof node.items === "object" && !Array.isArray(node.items) ? node.items : undefined;
  const described = (types ?? ["any value"])
    .map((t) => (t === "array" && items?.type ? `an array of ${[items.type].flat().join(" or ")}` : `a${/^[aeiou]/.test(t) ? "n" : ""} ${t}`))
    .join(" or ");
  if (types && !jsonTypes(value).some((t) => types.includes(t))) return described;
  if (Array.isArray(value) && items && value.some((item) => schemaProblem(item, items) !== undefined)) return described;
  if (node.enum && !node.enum.some((e) => JSON.stringify(e) === JSON.stringify(value))) return `one of ${node.enum.map((e) => JSON.stringify(e)).join(", ")}`;
  if (typeof value === "number" && node.minimum !== undefined && value < node.minimum) return `${described} >= ${node.minimum}`;
  if (typeof value === "number" && node.maximum !== undefined && value > node.maximum) return `${described} <= ${node.maximum}`;
  return undefined;
}

/** The stack file path as messages show it (relative to the working directory). */
export function shownPath(stackFile: string): string {
  return path.relative(process.cwd(), stackFile) || stackFile;
}

/**
 * The dev stack a preview stack reads previewHandoff from (name and stack file), or undefined when
 * `stack` is no preview or its preview.devStack is the program's own config error to report.
 * Throws PlanError when the dev stack has no stack file beside the preview's.
 */
export function devStackOf(stack: string, stackFile: string, fileConfig: StackFileConfig): { devStack: string; devName: string; devFile: string } | undefined {
  const preview = (fileConfig.values.preview ?? {}) as { devStack?: unknown };
  const devStack = preview.devStack ?? "dev";
  // A devStack that is no stack name is the program's config error to report (preview.devStack).
  // A preview stack (named preview-<slug>, or any name with twinstack:env preview) reads dev's outputs.
  const isPreview = branchFromStackName(stack) !== undefined || fileConfig.values.env === "preview";
  if (!isPreview || typeof devStack !== "string" || !STACK_REFERENCE_RE.test(devStack) || fileConfig.secretKeys.includes("preview")) return undefined;
  const devName = devStack.split("/").pop() as string;
  const devFile = path.join(path.dirname(stackFile), `Pulumi.${devName}.yaml`);
  if (!fs.existsSync(devFile)) {
    throw new PlanError(`${shownPath(stackFile)}: twinstack:preview.devStack: no stack file for the dev stack "${devStack}" (${devFile}) to read previewHandoff from`);
  }
  return { devStack, devName, devFile };
}

/**
 * The key the Pulumi SDK stores a config key under: `<ns>:config:<key>` becomes `<ns>:<key>`
 * (@pulumi/pulumi runtime/config.js, cleanKey, applied by setAllConfig to what the plan passes).
 */
function sdkKey(key: string): string {
  const idx = key.indexOf(":");
  return idx > 0 && key.startsWith("config:", idx + 1) ? key.substring(0, idx) + ":" + key.substring(idx + 1 + "config:".length) : key;
}

/**
 * Throws what planStack({ stack, stackFile, projectDir, requireStackFile }) would throw for a stack file it refuses
 * before declaring anything, in the same order: the stack file unreadable (StackFileError); for a
 * preview, its dev stack's file missing (PlanError) or refused (recursively); then the config's
 * problems (ConfigError, the lines the program's loadStackConfig reports). Returns when the plan
 * would go on to declare resources.
 */
export function preflightStack(opts: { stack: string; stackFile?: string; projectDir?: string; requireStackFile?: boolean }): void {
  const projectDir = opts.projectDir ?? process.cwd();
  const stackFile = opts.stackFile ?? path.join(projectDir, `Pulumi.${opts.stack}.yaml`);
  const fileConfig = readStackConfig(stackFile, { stack: opts.stack, mustExist: opts.requireStackFile });
  const dev = devStackOf(opts.stack, stackFile, fileConfig);
  if (dev) preflightStack({ stack: dev.devName, stackFile: dev.devFile, projectDir });
  // What the program reads back from the SDK's config (stacks/config.ts loadStackConfig).
  const all: Record<string, string> = {};
  for (const [key, value] of Object.entries(fileConfig.engineConfig)) all[sdkKey(key)] = value;
  const { config } = parseStackConfig(namespaceValues(all), {
    stack: opts.stack,
    sourceFile: shownPath(stackFile),
    isSecret: (key) => fileConfig.engineSecretKeys.includes(`${NAMESPACE}:${key}`),
  });
  // The program's first check of a preview (stacks/preview.ts composePreview): its branch.
  if (config.env === "preview") previewStackBranch(config.preview.branch, opts.stack, shownPath(stackFile));
}

/** A refusal of preflightStack (or readPolicyConfig): the plan prints its message alone and exits 1. */
export function isPreflightError(err: unknown): err is Error {
  return err instanceof ConfigError || err instanceof StackFileError || err instanceof PlanError;
}
