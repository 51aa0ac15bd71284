// How the pack reads stack files: with the model's config schema and validation (model/config.ts,
// model/schema.ts, model/stackFile.ts), the very code the program validates its config with, so a
// policy sees exactly the config the program would run with. The pack's own tests (policy/test/)
// register fixture configs instead. Importing this file registers the reader.
import { ConfigError, parseStackConfig } from "../model/config";
import { StackConfig, stackConfigSchema } from "../model/schema";
import { branchFromStackName } from "../model/slug";
import { readStackConfig } from "../model/stackFile";
import { setStackConfigReader, StackConfigRead, StackReadPurpose } from "./lib/stackContext";

/**
 * Schema results by their input, for this process only: the schema is a pure function of that
 * input, and a project's preview stack files are often the same few lines. Bounded; oldest first
 * out. Each caller gets its own copy.
 */
const schemaResults = new Map<string, StackConfig | undefined>();
const SCHEMA_RESULTS_MAX = 1024;

/**
 * A key that tells apart any two different values of plain data (strings, numbers with -0 and NaN,
 * booleans, null, undefined, arrays, plain objects with their key order); undefined for anything
 * else, which is then not looked up.
 */
function plainKey(value: unknown): string | undefined {
  if (value === null) return "z";
  switch (typeof value) {
    case "undefined":
      return "u";
    case "boolean":
      return value ? "t" : "f";
    case "number":
      return Object.is(value, -0) ? "n-0" : `n${value}`;
    case "string":
      return JSON.stringify(value);
    case "object": {
      const array = Array.isArray(value);
      if (!array && Object.getPrototypeOf(value) !== Object.prototype) return undefined;
      const parts: string[] = [];
      for (const [k, v] of Object.entries(value)) {
        const inner = plainKey(v);
        if (inner === undefined) return undefined;
        parts.push(array ? inner : `${JSON.stringify(k)}:${inner}`);
      }
      // A sparse array's holes are not entries: its length tells it from a dense one.
      return array ? `[${(value as unknown[]).length}|${parts.join(",")}]` : `{${parts.join(",")}}`;
    }
    default:
      return undefined;
  }
}

/** A deep copy of the schema's output: its arrays and plain objects (it holds no other objects). */
function copyPlain<T>(value: T): T {
  if (Array.isArray(value)) return value.map(copyPlain) as T;
  if (value && typeof value === "object" && Object.getPrototypeOf(value) === Object.prototype) {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = copyPlain(v);
    return out as T;
  }
  return value;
}

/** Schema validation alone: enough for comparing claims when only secrets or cross-field rules fail. */
function lenientParse(values: Record<string, unknown>, stack: string): StackConfig | undefined {
  const structured: Record<string, unknown> = {};
  for (const key of Object.keys(stackConfigSchema.shape)) if (values[key] !== undefined) structured[key] = values[key];
  if (structured.env === undefined && branchFromStackName(stack) !== undefined) structured.env = "preview";
  const key = plainKey(structured);
  if (key === undefined) {
    const result = stackConfigSchema.safeParse(structured);
    return result.success ? result.data : undefined;
  }
  if (!schemaResults.has(key)) {
    const result = stackConfigSchema.safeParse(structured);
    schemaResults.set(key, result.success ? result.data : undefined);
    if (schemaResults.size > SCHEMA_RESULTS_MAX) schemaResults.delete(schemaResults.keys().next().value as string);
  }
  const config = schemaResults.get(key);
  return config && copyPlain(config);
}

/**
 * Reads a stack file with the program's schema: its values, its config, every problem. With purpose
 * "claims" (the other stacks of the project, policy/lib/stackContext.ts StackReadPurpose), a file
 * the schema accepts is not validated further: the config is the same either way.
 */
export function readProgramStackConfig(file: string, stack: string, display: string, purpose: StackReadPurpose = "full"): StackConfigRead {
  const values = readStackConfig(file, { stack }).values;
  if (purpose === "claims") {
    const config = lenientParse(values, stack);
    if (config) return { values, config, problems: [] };
  }
  try {
    return { values, config: parseStackConfig(values, { stack, sourceFile: display }).config, problems: [] };
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    return { values, config: lenientParse(values, stack), problems: err.problems };
  }
}

setStackConfigReader(readProgramStackConfig);
