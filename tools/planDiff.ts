// `plan --against <git ref | plan JSON>`: what a stack-file change adds, removes and changes,
// resource by resource with the inputs that differ, offline. Secrets are never printed: a changed
// secret shows as "[secret] (changed)", compared through a keyed hash that lives only in this process.
import { execFileSync } from "child_process";
import { createHmac, randomBytes } from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { SecretValue } from "./harness";
import { PlanError } from "./planner";

/** A planned resource as the diff sees it: parent by name, inputs with secrets as SecretValue or "[secret]". */
export interface DiffResource {
  type: string;
  name: string;
  parent?: string;
  inputs: Record<string, unknown>;
  /**
   * The resource's `ignoreChanges` paths (Pulumi resource option): a difference under one of them is
   * left out, as `pulumi up` leaves it (https://www.pulumi.com/docs/iac/concepts/options/ignorechanges/).
   */
  ignoreChanges?: string[];
  /** Older type/name pairs its `aliases` let the engine match old state by (a renamed component). */
  aliases?: { type: string; name: string }[];
}

/** The type and name of an alias URN, `urn:pulumi:<stack>::<project>::<parentType$...$type>::<name>`. */
export function aliasTypeAndName(urn: string): { type: string; name: string } | undefined {
  const m = /^urn:pulumi:[^:]*::[^:]*::(.+?)::(.*)$/.exec(urn);
  if (!m) return undefined;
  const chain = m[1].split("$");
  return { type: chain[chain.length - 1], name: m[2] };
}

/** A planned resource (tools/harness PlannedResource) as the diff sees it; `parent` is its parent's name. */
export function toDiffResource(
  r: { type: string; name: string; inputs: Record<string, unknown>; opts?: { ignoreChanges?: string[] }; aliases?: string[] },
  parent: string | undefined,
): DiffResource {
  const aliases = (r.aliases ?? []).map(aliasTypeAndName).filter((a): a is { type: string; name: string } => a !== undefined && (a.type !== r.type || a.name !== r.name));
  return {
    type: r.type,
    name: r.name,
    parent: parent || undefined,
    inputs: r.inputs,
    ...(r.opts?.ignoreChanges?.length ? { ignoreChanges: r.opts.ignoreChanges } : {}),
    ...(aliases.length ? { aliases } : {}),
  };
}

/** Whether an input path (`uploads[0].content`) lies under an ignoreChanges path (`uploads`). */
function ignored(pathText: string, ignore: string[] | undefined): boolean {
  return (ignore ?? []).some((p) => pathText === p || pathText.startsWith(`${p}.`) || pathText.startsWith(`${p}[`));
}

export interface InputChange {
  /** Dotted path into the inputs, e.g. `envs[3]`, `healthcheck.interval`. */
  path: string;
  before: string;
  after: string;
}

export interface PlanDiff {
  added: DiffResource[];
  removed: DiffResource[];
  /** Resources found in the old plan under an alias (a renamed type): the same resource, not a replacement. */
  renamed: { type: string; name: string; was: string }[];
  changed: { type: string; name: string; changes: InputChange[] }[];
  unchanged: number;
}

const SALT = randomBytes(32);
const SECRET = "[secret]";
const UNKNOWN_SECRET = "secret:?";

/** Leaf values by path; a secret is one leaf (its content never leaves this function unhashed). */
function flatten(value: unknown, prefix: string, out: Map<string, { shown: string; compare: string }>): void {
  if (value instanceof SecretValue) {
    const digest = createHmac("sha256", SALT)
      .update(JSON.stringify(value.value) ?? "")
      .digest("hex");
    out.set(prefix, { shown: SECRET, compare: `secret:${digest}` });
    return;
  }
  if (Array.isArray(value)) {
    if (value.length === 0) out.set(prefix, { shown: "[]", compare: "[]" });
    value.forEach((v, i) => flatten(v, `${prefix}[${i}]`, out));
    return;
  }
  if (value && typeof value === "object") {
    const entries = Object.entries(value).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    if (entries.length === 0) out.set(prefix, { shown: "{}", compare: "{}" });
    for (const [k, v] of entries) flatten(v, prefix ? `${prefix}.${k}` : k, out);
    return;
  }
  // A saved plan JSON holds secrets as "[secret]": equal to any secret, as nothing more is known.
  if (value === SECRET) {
    out.set(prefix, { shown: SECRET, compare: UNKNOWN_SECRET });
    return;
  }
  const text = JSON.stringify(value) ?? "undefined";
  out.set(prefix, { shown: text, compare: text });
}

