// Parses and validates a stack's `twinstack:` configuration values: the schema (model/schema.ts),
// then every semantic check (model/validate.ts), all problems of a file in one run. Pure: no Pulumi
// imports, so the program (stacks/config.ts reads Pulumi config and calls it) and the policy pack
// (policy/programConfig.ts reads stack files) validate with the very same code.
import { maskCredentials } from "./redact";
import { postgresMajorOf } from "./images";
import { z } from "zod";
import { SECRET_KEY_NAME_EXPECTED, stackConfigSchema, StackConfig, unwrapSchema } from "./schema";
import { branchFromStackName, isWellFormedUnicode, PREVIEW_STACK_PREFIX, previewBranch, previewSlug } from "./slug";
import { PREVIEW_APP_NAME_MAX_LENGTH } from "./handoff";
import { touchesTainted, validateStack } from "./validate";
import { cloudVipFailover } from "./hosts";

/** The Pulumi config namespace of every stack key (`twinstack:<key>`). */
export const NAMESPACE = "twinstack";

/** A config problem the user must fix; carries one line per problem, each naming file and key. */
export class ConfigError extends Error {
  constructor(public readonly problems: string[]) {
    super(problems.join("\n"));
    this.name = "ConfigError";
  }
}

/** Secret config keys a validated config refers to by name; they are the only extra top-level keys allowed. */
export function referencedSecretKeys(config: StackConfig): string[] {
  return secretKeyReferences(config).map((r) => r.key);
}

const SECRET_NOT_SHOWN = "a value (not shown: secret)";
const SECRET_KEY_NAME_NOT_SHOWN = "a value that is not a config key name (not shown: it may be the secret itself)";

/** Structured keys whose nested `secure:` values stay secret wherever they flow (see parseStackConfig). */
export const SECRET_CAPABLE_KEYS = ["redis"];

/** Secret config keys a config refers to, with the key path that refers to each. */
function secretKeyReferences(config: StackConfig): { key: string; path: PropertyKey[] }[] {
  const refs: { key: string; path: PropertyKey[] }[] = [];
  const add = (key: string, path: PropertyKey[]) => {
    if (!refs.some((r) => r.key === key)) refs.push({ key, path });
  };
  for (const [name, key] of Object.entries(config.app?.secretEnv ?? {})) add(key, ["app", "secretEnv", name]);
  if (config.postgres.mode === "shared" && config.postgres.adminPasswordKey) add(config.postgres.adminPasswordKey, ["postgres", "adminPasswordKey"]);
  if (config.gitea.runner.enabled && config.gitea.runner.registrationTokenKey) add(config.gitea.runner.registrationTokenKey, ["gitea", "runner", "registrationTokenKey"]);
  if (config.runners.count > 0) add(config.runners.registrationTokenKey, ["runners", "registrationTokenKey"]);
  if (cloudVipFailover(config)) add(config.vip.apiTokenKey, ["vip", "apiTokenKey"]);
  if (config.monitoring.enabled && config.monitoring.alerts.webhookUrlKey) add(config.monitoring.alerts.webhookUrlKey, ["monitoring", "alerts", "webhookUrlKey"]);
  if (config.monitoring.enabled && config.monitoring.alerts.email?.passwordKey) add(config.monitoring.alerts.email.passwordKey, ["monitoring", "alerts", "email", "passwordKey"]);
  return refs.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
}

/**
 * Whether a secret key name may be shown: a camelCase or snake_case name, not a pasted token
 * (sk_live_..., ghp_..., long random runs of letters and digits).
 */
export function looksLikeKeyName(key: string): boolean {
  if (key.length > 48 || /\d{4,}/.test(key)) return false;
  if (/^(sk|pk|rk)_(live|test)_|^gh[pousr]_|^xox[abpr]-|^glpat-|^AKIA/i.test(key)) return false;
  // Each camelCase / snake_case word is short and has a vowel: random tokens rarely do.
  const words = key.split(/_|(?=[A-Z])/).filter(Boolean);
  return words.every((w) => w.length <= 16 && /[aeiouy]/i.test(w));
}

