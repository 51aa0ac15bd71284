// Reads Pulumi.yaml and Pulumi.<stack>.yaml the way the Pulumi CLI does for our namespace, so the
// offline plan and the policy pack see the same config values `pulumi up` would.
import { createHash } from "crypto";
import * as fs from "fs";
import * as path from "path";
import * as jsYaml from "js-yaml";
import YAML from "yaml";
import { NAMESPACE, decodeConfigValue } from "./config";
import { unreadableFile } from "./fileError";

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

/**
 * The stand-in for a `secure:` value at `path` (full key, then nested keys). `twinstack:redis` is
 * the one structured key that may hold a nested secret (its `url`): a URL stand-in keeps the
 * stack plannable (its checks read a redis:// URL), named from the ciphertext so two files holding
 * the same ciphertext still claim the same server, and two different ones do not (the plan cannot
 * tell whether two ciphertexts hold the same URL).
 */
function placeholderFor(path: string[], secure: string): string {
  if (path.length === 2 && path[0] === `${NAMESPACE}:redis` && path[1] === "url") {
    return `redis://${SECRET_PLACEHOLDER}-${createHash("sha256").update(secure).digest("hex").slice(0, 12)}.invalid:6379`;
  }
  return SECRET_PLACEHOLDER;
}

/** Replaces nested `secure:` values; reports whether any was found. */
function stripSecure(value: unknown, path: string[]): { value: unknown; secret: boolean } {
  if (isSecure(value)) return { value: placeholderFor(path, value.secure), secret: true };
  if (Array.isArray(value)) {
    const items = value.map((item, i) => stripSecure(item, [...path, String(i)]));
    return { value: items.map((i) => i.value), secret: items.some((i) => i.secret) };
  }
  if (value && typeof value === "object") {
    let secret = false;
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) {
      const inner = stripSecure(v, [...path, k]);
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
 * YAML 1.2's core schema as the `yaml` package resolves plain scalars (its src/schema/core/*.ts and
 * common/null.ts: the same patterns, the same conversions), for js-yaml: js-yaml's own CORE_SCHEMA
 * differs on a few (`+.5` is a string there, `0b1`, `+0x1` and `-0o1` numbers), and the Pulumi CLI's
 * values must not depend on which of the two read a file. Quoted scalars stay strings in both.
 */
const YAML_CORE_SCHEMA = jsYaml.FAILSAFE_SCHEMA.extend({
  implicit: [
    new jsYaml.Type("tag:yaml.org,2002:null", {
      kind: "scalar",
      resolve: (s: string | null) => s === null || /^(?:~|[Nn]ull|NULL)?$/.test(s),
      construct: () => null,
    }),
    new jsYaml.Type("tag:yaml.org,2002:bool", {
      kind: "scalar",
      resolve: (s: string | null) => s !== null && /^(?:[Tt]rue|TRUE|[Ff]alse|FALSE)$/.test(s),
      construct: (s: string) => s[0] === "t" || s[0] === "T",
    }),
    new jsYaml.Type("tag:yaml.org,2002:int", {
      kind: "scalar",
      resolve: (s: string | null) => s !== null && (/^0o[0-7]+$/.test(s) || /^[-+]?[0-9]+$/.test(s) || /^0x[0-9a-fA-F]+$/.test(s)),
      construct: (s: string) => (s.startsWith("0o") ? parseInt(s.slice(2), 8) : s.startsWith("0x") ? parseInt(s.slice(2), 16) : parseInt(s, 10)),
    }),
    new jsYaml.Type("tag:yaml.org,2002:float", {
      kind: "scalar",
      resolve: (s: string | null) =>
        s !== null &&
        (/^(?:[-+]?\.(?:inf|Inf|INF)|\.nan|\.NaN|\.NAN)$/.test(s) ||
          /^[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)[eE][-+]?[0-9]+$/.test(s) ||
          /^[-+]?(?:\.[0-9]+|[0-9]+\.[0-9]*)$/.test(s)),
      construct: (s: string) => (/^[-+]?\.(?:inf|Inf|INF)$/.test(s) ? (s[0] === "-" ? -Infinity : Infinity) : /^\.(?:nan|NaN|NAN)$/.test(s) ? NaN : parseFloat(s)),
    }),
  ],
});

/**
 * Texts js-yaml is not given (`yaml` reads them, as before): anchors, aliases and tags (`yaml` caps
 * aliases against a resource-exhaustion document, js-yaml does not; tags resolve differently),
 * directives (`%YAML 1.1` switches `yaml` to YAML 1.1 scalars), lines over 1,024 characters (`yaml`
 * refuses implicit keys that long) and null or empty keys (`yaml` names them ""). These characters
 * may also sit in quoted strings or comments: such a file is only read the slower way.
 */
const NEEDS_YAML_PACKAGE = /[&*!]|^%|[^\n]{1025}|^[ \t-]*(?:\?|~|[Nn]ull|NULL)?[ \t]*:(?:[ \t]|$)/m;

/**
 * The value of the one YAML document in `text` (undefined or null when it holds none), as the
 * `yaml` package's parse (YAML 1.2, core schema) reads it. Read by js-yaml (the parser the Pulumi
 * Node SDK reads Pulumi.yaml with: @pulumi/pulumi runtime/manifest.js) with `yaml`'s scalar
 * resolution (YAML_CORE_SCHEMA), which is several times faster on a plan's cold start (a 40 KB,
 * 200-tenant stack file: ~80 ms CPU against ~300 ms; issue 17); a text with any of the features in
 * NEEDS_YAML_PACKAGE is read by `yaml` itself. tests/yamlParse.test.ts compares the two on every
 * stack file of the repository, on generated documents and on the scalars and texts where they
 * could differ.
 * Errors: a text js-yaml refuses is parsed by `yaml`, whose error (its own message, naming the line
 * and column) is what the caller sees, as before.
 */
export function parseYamlText(text: string): unknown {
  if (NEEDS_YAML_PACKAGE.test(text)) return parseWithYamlPackage(text);
  try {
    return jsYaml.load(text, { schema: YAML_CORE_SCHEMA });
  } catch {
    return parseWithYamlPackage(text);
  }
}

/**
 * A YAML alias inside the node its anchor names (`app: &a {env: *a}`): `yaml` reads it as a value
 * that contains itself, which no reader of a stack file can walk (it overflowed the stack).
 * `key`: where the anchored node is, `config:` left out (`twinstack:app`, `twinstack:hosts[0]`).
 */
export class YamlAliasLoopError extends Error {
  constructor(
    readonly key: string,
    readonly anchor: string,
    readonly aliasAt: string,
  ) {
    super(`${key || "the document"} refers to itself through a YAML alias (&${anchor} … *${anchor}${aliasAt !== key ? ` at ${aliasAt}` : ""})`);
  }
}

/** The key path of a node from `yaml`'s visit path (Document, collections and pairs above it). */
function yamlKeyPath(path: readonly unknown[], node: unknown): string {
  const chain = [...path, node];
  let out = "";
  for (let i = 1; i < chain.length; i++) {
    const parent = chain[i - 1];
    const here = chain[i];
    if (YAML.isPair(here)) {
      const key = YAML.isScalar(here.key) ? String(here.key.value) : String(here.key);
      out += out ? `.${key}` : key;
    } else if (YAML.isSeq(parent)) out += `[${parent.items.indexOf(here as never)}]`;
  }
  return out.replace(/^config(\.|$)/, "");
}

/**
 * YAML.parse of `text` (throws its first error as YAML.parse does, and emits its warnings the same
 * way), refusing an alias inside its own anchor's node with a YamlAliasLoopError. Found the way the
 * `yaml` package documents it (https://eemeli.org/yaml/#alias-nodes, #modifying-nodes: `visit` gives
 * each node with the path of its ancestors; `Alias.resolve(doc)` is the node its anchor names): an
 * alias is a loop when that node is one of its ancestors. `maxAliasCount` (default 100) only caps
 * how often aliases expand, not this.
 */
function parseWithYamlPackage(text: string): unknown {
  if (!text.includes("*")) return YAML.parse(text);
  const doc = YAML.parseDocument(text);
  for (const warning of doc.warnings) process.emitWarning(warning);
  if (doc.errors.length > 0) throw doc.errors[0];
  let loop: YamlAliasLoopError | undefined;
  YAML.visit(doc, {
    Alias(_key, alias, path) {
      const source = alias.resolve(doc);
      if (!source || !path.includes(source)) return undefined;
      loop = new YamlAliasLoopError(yamlKeyPath(path.slice(0, path.indexOf(source)), source), alias.source, yamlKeyPath(path, alias));
      return YAML.visit.BREAK;
    },
  });
  if (loop) throw loop;
  return doc.toJS();
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
  const text = fs.readFileSync(projectFile, "utf8");
  let doc: any;
  try {
    doc = parseYaml(text) ?? {};
  } catch (err) {
    throw new StackFileError(`${projectFile}: ${yamlErrorText(err)}`);
  }
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
 * `stack` defaults to the name in the file name. `mustExist`: the file was named by the user
 * (`plan --config`), so a missing one is an error for a preview stack too (a misspelt path).
 * Errors: StackFileError `<file>: no such stack file`, `<file>: is a directory, not a stack file`,
 * or naming what is wrong with the file.
 */
export function readStackConfig(stackFile: string, opts: { stack?: string; projectFile?: string; mustExist?: boolean } = {}): StackFileConfig {
  const stack = opts.stack ?? path.basename(stackFile).replace(/^Pulumi\.(.+)\.ya?ml$/, "$1");
  const projectFile = opts.projectFile ?? findProjectFile(path.dirname(path.resolve(stackFile)));
  const { project, values: projectValues } = projectFile ? readProjectConfig(projectFile) : { project: NAMESPACE, values: {} };

  let fileValues: Record<string, unknown> = {};
  if (fs.existsSync(stackFile)) {
    let text: string;
    try {
      text = fs.readFileSync(stackFile, "utf8");
    } catch (err) {
      throw new StackFileError(unreadableStackFile(stackFile, err));
    }
    let doc: any;
    try {
      doc = parseYaml(text) ?? {};
    } catch (err) {
      throw new StackFileError(`${stackFile}: ${yamlErrorText(err)}`);
    }
    if (typeof doc !== "object" || Array.isArray(doc)) throw new StackFileError(`${stackFile}: expected a mapping with a "config:" key`);
    const config = doc.config ?? {};
    if (typeof config !== "object" || Array.isArray(config)) throw new StackFileError(`${stackFile}: config: expected a mapping of keys to values`);
    for (const [key, value] of Object.entries(config)) fileValues[qualify(key, project)] = value;
  } else if (opts.mustExist || !stack.startsWith("preview-")) {
    throw new StackFileError(`${stackFile}: no such stack file`);
  }

  const merged = { ...projectValues, ...fileValues };
  const values: Record<string, unknown> = {};
  const secretKeys: string[] = [];
  const engineConfig: Record<string, string> = {};
  const engineSecretKeys: string[] = [];
  for (const [fullKey, rawValue] of Object.entries(merged)) {
    const { value, secret } = stripSecure(rawValue, [fullKey]);
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

/**
 * `not valid YAML at line <L>, column <C>: <problem>`, one line, for a parse error of the `yaml`
 * package (a YAMLParseError: linePos[0] is where it is, 1-based; its message is the problem, then
 * ` at line L, column C`, then a colon, the offending line and a caret on lines of their own:
 * yaml's src/errors.ts prettifyError). `not valid YAML: <first line>` for any other error.
 */
export function yamlErrorText(err: unknown): string {
  if (err instanceof YamlAliasLoopError) return err.message;
  const e = err as { message?: unknown; linePos?: { line: number; col: number }[] } | undefined;
  const message = String(e?.message ?? err);
  const at = e?.linePos?.[0];
  const problem = message
    .replace(/ at line \d+, column \d+(:[\s\S]*)?$/, "")
    .split("\n")[0]
    .trim()
    .replace(/:$/, "");
  return at ? `not valid YAML at line ${at.line}, column ${at.col}: ${problem}` : `not valid YAML: ${problem}`;
}

/** unreadableFile of a stack file. */
export function unreadableStackFile(file: string, err: unknown): string {
  return unreadableFile(file, err, "stack");
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