const keyOf = (r: DiffResource) => `${r.type}\0${r.parent ?? ""}\0${r.name}`;

export function diffPlans(before: DiffResource[], after: DiffResource[]): PlanDiff {
  const old = new Map(before.map((r) => [keyOf(r), r]));
  const now = new Map(after.map((r) => [keyOf(r), r]));
  const diff: PlanDiff = { added: [], removed: [], renamed: [], changed: [], unchanged: 0 };
  // What each new resource was in the old plan: same type/parent/name, else one of its aliases.
  const matched = new Map<string, DiffResource>();
  const claimed = new Set<string>();
  for (const [key, r] of now) {
    if (old.has(key)) {
      matched.set(key, old.get(key)!);
      claimed.add(key);
      continue;
    }
    const viaAlias = (r.aliases ?? []).map((a) => keyOf({ ...r, type: a.type, name: a.name })).find((k) => old.has(k) && !now.has(k) && !claimed.has(k));
    if (viaAlias === undefined) {
      diff.added.push(r);
      continue;
    }
    const was = old.get(viaAlias)!;
    matched.set(key, was);
    claimed.add(viaAlias);
    diff.renamed.push({ type: r.type, name: r.name, was: was.type === r.type ? was.name : was.type });
  }
  for (const [key, r] of old) if (!claimed.has(key)) diff.removed.push(r);
  for (const [key, r] of now) {
    const was = matched.get(key);
    if (!was) continue;
    const a = new Map<string, { shown: string; compare: string }>();
    const b = new Map<string, { shown: string; compare: string }>();
    flatten(was.inputs, "", a);
    flatten(r.inputs, "", b);
    const changes: InputChange[] = [];
    for (const p of [...new Set([...a.keys(), ...b.keys()])].sort()) {
      const x = a.get(p);
      const y = b.get(p);
      if (x?.compare === y?.compare) continue;
      if (ignored(p, r.ignoreChanges)) continue;
      if (x?.shown === SECRET && y?.shown === SECRET && (x.compare === UNKNOWN_SECRET || y.compare === UNKNOWN_SECRET)) continue;
      const secretChange = x?.shown === SECRET && y?.shown === SECRET;
      changes.push({ path: p, before: x?.shown ?? "(none)", after: secretChange ? `${SECRET} (changed)` : (y?.shown ?? "(none)") });
    }
    if (changes.length) diff.changed.push({ type: r.type, name: r.name, changes });
    else diff.unchanged += 1;
  }
  return diff;
}

/** Long values (rendered files, base64) cut for reading; --json carries them whole. */
function short(text: string): string {
  return text.length > 100 ? `${text.slice(0, 60)}…(${text.length} chars)` : text;
}

export function formatDiff(diff: PlanDiff, against: string): string {
  const lines = [`Against ${against}: ${diff.added.length} to add, ${diff.removed.length} to remove, ${diff.changed.length} to change, ${diff.unchanged} unchanged`];
  for (const r of diff.renamed) lines.push(`  = ${r.type}  ${r.name}  (was ${r.was}: the same resource, matched through its alias)`);
  for (const r of diff.added) lines.push(`  + ${r.type}  ${r.name}`);
  for (const r of diff.removed) lines.push(`  - ${r.type}  ${r.name}`);
  for (const c of diff.changed) {
    lines.push(`  ~ ${c.type}  ${c.name}`);
    for (const ch of c.changes) lines.push(`      ${ch.path}: ${short(ch.before)} => ${short(ch.after)}`);
  }
  return lines.join("\n");
}