function describe(value: unknown): string {
  if (value === undefined) return "nothing";
  const text = maskCredentials(JSON.stringify(value));
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}

function closest(word: string, candidates: string[]): string | undefined {
  const distance = (a: string, b: string) => {
    const row = Array.from({ length: b.length + 1 }, (_, i) => i);
    for (let i = 1; i <= a.length; i++) {
      let previous = row[0];
      row[0] = i;
      for (let j = 1; j <= b.length; j++) {
        const current = row[j];
        row[j] = Math.min(row[j] + 1, row[j - 1] + 1, previous + (a[i - 1] === b[j - 1] ? 0 : 1));
        previous = current;
      }
    }
    return row[b.length];
  };
  const best = candidates.map((c) => ({ c, d: distance(word.toLowerCase(), c.toLowerCase()) })).sort((x, y) => x.d - y.d)[0];
  return best && best.d <= Math.max(2, Math.floor(word.length / 3)) ? best.c : undefined;
}

/** The keys an object schema at `path` accepts, for "did you mean" hints. */
function knownKeysAt(path: PropertyKey[]): string[] {
  let schema: z.ZodType = stackConfigSchema;
  for (const segment of path) {
    schema = unwrapSchema(schema);
    if (schema instanceof z.ZodObject) schema = (schema.shape as Record<string, z.ZodType>)[String(segment)];
    else if (schema instanceof z.ZodArray) schema = schema.element as z.ZodType;
    else return [];
    if (!schema) return [];
  }
  schema = unwrapSchema(schema);
  return schema instanceof z.ZodObject ? Object.keys(schema.shape) : [];
}

/**
 * The nested key a flat top-level key with dots names (`preview.branch`: ["preview", "branch"]), or
 * undefined when the dotted path names no key of the schema. A stack file's keys do not nest at dots:
 * `pulumi config set --path parent.nested value` writes `parent:` with `nested: value` under it
 * (https://www.pulumi.com/docs/iac/cli/commands/pulumi_config_set/).
 */
function dottedSchemaPath(key: string): string[] | undefined {
  const segments = key.split(".");
  if (segments.length < 2) return undefined;
  return segments.every((segment, i) => knownKeysAt(segments.slice(0, i)).includes(segment)) ? segments : undefined;
}

/** One line saying how to write a dotted key nested: the YAML lines `pulumi config set --path` writes, never the value. */
function nestedKeyHint(segments: string[], secret: boolean): string {
  const lines = segments.map((segment, i) => `"${"  ".repeat(i)}${i === 0 ? `${NAMESPACE}:` : ""}${segment}:${i === segments.length - 1 ? " <value>" : ""}"`);
  const command = `pulumi config set${secret ? " --secret" : ""} --path '${NAMESPACE}:${segments.join(".")}' <value>`;
  return `a dot does not nest keys in a stack file: write it as the lines ${lines.slice(0, -1).join(", ")} and ${lines[lines.length - 1]} (what \`${command}\` writes)`;
}

/** Compose habit: `LOG_LEVEL: 3` or `DEBUG: true` where a string is expected; YAML reads them unquoted as number/boolean. */
function quoteHint(issue: z.core.$ZodIssue): string {
  const input = (issue as { input?: unknown }).input;
  if (issue.code !== "invalid_type" || issue.expected !== "string") return "";
  if (typeof input !== "number" && typeof input !== "boolean") return "";
  return ` (YAML reads ${String(input)} unquoted as a ${typeof input}: quote it, "${String(input)}")`;
}

function keyPath(path: PropertyKey[]): string {
  let text = `${NAMESPACE}:${String(path[0])}`;
  for (const segment of path.slice(1)) text += typeof segment === "number" ? `[${segment}]` : `.${String(segment)}`;
  return text;
}

