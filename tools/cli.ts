// What every twinstack command line shares: --help, unknown flags refused with a one-line usage,
// and paths resolved from the directory the user typed the command in.
import * as fs from "fs";
import * as path from "path";
import { parseArgs, ParseArgsConfig } from "util";
import { unreadableFile } from "../model/fileError";

/** Misuse of a command line: printed as `<tool>: <problem>; usage: <usage line>`, exit 1. */
export class UsageError extends Error {
  override name = "UsageError";
}

type Options = NonNullable<ParseArgsConfig["options"]>;

/**
 * node:util parseArgs, strict, plus `-h/--help`. Returns undefined when help was asked for (the
 * caller prints its help and exits 0). Unknown flags and missing values become a UsageError whose
 * message is one line and ends with the usage line.
 */
export function parseCommandLine<O extends Options>(
  tool: string,
  usage: string,
  argv: string[],
  options: O,
  allowPositionals = false,
): { values: { [K in keyof O]?: O[K]["type"] extends "boolean" ? boolean : string }; positionals: string[] } | undefined {
  let parsed;
  try {
    parsed = parseArgs({ args: argv, options: { ...options, help: { type: "boolean", short: "h" } }, strict: true, allowPositionals });
  } catch (err) {
    const e = err as { code?: string; message: string };
    const option = /'(-[^']*)'/.exec(e.message)?.[1];
    const problem =
      e.code === "ERR_PARSE_ARGS_UNKNOWN_OPTION"
        ? `unknown option ${option ?? ""}`.trim()
        : e.code === "ERR_PARSE_ARGS_INVALID_OPTION_VALUE"
          ? `option ${option?.split(/[ ,]/)[0] ?? ""} needs a value`
          : e.code === "ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL"
            ? `unexpected argument ${/'([^']*)'/.exec(e.message)?.[1] ?? ""}`.trim()
            : e.message.split("\n")[0];
    throw new UsageError(`${tool}: ${problem}; usage: ${usage}`);
  }
  if ((parsed.values as { help?: boolean }).help) return undefined;
  return parsed as never;
}

/**
 * The directory the user ran the command from. `npm run <script>` starts tools in the package root
 * and passes the caller's directory as INIT_CWD (https://docs.npmjs.com/cli/v10/commands/npm-run-script);
 * the `twinstack` bin passes it as TWINSTACK_CALLER_DIR. INIT_CWD only counts for the tool's own
 * script: under `npm test` it names where the tests were started, not a caller of this tool.
 */
export function callerDir(script: string): string {
  if (process.env.TWINSTACK_CALLER_DIR) return process.env.TWINSTACK_CALLER_DIR;
  if (process.env.INIT_CWD && process.env.npm_lifecycle_event === script) return process.env.INIT_CWD;
  return process.cwd();
}

/** A path the user typed, resolved from their directory (absolute paths stay as they are). */
export function fromCaller(script: string, file: string): string {
  return path.resolve(callerDir(script), file);
}

/**
 * Pulumi's rule for a stack name: alphanumerics, hyphens, underscores and periods, 1 to 100 of them
 * (https://www.pulumi.com/docs/iac/concepts/stacks/#create-stack: "Stack names may only contain alphanumeric
 * characters, hyphens, underscores, or periods"; pulumi/pulumi pkg/backend/filestate/backend.go,
 * validateStackName: ^[A-Za-z0-9_.-]{1,100}$).
 */
export const PULUMI_STACK_NAME_RE = /^[A-Za-z0-9_.-]{1,100}$/;

/**
 * The UTF-8 text of a file the user named on the command line (`shown`: as typed; `what`: its kind,
 * e.g. "policy pack config"). Errors (Error, one line, never the system's raw ENOENT):
 * model/fileError.ts unreadableFile's lines, with `shown` as the file.
 */
export function readNamedFile(file: string, what: string, shown = file): string {
  try {
    return fs.readFileSync(file, "utf8");
  } catch (err) {
    throw new Error(unreadableFile(shown, err, what));
  }
}

/** Throws a UsageError of `tool` unless `stack` is a stack name Pulumi allows (PULUMI_STACK_NAME_RE). */
export function checkStackName(tool: string, usage: string, stack: string): void {
  if (PULUMI_STACK_NAME_RE.test(stack)) return;
  const rule = "Pulumi stack names may only contain alphanumerics, hyphens, underscores and periods, at most 100";
  throw new UsageError(`${tool}: ${JSON.stringify(stack)} is not a stack name (${rule}); usage: ${usage}`);
}