/** Reads the resources of a `plan --json` file. */
export function readPlanJson(file: string): DiffResource[] {
  let parsed: { resources?: DiffResource[] };
  try {
    parsed = JSON.parse(fs.readFileSync(file, "utf8"));
  } catch (err) {
    throw new PlanError(`--against ${file}: not a readable plan JSON (from plan --json): ${(err as Error).message.split("\n")[0]}`);
  }
  if (!Array.isArray(parsed.resources)) throw new PlanError(`--against ${file}: no "resources" list; expected the output of plan --json`);
  return parsed.resources;
}

/**
 * The stack files as they were at a git ref: every Pulumi.*.yaml of the stack file's directory at
 * that ref, written to a temporary directory (a preview plans its dev file beside it; policies
 * read the siblings). Returns the copy of the stack file and the directory as git names it at the
 * ref (`<ref>:<dir from the top level>/`, gitrevisions(7)), for messages, and `unchanged`: the
 * directory holds exactly these files with exactly this content today (then the plan at the ref is
 * today's plan: nothing else differs). The program's code is today's: the diff shows what the
 * stack-file change does.
 */
export function stackFileAtRef(stackFile: string, ref: string): { file: string; dirAtRef: string; unchanged: boolean; cleanup(): void } {
  const dir = path.dirname(path.resolve(stackFile));
  const git = (args: string[]) => execFileSync("git", args, { cwd: dir, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
  let prefix: string;
  try {
    git(["rev-parse", "--verify", "--quiet", `${ref}^{commit}`]);
    prefix = git(["rev-parse", "--show-prefix"]).trim();
  } catch {
    throw new PlanError(`--against ${ref}: neither a plan JSON file nor a git commit of the repository holding ${stackFile}`);
  }
  // `<ref>:<prefix>` is the directory's tree at the ref, the prefix counted from the repository's top
  // level (gitrevisions(7)); --full-tree keeps ls-tree from also limiting its listing to the working
  // directory (git-ls-tree(1)), which here is that same directory. -z: names unquoted.
  let listing: string;
  try {
    listing = git(["ls-tree", "--full-tree", "-z", `${ref}:${prefix}`]);
  } catch {
    listing = ""; // the directory did not exist at the ref
  }
  const blobs = new Map<string, string>();
  for (const entry of listing.split("\0")) {
    const m = /^100\d{3} blob ([0-9a-f]+)\t(Pulumi\..+\.yaml)$/.exec(entry);
    if (m) blobs.set(m[2], m[1]);
  }
  const base = path.basename(stackFile);
  if (!blobs.has(base)) throw new PlanError(`--against ${ref}: ${prefix}${base} does not exist at ${ref}`);
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "twinstack-against-"));
  let unchanged = sameNames([...blobs.keys()], stackFilesIn(dir));
  for (const [name, blob] of blobs) {
    const text = git(["cat-file", "blob", blob]);
    fs.writeFileSync(path.join(tmp, name), text);
    if (unchanged) unchanged = fs.readFileSync(path.join(dir, name), "utf8") === text;
  }
  return { file: path.join(tmp, base), dirAtRef: `${ref}:${prefix}`, unchanged, cleanup: () => fs.rmSync(tmp, { recursive: true, force: true }) };
}

/**
 * The names in a directory today that a plan could read as stack files (any entry; `.yml` too, which
 * a plan reads as a sibling but the copy above does not take from the ref: then they never match).
 */
function stackFilesIn(dir: string): string[] {
  return fs.readdirSync(dir).filter((name) => /^Pulumi\..+\.ya?ml$/.test(name));
}

function sameNames(a: string[], b: string[]): boolean {
  return a.length === b.length && [...a].sort().join("\0") === [...b].sort().join("\0");
}