type Path = PropertyKey[];

/**
 * Stand-ins for a required value the schema rejected, tried in turn: the key stays tainted (no check
 * reads it), but its siblings are still checked. The name is one no stack would use (it matches the
 * name grammar, so a duplicate-name check cannot fire on a real name).
 */
const PLACEHOLDERS: unknown[] = ["zzrejected", 1, true];

/**
 * The config that remains once the values the schema rejected are dropped, so the semantic checks
 * can still run over the rest of the file in the same run. An invalid leaf is removed (its default,
 * if any, takes its place); a required key that is then missing gets a placeholder the schema
 * accepts (PLACEHOLDERS), else takes its parent with it; an array
 * element takes the whole array (later elements keep their indices in messages); an unknown key is
 * dropped, and the key it was probably meant to be (`hint`), when absent, counts as dropped too. Returns the
 * parsed config and every dropped key path ("tainted"), or no config when nothing valid is left of
 * the file's shape (e.g. env itself is invalid).
 */
function lenientParse(
  structured: Record<string, unknown>,
  issues: readonly z.core.$ZodIssue[],
  hint: (path: Path, key: string) => string | undefined,
): { config?: StackConfig; tainted: Path[] } {
  const doc = structuredClone(structured) as Record<string, unknown>;
  const tainted: Path[] = [];
  const lookup = (path: Path) => path.reduce<unknown>((v, k) => (v as Record<PropertyKey, unknown> | undefined)?.[k as string], doc);
  /** Path -> index of the placeholder tried there last. */
  const tried = new Map<string, number>();
  const remove = (path: Path): boolean => {
    // An array element: drop the whole array, so later elements are not renumbered.
    while (path.length && typeof path[path.length - 1] === "number") path = path.slice(0, -1);
    if (!path.length) return false;
    const parent = lookup(path.slice(0, -1));
    const last = path[path.length - 1] as string;
    if (!parent || typeof parent !== "object" || !(last in parent)) return false;
    delete (parent as Record<string, unknown>)[last];
    tainted.push(path);
    return true;
  };
  for (let round = 0; round < 50; round++) {
    let changed = false;
    for (const issue of issues) {
      const path = issue.path as Path;
      const id = JSON.stringify(path);
      if (issue.code === "unrecognized_keys") {
        const parent = lookup(path) as Record<string, unknown> | undefined;
        for (const key of issue.keys) {
          if (parent && key in parent) (delete parent[key], (changed = true));
          // Only where the file lacks the key it probably meant (replica: 2, no replicas).
          const meant = hint(path, key);
          if (meant && !(parent && meant in parent)) tainted.push([...path, meant]);
        }
      } else if (((issue.code === "invalid_type" || issue.code === "invalid_value") && (issue as { input?: unknown }).input === undefined) || tried.has(id)) {
        // A required key is missing (or its placeholder did not fit): the next placeholder, else its parent goes.
        tainted.push(path);
        const next = (tried.get(id) ?? -1) + 1;
        const parent = lookup(path.slice(0, -1));
        if (next < PLACEHOLDERS.length && path.length > 1 && parent && typeof parent === "object" && !Array.isArray(parent)) {
          (parent as Record<string, unknown>)[path[path.length - 1] as string] = structuredClone(PLACEHOLDERS[next]);
          tried.set(id, next);
          changed = true;
        } else {
          changed = remove(path.slice(0, -1)) || changed;
        }
      } else {
        changed = remove(path) || changed;
      }
    }
    const result = stackConfigSchema.safeParse(doc, { reportInput: true });
    if (result.success) return { config: result.data, tainted };
    if (!changed) return { tainted };
    issues = result.error.issues;
  }
  return { tainted };
}

