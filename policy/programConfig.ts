// How the pack reads stack files: with the model's config schema and validation (model/config.ts,
// model/schema.ts, model/stackFile.ts), the very code the program validates its config with, so a
// policy sees exactly the config the program would run with. The pack's own tests (policy/test/)
// register fixture configs instead. Importing this file registers the reader.
import { serialize } from "v8";
import { ConfigError, parseStackConfig } from "../model/config";
import { StackConfig, stackConfigSchema } from "../model/schema";
import { branchFromStackName } from "../model/slug";
import { readStackConfig } from "../model/stackFile";
import { setStackConfigReader, StackConfigRead, StackReadPurpose } from "./lib/stackContext";

/**
 * Schema results by their input (v8-serialized: types, key order, NaN and -0 kept apart), for this
 * process only: the schema is a pure function of that input, and a project's preview stack files
 * are often the same few lines. Bounded; oldest first out. Each caller gets its own copy.
 */
const schemaResults = new Map<string, StackConfig | undefined>();
const SCHEMA_RESULTS_MAX = 1024;

/** Schema validation alone: enough for comparing claims when only secrets or cross-field rules fail. */
function lenientParse(values: Record<string, unknown>, stack: string): StackConfig | undefined {
  const structured: Record<string, unknown> = {};
  for (const key of Object.keys(stackConfigSchema.shape)) if (values[key] !== undefined) structured[key] = values[key];
  if (structured.env === undefined && branchFromStackName(stack) !== undefined) structured.env = "preview";
  const key = serialize(structured).toString("latin1");
  if (!schemaResults.has(key)) {
    const result = stackConfigSchema.safeParse(structured);
    schemaResults.set(key, result.success ? result.data : undefined);
    if (schemaResults.size > SCHEMA_RESULTS_MAX) schemaResults.delete(schemaResults.keys().next().value as string);
  }
  const config = schemaResults.get(key);
  return config && structuredClone(config);
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
