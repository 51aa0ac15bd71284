// Which stack a resource belongs to, its environment, and the stack configs the policies compare.
// The stack comes from the URN (urn:pulumi:<stack>::<project>::...); its env from the stack name
// (prod, dev, preview-<slug>) and otherwise from the stack's config (twinstack:env).
//
// The pack depends on the model (model/) and its own dependencies only. Reading and validating a
// stack file is the model's config schema's job: the pack gets it as a StackConfigReader
// (policy/programConfig.ts registers the model's; the pack's own tests register fixtures).
import * as fs from "fs";
import * as path from "path";
import type { Env, StackConfig } from "../../model/schema";
import { branchFromStackName, previewBranch, previewSlug } from "../../model/slug";

export const ENV_TOKENS: readonly Env[] = ["prod", "dev", "preview"];

/** What reading one stack file yields: raw values, the validated config, the problems found. */
export interface StackConfigRead {
  /** Raw values of the twinstack namespace (no defaults). */
  values: Record<string, unknown>;
  /** The validated config; also set when only secrets or cross-field rules failed. */
  config?: StackConfig;
  /** Why the config is not fully valid (one line per problem). */
  problems: string[];
}

/**
 * What a read is for. "full": every check of the program's validation, every problem listed.
 * "claims" (the other stack files of the project, which the policies only compare): the config as
 * the schema gives it, which is the config a "full" read returns too; the full validation runs only
 * when the schema rejects the file, so its problems are then the same as a "full" read's, while a
 * config the schema accepts comes with no problems (its cross-field rules are that stack's own plan's
 * to report).
 */
export type StackReadPurpose = "full" | "claims";

/**
 * Reads and validates the stack file `file` (absolute; it may not exist, e.g. a preview's) of stack
 * `stack` (short name), naming it `display` in problems. Throws only for an unreadable file.
 * `purpose` (default "full"): see {@link StackReadPurpose}; a reader may treat both alike.
 */
export type StackConfigReader = (file: string, stack: string, display: string, purpose?: StackReadPurpose) => StackConfigRead;

let reader: StackConfigReader | undefined;

/** Sets how stack files are read (policy/programConfig.ts: the model's schema); clears the cache. */
export function setStackConfigReader(read: StackConfigReader): void {
  reader = read;
  cache.clear();
}

/** Every Pulumi.<stack>.yaml in a directory, sorted. */
function siblingStackFiles(dir: string): string[] {
  return fs
    .readdirSync(dir)
    .filter((f) => /^Pulumi\.[^.]+\.ya?ml$/.test(f))
    .sort()
    .map((f) => path.join(dir, f));
}

/** Set by the offline runner for the duration of one run; the engine path uses env vars and defaults. */
interface Override {
  stackFile?: string;
  projectDir?: string;
}
let override: Override | undefined;
/**
 * Stack files loaded during the current offline run, by stack and path. A run is synchronous (the
 * offline runner refuses asynchronous validations), so no file can change under it; this saves a
 * stat of the file per resource and policy (~5% of a 1,000-tenant plan's policy time).
 */
let runLoads: Map<string, { purpose: StackReadPurpose; loaded: LoadedStackConfig }> | undefined;
/** stackInfo's answers during the current offline run, by stack (the same file, so the same answer). */
let runInfos: Map<string, StackInfo | undefined> | undefined;

export function withStackContext<T>(value: Override, fn: () => T): T {
  const previous = override;
  const previousLoads = runLoads;
  const previousInfos = runInfos;
  override = value;
  runLoads = new Map();
  runInfos = new Map();
  try {
    return fn();
  } finally {
    override = previous;
    runLoads = previousLoads;
    runInfos = previousInfos;
  }
}

/** The directory holding Pulumi.<stack>.yaml: TWINSTACK_PROJECT_DIR, else the parent of the policy directory. */
export function projectDir(): string {
  return override?.projectDir ?? process.env.TWINSTACK_PROJECT_DIR ?? path.resolve(__dirname, "..", "..");
}

/** Where the stack's config file is: the offline run's file, TWINSTACK_STACK_FILE_PATH, or <projectDir>/Pulumi.<stack>.yaml. */
export function stackFilePath(stack: string): string {
  const explicit = override?.stackFile ?? process.env.TWINSTACK_STACK_FILE_PATH;
  if (explicit) return path.resolve(explicit);
  return path.join(projectDir(), `Pulumi.${shortStackName(stack)}.yaml`);
}

/** `org/project/dev` -> `dev`. */
export function shortStackName(stack: string): string {
  return stack.slice(stack.lastIndexOf("/") + 1);
}

/** urn:pulumi:<stack>::<project>::<type>::<name> -> <stack>. */
export function stackFromUrn(urn: string): string | undefined {
  // What /^urn:pulumi:(.*?)::/ captures, without the regular expression (a call per resource and policy).
  if (!urn.startsWith("urn:pulumi:")) return undefined;
  const end = urn.indexOf("::", 11);
  if (end < 0) return undefined;
  const stack = urn.slice(11, end);
  return /[\n\r\u2028\u2029]/.test(stack) ? undefined : stack;
}

/** The env a stack name fixes by itself: prod, dev, preview-<slug>; undefined for any other name. */
export function envFromStackName(stack: string): Env | undefined {
  const name = shortStackName(stack);
  if (name === "prod" || name === "dev") return name;
  if (branchFromStackName(name) !== undefined) return "preview";
  return undefined;
}