/**
 * Validates raw values (top-level key without namespace -> parsed YAML/JSON value) for a stack.
 * Throws ConfigError listing every problem of the file in one run: the schema's (shape) problems
 * and the semantic ones (model/validate.ts) of what still parses without the rejected values
 * (checks that depend on a rejected value are skipped, so no problem only echoes another). Never
 * returns a half-valid config.
 */
export function parseStackConfig(
  raw: Record<string, unknown>,
  opts: { stack: string; sourceFile: string; isSecret?: (key: string) => boolean },
): { config: StackConfig; secretKeys: string[] } {
  const problems: string[] = [];
  const at = (path: PropertyKey[], message: string) => problems.push(`${opts.sourceFile}: ${keyPath(path)}: ${message}`);
  const isSecret = (key: string) => opts.isSecret?.(key) ?? false;
  // A value is never shown when its key is secret (under `pulumi up` the program sees it decrypted),
  // nor under secretEnv, whose values are key names but may be a pasted secret.
  const valueOf = (path: PropertyKey[], value: unknown) => (isSecret(String(path[0])) || (path[0] === "app" && path[1] === "secretEnv") ? SECRET_NOT_SHOWN : describe(value));
  // Nor where the schema expects a secret key's name (schema.ts secretKey: app.secretEnv, postgres.adminPasswordKey,
  // runners.registrationTokenKey, ...): a value that is not a key name may be the secret pasted in its place.
  const issueValue = (path: PropertyKey[], issue: { message: string; input?: unknown }) =>
    issue.message.startsWith(SECRET_KEY_NAME_EXPECTED) ? SECRET_KEY_NAME_NOT_SHOWN : valueOf(path, issue.input);

  const values: Record<string, unknown> = { ...raw };
  const previewBranch = branchFromStackName(opts.stack);
  // A preview stack needs no stack file: its env follows from its name.
  if (values.env === undefined && previewBranch !== undefined) values.env = "preview";
  // A preview-… name without a slug and no env (no stack file): the name is what is wrong.
  const badPreviewName = values.env === undefined ? invalidPreviewStackName(opts.stack, opts.sourceFile) : undefined;
  if (badPreviewName) throw new ConfigError([badPreviewName]);
  if (previewBranch !== undefined && values.env !== undefined && values.env !== "preview") {
    at(["env"], `stack "${opts.stack}" is a preview stack: env must be "preview", got ${valueOf(["env"], values.env)}`);
  }

  const schemaKeys = Object.keys(stackConfigSchema.shape);
  const structured: Record<string, unknown> = {};
  const extra: string[] = [];
  for (const [key, value] of Object.entries(values)) {
    if (schemaKeys.includes(key)) structured[key] = value;
    else extra.push(key);
  }

  // A `secure:` value nested in a structured key makes the engine mark the whole key secret; the
  // program cannot keep such a value secret in names, Caddyfiles, scripts and resource inputs, so
  // it is only accepted where it flows into the app's (secret) environment alone: redis.url. Such a
  // key gets that one line below: what the schema says of its values (a placeholder while planning,
  // decrypted text under `pulumi up`) would only echo it.
  const holdsSecure = Object.keys(structured).filter((key) => isSecret(key) && !SECRET_CAPABLE_KEYS.includes(key));

  const result = stackConfigSchema.safeParse(structured, { reportInput: true });
  let config: StackConfig | undefined;
  let tainted: Path[] = [];
  const envTainted = problems.length > 0;
  if (!result.success) {
    for (const issue of result.error.issues) {
      const path = issue.path as PropertyKey[];
      if (holdsSecure.includes(String(path[0]))) continue;
      if (issue.code === "unrecognized_keys") {
        for (const key of issue.keys) {
          const hint = closest(key, knownKeysAt(path));
          at(path.length ? [...path, key] : [key], `unknown key${hint ? ` (did you mean "${hint}"?)` : ""}`);
        }
      } else if ((issue.code === "invalid_type" || issue.code === "invalid_value") && issue.input === undefined) {
        at(path, "required key is missing");
      } else if (path.length === 0) {
        problems.push(`${opts.sourceFile}: ${issue.message}`);
      } else {
        const shown = issueValue(path, issue);
        // The quoting hint repeats the value: only where the value itself may be shown.
        at(path, `${issue.message}, got ${shown}${shown === SECRET_NOT_SHOWN || shown === SECRET_KEY_NAME_NOT_SHOWN ? "" : quoteHint(issue)}`);
      }
    }
    // The rest of the file is still checked, in this same run.
    ({ config, tainted } = lenientParse(structured, result.error.issues, (path, key) => closest(key, knownKeysAt(path))));
  } else {
    config = result.data;
  }
  // A preview stack with another env: the env-dependent checks would judge the wrong env.
  if (envTainted) tainted.push(["env"]);
  for (const key of holdsSecure) tainted.push([key]);
  for (const key of holdsSecure) {
    at(
      [key],
      `holds a secure value, which twinstack:${key} cannot keep secret (it reaches names, generated files and plain inputs): ` +
        "put the secret in a top-level key of its own and refer to it (app.secretEnv, postgres.adminPasswordKey, ...)",
    );
  }
  if (!config) throw new ConfigError(problems);

  const secretKeys = referencedSecretKeys(config);
  // Which top-level keys are secrets follows from the keys that refer to them: when one of those
  // was rejected, an extra key may be a secret it named, so extra keys are not called unknown.
  const referencesKnown = !touchesTainted(tainted, SECRET_REFERENCE_SITES);
  // An unknown top-level key probably meant a schema key (proxi: proxy): that key's checks would only echo it.
  for (const key of extra) {
    const meant = secretKeys.includes(key) ? undefined : closest(key, schemaKeys);
    if (meant && values[meant] === undefined) tainted.push([meant]);
    // A flat `preview.branch` meant the nested key: where the file lacks it, its checks would only echo this one.
    const dotted = secretKeys.includes(key) ? undefined : dottedSchemaPath(key);
    if (dotted && dotted.reduce<unknown>((v, k) => (v && typeof v === "object" ? (v as Record<string, unknown>)[k] : undefined), values) === undefined) tainted.push(dotted);
  }
  for (const key of extra) {
    if (secretKeys.includes(key) || !referencesKnown) continue;
    const dotted = dottedSchemaPath(key);
    if (dotted) {
      at([key], `unknown key: ${nestedKeyHint(dotted, isSecret(key))}`);
      continue;
    }
    const hint = closest(key, [...schemaKeys, ...secretKeys]);
    at([key], `unknown key${hint ? ` (did you mean "${hint}"?)` : ""}`);
  }
  for (const { key, path } of secretKeyReferences(config)) {
    // Defaulted in place of a rejected value (runners.registrationTokenKey): not the user's reference.
    if (touchesTainted(tainted, [path, ...SECRET_REFERENCE_GATES])) continue;
    // A program key (app, vip, ...) cannot also hold a secret: setting it as one would replace that config.
    if (schemaKeys.includes(key)) {
      at(path, `names "${key}", which is one of the program's own config keys (twinstack:${key}), not a free name for a secret: choose another key name`);
      continue;
    }
    // A key name that looks like a pasted secret is never echoed, nor put into a suggested command.
    const named = looksLikeKeyName(key);
    const where = named ? [key] : path;
    const command = named ? `\`pulumi config set --secret ${key} <value>\`` : "`pulumi config set --secret <name> <value>`, and put that <name> here";
    if (values[key] === undefined) {
      at(
        where,
        named
          ? `required secret is missing: set it with ${command}`
          : `names a secret config key that is not set (the name looks like a secret value itself, so it is not shown): choose a key name, set it with ${command}`,
      );
    } else if (opts.isSecret && !opts.isSecret(key)) {
      at(where, `holds a secret in plain text: set it with ${command}`);
    }
  }
  const declaresRunners = values.runners !== undefined;
  problems.push(...semanticProblems(config, opts.sourceFile, declaresRunners, tainted));
  problems.push(...validateStack(config, { file: opts.sourceFile, isSecret, declaresRunners, tainted, stack: opts.stack }));
  if (problems.length) throw new ConfigError(problems);
  return { config, secretKeys };
}

