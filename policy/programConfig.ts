// How the pack reads stack files: with the model's config schema and validation (model/config.ts,
// model/schema.ts, model/stackFile.ts), the very code the program validates its config with, so a
// policy sees exactly the config the program would run with. The pack's own tests (policy/test/)
// register fixture configs instead. Importing this file registers the reader.
import { ConfigError, parseStackConfig } from "../model/config";
import { StackConfig, stackConfigSchema } from "../model/schema";
import { branchFromStackName } from "../model/slug";
import { readStackConfig } from "../model/stackFile";
import { setStackConfigReader, StackConfigRead } from "./lib/stackContext";

/** Schema validation alone: enough for comparing claims when only secrets or cross-field rules fail. */
function lenientParse(values: Record<string, unknown>, stack: string): StackConfig | undefined {
  const structured: Record<string, unknown> = {};
  for (const key of Object.keys(stackConfigSchema.shape)) if (values[key] !== undefined) structured[key] = values[key];
  if (structured.env === undefined && branchFromStackName(stack) !== undefined) structured.env = "preview";
  const result = stackConfigSchema.safeParse(structured);
  return result.success ? result.data : undefined;
}

/** Reads a stack file with the program's schema: its values, its config, every problem. */
export function readProgramStackConfig(file: string, stack: string, display: string): StackConfigRead {
  const values = readStackConfig(file, { stack }).values;
  try {
    return { values, config: parseStackConfig(values, { stack, sourceFile: display }).config, problems: [] };
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    return { values, config: lenientParse(values, stack), problems: err.problems };
  }
}

setStackConfigReader(readProgramStackConfig);
