// Reads Pulumi.yaml and Pulumi.<stack>.yaml the way the Pulumi CLI does for our namespace, so the
// offline plan and the policy pack see the same config values `pulumi up` would.
import * as fs from "fs";
import * as path from "path";
import * as jsYaml from "js-yaml";
import YAML from "yaml";
import { NAMESPACE, decodeConfigValue } from "./config";

/** Stand-in for an encrypted value: the plan has no passphrase, and never needs the real secret. */
export const SECRET_PLACEHOLDER = "plan-placeholder-secret";

/**
 * A stack file (`Pulumi.<stack>.yaml`) as read without the engine: our namespace's values decoded,
 * secrets replaced by {@link SECRET_PLACEHOLDER}, and the whole config as the engine would pass it.
 */
export interface StackFileConfig {
  /** Path as given (shown in messages). */
  file: string;
  stack: string;
  /** Keys of our namespace, without the namespace, to decoded values. */
  values: Record<string, unknown>;
  /** Keys (without namespace) whose value is `secure:` in the file. */
  secretKeys: string[];
  /** Every config key of every namespace, as the engine passes it to the program (strings, JSON for objects). */
  engineConfig: Record<string, string>;
  engineSecretKeys: string[];
}

function isSecure(value: unknown): value is { secure: string } {
  return !!value && typeof value === "object" && !Array.isArray(value) && typeof (value as { secure?: unknown }).secure === "string" && Object.keys(value).length === 1;
}

/** Replaces nested `secure:` values; reports whether any was found. */
function stripSecure(value: unknown): { value: unknown; secret: boolean } {
  if (isSecure(value)) return { value: SECRET_PLACEHOLDER, secret: true };
  if (Array.isArray(value)) {
    const items = value.map(stripSecure);
    return { value: items.map((i) => i.value), secret: items.some((i) => i.secret) };
  }
  if (value && typeof value === "object") {
    let secret = false;
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) {
      const inner = stripSecure(v);
      out[k] = inner.value;
      secret ||= inner.secret;
    }
    return { value: out, secret };
  }
  return { value, secret: false };
}

function qualify(key: string, project: string): string {
  return key.includes(":") ? key : `${project}:${key}`;
}

/** A stack file that cannot be read: the message names the file and what is wrong with it. */
export class StackFileError extends Error {}

/**
 * Parsed YAML documents by their exact text, for this process only: a plan reads its own stack file
 * and the dev stack's several times, and a project's preview stack files are often the same few
 * lines. The parse is a pure function of the text, so a hit is what parsing again would give; the
 * documents are frozen, so no reader can change what a later one gets (readStackConfig copies what
 * it keeps). Bounded by count and by total text length, oldest first out.
 */
const parsedYaml = new Map<string, unknown>();
let parsedYamlChars = 0;
const PARSED_YAML_MAX_ENTRIES = 1024;
const PARSED_YAML_MAX_CHARS = 16 * 1024 * 1024;

function deepFreeze<T>(value: T): T {
  if (value && typeof value === "object" && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const inner of Object.values(value)) deepFreeze(inner);
  }
  return value;
}

/**
 * The value of the one YAML document in `text` (undefined or null when it holds none). Read by
 * js-yaml with its CORE_SCHEMA (YAML 1.2's core schema: null, bool, int, float, str; no merge keys,
 * timestamps or binary), the parser the Pulumi Node SDK reads Pulumi.yaml with
 * (@pulumi/pulumi runtime/manifest.js; js-yaml is a dependency of the SDK) and several times faster
 * than `yaml` on a plan's cold start (a 40 KB, 200-tenant stack file: ~80 ms CPU against ~300 ms;
 * issue 17). It reads every document the way `yaml`'s parse (YAML 1.2 core) does, except `0b1010`,
 * which it reads as the integer 10 as the Pulumi CLI's Go YAML (gopkg.in/yaml.v3) does, where `yaml`
 * read the string, and `-0` (0): tests/yamlParse.test.ts compares the two on every stack file of
 * the repository and on generated documents.
 * Errors: a text js-yaml refuses is parsed by `yaml`, whose error (it throws its own message, which
 * names the line and column) is what the caller sees, as before.
 */
export function parseYamlText(text: string): unknown {
  try {
    return jsYaml.load(text, { schema: jsYaml.CORE_SCHEMA });
  } catch {
    return YAML.parse(text);
  }
}