/** Keys that name secret config keys (secretKeyReferences), and the switches that make them count. */
const SECRET_REFERENCE_SITES: Path[] = [
  ["app", "secretEnv"],
  ["postgres", "adminPasswordKey"],
  ["gitea", "runner", "registrationTokenKey"],
  ["runners", "registrationTokenKey"],
  ["monitoring", "alerts"],
];
const SECRET_REFERENCE_GATES: Path[] = [
  ["postgres", "mode"],
  ["gitea", "runner", "enabled"],
  ["runners", "count"],
  ["monitoring", "enabled"],
];
SECRET_REFERENCE_SITES.push(...SECRET_REFERENCE_GATES);

/** Cross-field rules a schema cannot say locally. */
function semanticProblems(config: StackConfig, file: string, declaresRunners: boolean, tainted: Path[]): string[] {
  const problems: string[] = [];
  if (touchesTainted(tainted, [["env"]])) return problems;
  /** One problem at `path`; `inputs` are the other keys it depends on (skipped when one was rejected by the schema). */
  const at = (path: Path, message: string, inputs: Path[] = []) => {
    if (!touchesTainted(tainted, [path, ...inputs])) problems.push(`${file}: ${keyPath(path)}: ${message}`);
  };
  // A stack of its own for the runner fleet needs no app.
  if (config.env !== "preview" && !config.app && !declaresRunners) at(["app"], "required key is missing (or declare runners for a runner-fleet stack)", [["runners"]]);
  const hostNames = config.hosts.map((h) => h.name);
  config.hosts.forEach((host, i) => {
    if (hostNames.indexOf(host.name) !== i) at(["hosts", i, "name"], `duplicate host name "${host.name}"`);
    if (!host.docker && !host.provision) at(["hosts", i], "expected either docker (an existing host) or provision (a new server)");
    if (host.docker && host.provision) at(["hosts", i], "a host is either existing (docker) or provisioned (provision), not both");
  });
  if (config.postgres.mode === "shared") {
    if (!config.postgres.host) at(["postgres", "host"], 'required key is missing (postgres.mode is "shared")');
    if (!config.postgres.adminPasswordKey) at(["postgres", "adminPasswordKey"], 'required key is missing (postgres.mode is "shared")');
  }
  if (config.redis.mode === "shared" && !config.redis.url) at(["redis", "url"], 'required key is missing (redis.mode is "shared")');
  if (config.vip.mode === "keepalived") {
    if (!config.vip.address) at(["vip", "address"], 'required key is missing (vip.mode is "keepalived")');
    if (config.vip.routerId === undefined) at(["vip", "routerId"], 'required key is missing (vip.mode is "keepalived")');
  }
  (config.vip.nodes ?? []).forEach((node, i) => {
    if (!hostNames.includes(node)) at(["vip", "nodes", i], `no host named "${node}" (hosts: ${hostNames.join(", ")})`, [["hosts", "*", "name"]]);
  });
  if (config.vip.mode === "keepalived") {
    const holders = config.vip.nodes ?? hostNames;
    holders.forEach((node) => {
      const host = config.hosts.find((h) => h.name === node);
      if (host && !host.address && !host.provision)
        at(["hosts", hostNames.indexOf(node), "address"], "required for keepalived unicast peers", [
          ["vip", "nodes"],
          ["hosts", "*", "name"],
          ["hosts", hostNames.indexOf(node), "provision"],
        ]);
    });
  }
  if (config.runners.count > 0 && !config.runners.forgeUrl) at(["runners", "forgeUrl"], "required key is missing (runners.count > 0)");
  if (config.runners.count > 0 && !config.runners.adminCidr) at(["runners", "adminCidr"], "required key is missing (runners.count > 0): the only range allowed to SSH in");
  if (config.runners.adminCidr && /^(0\.0\.0\.0|::)\/0$/.test(config.runners.adminCidr)) {
    at(["runners", "adminCidr"], `opens SSH to the whole internet (${config.runners.adminCidr}): use your admin range, e.g. 203.0.113.0/24`);
  }
  // <app>_preview_<slug> must stay a valid Postgres identifier (63 bytes) with room for the slug.
  if (config.app && config.app.name.length > PREVIEW_APP_NAME_MAX_LENGTH) {
    at(["app", "name"], `at most ${PREVIEW_APP_NAME_MAX_LENGTH} characters (database and container names are built from it), got ${config.app.name.length}`);
  }
  if (config.haPostgres.enabled && config.hosts.length < config.haPostgres.members) {
    at(["haPostgres", "members"], `needs ${config.haPostgres.members} hosts, the stack has ${config.hosts.length}`, [["hosts"]]);
  }
  if (config.proxy.tls === "acme" && config.env !== "preview" && config.proxy.enabled && config.domains.some((d) => d.endsWith(".localhost") || d === "localhost")) {
    at(["proxy", "tls"], 'ACME cannot issue certificates for *.localhost: use "internal" or "selfsigned"', [["proxy", "enabled"], ["domains"]]);
  }
  // pg_dump refuses a server newer than itself: the backup client's major must be >= the server's.
  const serverMajor = backupServerMajor(config);
  const clientMajor = config.backup.image ? postgresMajorOf(config.backup.image) : undefined;
  if (config.backup.enabled && serverMajor !== undefined && clientMajor !== undefined && clientMajor < serverMajor) {
    at(
      ["backup", "image"],
      `pg_dump ${clientMajor} cannot dump a PostgreSQL ${serverMajor} server: use an image of major ${serverMajor} or newer, e.g. postgres:${serverMajor}-alpine`,
      [
        ["backup", "enabled"],
        ["postgres", "version"],
        ["postgres", "mode"],
        ["postgres", "image"],
        ["haPostgres", "enabled"],
        ["haPostgres", "image"],
      ],
    );
  }
  if (config.env !== "prod" && config.proxy.enabled && config.proxy.basicAuth.length === 0) {
    at(["proxy", "basicAuth"], `a ${config.env} stack needs at least one basic-auth user`, [["proxy", "enabled"]]);
  }
  if (config.monitoring.enabled) {
    const { webhookUrlKey, email } = config.monitoring.alerts;
    if (!webhookUrlKey && !email) at(["monitoring", "alerts"], "monitoring is enabled but sends alerts nowhere: set webhookUrlKey or email", [["monitoring", "enabled"]]);
    if (webhookUrlKey && email) at(["monitoring", "alerts"], "set one receiver, webhookUrlKey or email, not both");
    if (config.env !== "prod" && config.env !== "dev") at(["monitoring", "enabled"], `a ${config.env} stack has no monitoring of its own (the dev stack's covers its host)`);
  }
  return problems;
}

