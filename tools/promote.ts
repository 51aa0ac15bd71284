/**
 * npm run promote -- <version> [--digest <repo@sha256:...|repo:release-tag>] [--stack-file Pulumi.prod.yaml] [--dev-stack dev] (--help)
 *
 * Pins the image dev runs (dev stack output `appImageDigest`, or --digest) into the prod stack
 * file as an immutable reference, with the release version, and prints the git commands that
 * commit, tag and push it. The tag push triggers deploy-prod. Nothing is committed or pushed here.
 */
import { execFileSync } from "child_process";
import * as path from "path";
import { readFileSync, writeFileSync } from "fs";
import { isMap, isScalar, parseDocument } from "yaml";
import { mutableImageProblem } from "../policy/images";
import { unreadableStackFile, yamlErrorText } from "../model/stackFile";
import { callerDir, checkStackName, fromCaller, parseCommandLine, UsageError } from "./cli";

export const APP_CONFIG_KEY = "twinstack:app";
/** The stack file key naming the stack's environment (model/config.ts: prod, dev or preview). */
const ENV_CONFIG_KEY = "twinstack:env";
export const DIGEST_OUTPUT = "appImageDigest";

export interface PromoteOptions {
  version: string;
  /** Image reference to pin; read from the dev stack output when absent. */
  digest?: string;
  /** The prod stack file; default Pulumi.prod.yaml in the working directory (the project root under npm run and npx twinstack). */
  stackFile?: string;
  devStack?: string;
  /**
   * The directory the user runs the printed git commands from (default: the working directory):
   * messages name the stack file relative to it when it lies inside, else by its absolute path.
   */
  callerDir?: string;
}

export interface PromoteDeps {
  /** Runs git with these arguments in the repository, returns stdout; throws on a non-zero exit. */
  git(args: string[]): string;
  pulumiStackOutput(stack: string, name: string): string;
  readFile(path: string): string;
  writeFile(path: string, content: string): void;
  log(message: string): void;
}

export interface PromoteResult {
  image: string;
  version: string;
  stackFile: string;
  /** The commands to run next, one line. */
  next: string;
}

/** A refusal: printed as one line, exit 1. */
export class PromoteError extends Error {
  override name = "PromoteError";
}