export interface LoadedStackConfig {
  stack: string;
  file: string;
  /** The file as shown in messages (relative to the project when inside it). */
  display: string;
  exists: boolean;
  /** Raw values of the twinstack namespace (no defaults). */
  values: Record<string, unknown>;
  /** The validated config; also set when only secrets or cross-field rules failed. */
  config?: StackConfig;
  /** Why the config is not fully valid (one line per problem); a "claims" read lists them only when the schema rejects the file. */
  problems: string[];
}

const cache = new Map<string, { version: string; purpose: StackReadPurpose; loaded: LoadedStackConfig }>();

function display(file: string): string {
  const rel = path.relative(projectDir(), file);
  return rel && !rel.startsWith("..") && !path.isAbsolute(rel) ? rel : file;
}

/** The file's identity and version (inode, size, nanosecond mtime): "" when it does not exist. */
function fileVersion(file: string): string {
  const st = fs.statSync(file, { bigint: true, throwIfNoEntry: false });
  return st ? `${st.ino}:${st.size}:${st.mtimeNs}:${st.ctimeNs}` : "";
}

/**
 * Reads and validates a stack file; cached by the file's version (inode, size, mtime, ctime), so a
 * changed file is read again. A policy asks for every resource: reading and comparing the whole
 * file each time made a plan quadratic in the file's size (1,000 tenants). A "claims" read
 * ({@link StackReadPurpose}) is served by a cached "full" one, never the other way round.
 */
export function loadStackConfig(stack: string, file: string, purpose: StackReadPurpose = "full"): LoadedStackConfig {
  const resolved = path.resolve(file);
  const key = `${stack}\u0000${resolved}`;
  const loadedInRun = runLoads?.get(key);
  if (loadedInRun && (loadedInRun.purpose === "full" || purpose === "claims")) return loadedInRun.loaded;
  const version = fileVersion(resolved);
  const exists = version !== "";
  const hit = cache.get(key);
  if (hit && hit.version === version && hit.loaded.display === display(resolved) && (hit.purpose === "full" || purpose === "claims")) {
    runLoads?.set(key, { purpose: hit.purpose, loaded: hit.loaded });
    return hit.loaded;
  }

  const loaded: LoadedStackConfig = { stack, file: resolved, display: display(resolved), exists, values: {}, problems: [] };
  if (!reader) throw new Error("policy/lib/stackContext.ts: no stack config reader set (import policy/programConfig.ts, or setStackConfigReader in a test)");
  try {
    Object.assign(loaded, reader(resolved, shortStackName(stack), loaded.display, purpose));
  } catch (err) {
    loaded.problems = [(err as Error).message];
  }
  cache.set(key, { version, purpose, loaded });
  runLoads?.set(key, { purpose, loaded });
  return loaded;
}

export interface StackInfo {
  stack: string;
  /** prod, dev or preview; undefined when neither the name nor the config says. */
  env?: Env;
  /** Branch slug of a preview stack. */
  slug?: string;
  loaded: LoadedStackConfig;
}

/**
 * The stack a resource URN belongs to, with its env and config. During an offline run, one answer
 * per stack (the same object for every resource of the stack: read it, do not change it).
 */
export function stackInfo(urn: string): StackInfo | undefined {
  const stack = stackFromUrn(urn);
  if (stack === undefined) return undefined;
  if (!runInfos) return readStackInfo(stack);
  if (!runInfos.has(stack)) runInfos.set(stack, readStackInfo(stack));
  return runInfos.get(stack);
}

function readStackInfo(stack: string): StackInfo {
  const loaded = loadStackConfig(stack, stackFilePath(stack));
  const env = envFromStackName(stack) ?? loaded.config?.env;
  // The program's rule (model/slug.ts previewBranch): the configured branch first, then the name.
  const branch = env === "preview" ? previewBranch(loaded.config?.preview.branch, shortStackName(stack)) : undefined;
  const slug = branch === undefined ? undefined : previewSlug(branch);
  return { stack, env, slug, loaded };
}

/**
 * The other stack files of the project: every Pulumi.<stack>.yaml beside this stack's file, read
 * for their claims ({@link StackReadPurpose} "claims": the config, or why the schema rejects it).
 */
export function siblingStacks(self: LoadedStackConfig): LoadedStackConfig[] {
  const dir = path.dirname(self.file);
  if (!fs.existsSync(dir)) return [];
  return (
    siblingStackFiles(dir)
      .map((file) => path.resolve(file))
      .filter((file) => file !== self.file)
      // Pulumi.<this stack>.yaml beside a --config file is this stack's own file, not another stack.
      .filter((file) => stackOfFile(file) !== shortStackName(self.stack))
      .map((file) => loadStackConfig(stackOfFile(file), file, "claims"))
  );
}

/** The stack a Pulumi.<stack>.yaml (or .yml) file is for. */
function stackOfFile(file: string): string {
  return path.basename(file).replace(/^Pulumi\.(.+)\.ya?ml$/, "$1");
}

/** The env of a sibling stack: from its name, else its config. */
export function envOf(loaded: LoadedStackConfig): Env | undefined {
  return envFromStackName(loaded.stack) ?? loaded.config?.env;
}

/** The dev stack a preview builds on: Pulumi.<preview.devStack>.yaml beside the preview's file. */
export function devStackOf(preview: LoadedStackConfig): LoadedStackConfig {
  const devStack = shortStackName(preview.config?.preview.devStack ?? "dev");
  return loadStackConfig(devStack, path.join(path.dirname(preview.file), `Pulumi.${devStack}.yaml`));
}