/** The major of the server the backups read: postgres.version, else what the server image shows. */
export function backupServerMajor(config: StackConfig): number | undefined {
  if (config.postgres.version !== undefined) return config.postgres.version;
  if (config.haPostgres.enabled) return postgresMajorOf(config.haPostgres.image);
  if (config.postgres.mode === "dedicated") return postgresMajorOf(config.postgres.image);
  return undefined;
}

/**
 * The values of our namespace in a Pulumi config map (`<namespace>:<key>` -> raw string, what the
 * SDK's runtime.allConfig() returns), by key without the namespace, decoded: parseStackConfig's input.
 */
export function namespaceValues(all: Record<string, string>): Record<string, unknown> {
  const raw: Record<string, unknown> = {};
  for (const [fullKey, value] of Object.entries(all)) {
    const [namespace, key] = fullKey.split(":", 2);
    if (namespace !== NAMESPACE || key === undefined) continue;
    raw[key] = decodeConfigValue(value);
  }
  return raw;
}

/** Parses a raw Pulumi config string: structured values arrive JSON-encoded. */
export function decodeConfigValue(value: string): unknown {
  // Most values are plain words (dev, preview, a domain): JSON.parse would throw for them, and a
  // thrown error is costly. JSON text starts with one of these after its whitespace (RFC 8259, 2).
  if (!/^[ \t\n\r]*[{["\-0-9tfn]/.test(value)) return value;
  try {
    return JSON.parse(value);
  } catch {
    return value;
  }
}

/**
 * The branch a preview stack previews: `preview.branch` when set, else the one its stack name
 * (`preview-<slug>`) carries. Checked before anything is declared, by the program (stacks/preview.ts)
 * and by the plan's preflight (tools/preflight.ts), with one message each.
 * @throws ConfigError naming `sourceFile` when there is no branch, or when the stack name carries a
 *   slug previewSlug would change (a clean slug over 32 characters): resources, image tag and route
 *   carry the branch's one slug, so such a name is refused rather than silently re-slugged.
 */
export function previewStackBranch(configuredBranch: string | undefined, stack: string, sourceFile: string): string {
  const branch = previewBranch(configuredBranch, stack);
  if (branch === undefined) {
    throw new ConfigError([
      `${sourceFile}: ${NAMESPACE}:preview.branch: required key is missing ` + `(stack "${stack}" is not named preview-<branch>, so the branch cannot follow from its name)`,
    ]);
  }
  if (configuredBranch === undefined && previewSlug(branch) !== branch) throw new ConfigError([previewSlugProblem(stack, branch, sourceFile)]);
  return branch;
}

/** How a user finds the stack name of a branch (the CLI command of tools/preview-stack-name.ts). */
const PREVIEW_STACK_NAME_COMMAND = '`npx twinstack preview-stack-name -- "<branch>"`';

/**
 * The one line for a `preview-…` stack name that does not carry its branch's preview slug: `rest`
 * (what follows `preview-`) is not a slug, or one previewSlug would change (over 32 characters).
 */
function previewSlugProblem(stack: string, rest: string, sourceFile: string): string {
  if (rest === "" || !isWellFormedUnicode(rest)) {
    return `${sourceFile}: stack "${stack}" names no branch after ${PREVIEW_STACK_PREFIX}: name the stack ${PREVIEW_STACK_PREFIX}<slug> (${PREVIEW_STACK_NAME_COMMAND} prints it)`;
  }
  const slug = previewSlug(rest);
  return (
    `${sourceFile}: stack "${stack}" does not carry the preview slug "${slug}" of branch "${rest}": ` +
    `name the stack ${PREVIEW_STACK_PREFIX}${slug} (${PREVIEW_STACK_NAME_COMMAND} prints it)`
  );
}

/**
 * The slug problem of a stack named `preview-…` (optionally `org/project/`-qualified) whose name
 * carries no clean slug (`preview-Feature`, `preview-feature_login`, `preview-`), or undefined for
 * any other stack name. Such a stack is no preview by its name, so without this its missing stack
 * file would only yield "env: required key is missing" for a file that does not exist.
 */
export function invalidPreviewStackName(stack: string, sourceFile: string): string | undefined {
  const name = stack.slice(stack.lastIndexOf("/") + 1);
  if (!name.startsWith(PREVIEW_STACK_PREFIX) || branchFromStackName(stack) !== undefined) return undefined;
  return previewSlugProblem(stack, name.slice(PREVIEW_STACK_PREFIX.length), sourceFile);
}