// semver.org's grammar, behind a `v`.
const RELEASE_TAG =
  /^v(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-((?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*)(?:\.(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*))*))?(?:\+([0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*))?$/;

// Docker reference grammar: optional registry host[:port], then lower-case path components.
const PATH_COMPONENT = "[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*";
const REGISTRY = "(?:[a-zA-Z0-9](?:[a-zA-Z0-9.-]*[a-zA-Z0-9])?(?::[0-9]+)?/)";
const REPOSITORY = `${REGISTRY}?${PATH_COMPONENT}(?:/${PATH_COMPONENT})*`;
const IMMUTABLE_IMAGE = new RegExp(`^${REPOSITORY}@sha256:[0-9a-f]{64}$`);
const TAGGED_IMAGE = new RegExp(`^${REPOSITORY}:([\\w][\\w.-]{0,127})(@.*)?$`);

export function isReleaseTag(version: string): boolean {
  return RELEASE_TAG.test(version);
}

export function isImmutableImage(image: string): boolean {
  return IMMUTABLE_IMAGE.test(image);
}

/**
 * Why an image reference cannot be pinned into prod, or undefined when it can. The same rule as the
 * policy pack's prod-images-immutable (policy/images.ts mutableImageProblem), so `promote` never
 * writes what the policy refuses nor refuses what it accepts: a digest, or a release tag (a tag
 * that starts with a version number and names no moving build, e.g. `:v1.2.3`, `:1.2.3`).
 */
export function immutableImageProblem(image: string): string | undefined {
  if (isImmutableImage(image)) return undefined;
  const tagged = TAGGED_IMAGE.exec(image);
  if (!tagged && !new RegExp(`^${REPOSITORY}(@.*)?$`).test(image)) {
    return `image "${image}" is not an image reference; expected <repo>@sha256:<64 hex> or <repo>:<release tag>`;
  }
  const problem = mutableImageProblem(image);
  if (problem === undefined) return undefined;
  if (/malformed digest/.test(problem)) return `image "${image}" has a malformed digest; expected <repo>@sha256:<64 lower-case hex>`;
  return `image "${image}" ${problem}; prod needs <repo>@sha256:<64 hex> or a release tag such as <repo>:v1.2.3`;
}

export function promote(opts: PromoteOptions, deps: PromoteDeps): PromoteResult {
  const stackFile = opts.stackFile ?? DEFAULT_STACK_FILE;
  const shown = shownFrom(opts.callerDir ?? process.cwd(), stackFile);
  const devStack = opts.devStack ?? "dev";
  const { version } = opts;

  if (!isReleaseTag(version)) {
    throw new PromoteError(`version "${version}" is not a release tag v<semver> (e.g. v1.2.3)`);
  }

  if (opts.digest !== undefined) checkImmutable(opts.digest.trim());

  // The stack file first: a misspelt --stack-file is named before any git check.
  let text: string;
  try {
    text = deps.readFile(stackFile);
  } catch (err) {
    throw new PromoteError(unreadableStackFile(shown, err));
  }

  // The printed `git commit -- <file>` works only on a file of the repository promote runs in: git
  // itself says so (a pathspec outside the work tree is "outside repository", git-ls-files(1)).
  try {
    deps.git(["ls-files", "--", stackFile]);
  } catch (err) {
    if (!/outside repository/.test(String((err as Error).message))) throw err;
    throw new PromoteError(`${shown} is outside the git repository promote runs in: promote pins a stack file the repository tracks (--stack-file)`);
  }

  const status = deps.git(["status", "--porcelain"]);
  if (status.trim() !== "") {
    const first = status
      .split("\n")
      .find((l) => l.trim() !== "")!
      .trim();
    throw new PromoteError(`git tree is dirty (${first}${status.trim().includes("\n") ? ", ..." : ""}); commit or stash first`);
  }
  if (deps.git(["tag", "--list", version]).trim() !== "") {
    throw new PromoteError(`git tag ${version} already exists; pick the next version`);
  }

  const doc = parseDocument(text);
  if (doc.errors.length > 0) {
    throw new PromoteError(`${shown}: ${yamlErrorText(doc.errors[0])}`);
  }
  const config = doc.get("config");
  if (!isMap(config)) throw new PromoteError(`${shown} has no "config" map`);
  // Only a prod stack file takes a release pin (a dev stack file would be deployed by the tag as prod's).
  const env = config.get(ENV_CONFIG_KEY, true);
  const envValue = isScalar(env) ? env.value : env === undefined ? undefined : "(a collection)";
  if (envValue !== "prod") {
    throw new PromoteError(
      `${shown}: ${ENV_CONFIG_KEY} is ${envValue === undefined ? "not set" : JSON.stringify(envValue)}, not "prod": promote pins only into a prod stack file (--stack-file)`,
    );
  }
  const app = config.get(APP_CONFIG_KEY, true);
  if (app !== undefined && !isMap(app)) {
    throw new PromoteError(`${shown}: config."${APP_CONFIG_KEY}" is not a map`);
  }
  const pinned = app?.get("version", true);
  if (isScalar(pinned) && String(pinned.value) === version) {
    throw new PromoteError(`${shown} already pins version ${version}; pick the next version`);
  }

  // Read from the dev stack last: the cheap local refusals come first.
  const image = (opts.digest ?? readDevDigest(devStack, deps)).trim();
  checkImmutable(image);

  // setIn keeps the existing scalar nodes, so their comments stay where they are.
  doc.setIn(["config", APP_CONFIG_KEY, "image"], image);
  doc.setIn(["config", APP_CONFIG_KEY, "version"], version);
  deps.writeFile(stackFile, doc.toString({ lineWidth: 0 }));

  const branch = currentBranch(deps);
  if (branch !== "main") deps.log(`note: you are on branch ${branch}, not main; deploy-prod deploys whatever the tag points at`);
  const next = `git commit -m "promote ${version}" -- ${shellWord(shown)} && ` + `git tag -a ${version} -m "promote ${version}" && git push origin ${shellWord(branch)} ${version}`;
  deps.log(`pinned ${image} as ${version} in ${shown}`);
  deps.log(next);
  return { image, version, stackFile, next };
}

/** The prod stack file promote edits unless --stack-file names another, relative to the working directory. */
export const DEFAULT_STACK_FILE = "Pulumi.prod.yaml";

/** `file` (relative to the working directory) as typed from `dir`: relative when inside it, else absolute. */
function shownFrom(dir: string, file: string): string {
  const absolute = path.resolve(file);
  const relative = path.relative(path.resolve(dir), absolute);
  return relative !== "" && relative !== ".." && !relative.startsWith(`..${path.sep}`) && !path.isAbsolute(relative) ? relative : absolute;
}

function checkImmutable(image: string): void {
  const problem = immutableImageProblem(image);
  if (problem) throw new PromoteError(problem);
}

function readDevDigest(devStack: string, deps: PromoteDeps): string {
  let value: string;
  try {
    value = deps.pulumiStackOutput(devStack, DIGEST_OUTPUT);
  } catch (err) {
    throw new PromoteError(`cannot read output ${DIGEST_OUTPUT} of stack ${devStack} (${firstLine(err)}); pass --digest <repo@sha256:...>`);
  }
  if (value.trim() === "") {
    throw new PromoteError(`stack ${devStack} has no ${DIGEST_OUTPUT} output; pass --digest <repo@sha256:...>`);
  }
  return value;
}

function currentBranch(deps: PromoteDeps): string {
  try {
    return deps.git(["symbolic-ref", "--short", "HEAD"]).trim() || "main";
  } catch {
    return "main"; // detached HEAD
  }
}

function shellWord(word: string): string {
  return /^[\w./@:+-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}

function firstLine(err: unknown): string {
  const e = err as { stderr?: unknown; message?: unknown };
  const text = String((e?.stderr && String(e.stderr).trim()) || e?.message || err);
  return text.split("\n")[0].trim();
}

export function defaultDeps(cwd = process.cwd()): PromoteDeps {
  return {
    git: (args) => execFileSync("git", args, { cwd, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] }),
    pulumiStackOutput: (stack, name) =>
      execFileSync("pulumi", ["stack", "output", name, "--stack", stack], {
        cwd,
        encoding: "utf8",
        stdio: ["ignore", "pipe", "pipe"],
      }),
    readFile: (path) => readFileSync(path, "utf8"),
    writeFile: (path, content) => writeFileSync(path, content),
    log: (message) => console.log(message),
  };
}

const USAGE = "npm run promote -- <version> [--digest <repo@sha256:...|repo:release-tag>] [--stack-file Pulumi.prod.yaml] [--dev-stack dev]";
const HELP = `usage: ${USAGE}
Pins the image dev runs (dev stack output ${DIGEST_OUTPUT}, or --digest) and <version> into the prod
stack file, then prints the git commands that commit, tag and push it (the v* tag deploys prod).
Refuses a dirty tree, a version already used or pinned, a version that is not v<semver>, an
image prod-images-immutable would refuse (anything but a digest or a release tag), a stack file
outside the git repository or whose twinstack:env is not prod, and a --dev-stack that is no stack name.
  <version>            v<semver>, e.g. v1.2.3
  --digest <image>     the image to pin instead of dev's (repo@sha256:<64 hex>, or repo:<release tag>)
  --stack-file <file>  the prod stack file, relative to where you run the command (default:
                       Pulumi.prod.yaml in the project root, whatever directory you run it from)
  --dev-stack <name>   the stack whose ${DIGEST_OUTPUT} output is read (default dev)
  -h, --help           this help`;

export function main(argv: string[], deps: PromoteDeps = defaultDeps()): number {
  try {
    const parsed = parseCommandLine("promote", USAGE, argv, { digest: { type: "string" }, "stack-file": { type: "string" }, "dev-stack": { type: "string" } }, true);
    if (!parsed) {
      deps.log(HELP);
      return 0;
    }
    const { values, positionals } = parsed;
    if (positionals.length !== 1) {
      throw new UsageError(`promote: expected one <version>, got ${positionals.length === 0 ? "none" : positionals.join(" ")}; usage: ${USAGE}`);
    }
    promote(
      {
        version: positionals[0],
        digest: values.digest,
        stackFile: values["stack-file"] === undefined ? undefined : fromCaller("promote", values["stack-file"]),
        devStack: values["dev-stack"] === undefined ? undefined : (checkStackName("promote", USAGE, values["dev-stack"]), values["dev-stack"]),
        callerDir: callerDir("promote"),
      },
      deps,
    );
    return 0;
  } catch (err) {
    if (err instanceof UsageError) console.error(err.message);
    else console.error(`promote: ${err instanceof PromoteError ? err.message : firstLine(err)}`);
    return 1;
  }
}

if (require.main === module) {
  process.exitCode = main(process.argv.slice(2));
}