/** parseYamlText of `text` (throws as it does), shared with earlier parses of the same text: read only. */
function parseYaml(text: string): unknown {
  if (parsedYaml.has(text)) return parsedYaml.get(text);
  const doc = deepFreeze(parseYamlText(text));
  if (text.length <= PARSED_YAML_MAX_CHARS) {
    parsedYaml.set(text, doc);
    parsedYamlChars += text.length;
    for (const oldest of parsedYaml.keys()) {
      if (parsedYaml.size <= PARSED_YAML_MAX_ENTRIES && parsedYamlChars <= PARSED_YAML_MAX_CHARS) break;
      parsedYaml.delete(oldest);
      parsedYamlChars -= oldest.length;
    }
  }
  return doc;
}

/** Project-level config of Pulumi.yaml: `key: value`, or `key: { value | default, ... }`. */
export function readProjectConfig(projectFile: string): { project: string; values: Record<string, unknown> } {
  const doc = (parseYaml(fs.readFileSync(projectFile, "utf8")) ?? {}) as any;
  const project = String(doc.name ?? NAMESPACE);
  const values: Record<string, unknown> = {};
  for (const [key, spec] of Object.entries<any>(doc.config ?? {})) {
    const value = spec && typeof spec === "object" && !Array.isArray(spec) && ("value" in spec || "default" in spec) ? (spec.value ?? spec.default) : spec;
    if (value !== undefined) values[qualify(key, project)] = value;
  }
  return { project, values };
}

/**
 * Reads a stack file (which may not exist for preview stacks) merged over the project defaults.
 * `stack` defaults to the name in the file name.
 */
export function readStackConfig(stackFile: string, opts: { stack?: string; projectFile?: string } = {}): StackFileConfig {
  const stack = opts.stack ?? path.basename(stackFile).replace(/^Pulumi\.(.+)\.ya?ml$/, "$1");
  const projectFile = opts.projectFile ?? findProjectFile(path.dirname(path.resolve(stackFile)));
  const { project, values: projectValues } = projectFile ? readProjectConfig(projectFile) : { project: NAMESPACE, values: {} };

  let fileValues: Record<string, unknown> = {};
  if (fs.existsSync(stackFile)) {
    let doc: any;
    try {
      doc = parseYaml(fs.readFileSync(stackFile, "utf8")) ?? {};
    } catch (err) {
      throw new StackFileError(`${stackFile}: not valid YAML: ${(err as Error).message.split("\n")[0]}`);
    }
    if (typeof doc !== "object" || Array.isArray(doc)) throw new StackFileError(`${stackFile}: expected a mapping with a "config:" key`);
    const config = doc.config ?? {};
    if (typeof config !== "object" || Array.isArray(config)) throw new StackFileError(`${stackFile}: config: expected a mapping of keys to values`);
    for (const [key, value] of Object.entries(config)) fileValues[qualify(key, project)] = value;
  } else if (!stack.startsWith("preview-")) {
    throw new StackFileError(`${stackFile}: no such stack file`);
  }

  const merged = { ...projectValues, ...fileValues };
  const values: Record<string, unknown> = {};
  const secretKeys: string[] = [];
  const engineConfig: Record<string, string> = {};
  const engineSecretKeys: string[] = [];
  for (const [fullKey, rawValue] of Object.entries(merged)) {
    const { value, secret } = stripSecure(rawValue);
    engineConfig[fullKey] = typeof value === "string" ? value : JSON.stringify(value);
    if (secret) engineSecretKeys.push(fullKey);
    const [namespace, key] = fullKey.split(":", 2);
    if (namespace === NAMESPACE) {
      values[key] = typeof value === "string" ? decodeConfigValue(value) : value;
      if (secret) secretKeys.push(key);
    }
  }
  return { file: stackFile, stack, values, secretKeys, engineConfig, engineSecretKeys };
}

/** The nearest `Pulumi.yaml` (or `Pulumi.yml`) at or above `startDir`, or undefined when none. */
export function findProjectFile(startDir: string): string | undefined {
  let dir = startDir;
  for (;;) {
    for (const name of ["Pulumi.yaml", "Pulumi.yml"]) {
      const candidate = path.join(dir, name);
      if (fs.existsSync(candidate)) return candidate;
    }
    const parent = path.dirname(dir);
    if (parent === dir) return undefined;
    dir = parent;
  }
}

/** Every Pulumi.<stack>.yaml in a directory, sorted. */
export function siblingStackFiles(dir: string): string[] {
  return fs
    .readdirSync(dir)
    .filter((f) => /^Pulumi\.[^.]+\.ya?ml$/.test(f))
    .sort()
    .map((f) => path.join(dir, f));
}
