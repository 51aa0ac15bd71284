// The URN and inputs baseline: every default and example stack planned offline, each resource's URN
// with its inputs, committed under tests/baselines/. tests/urnBaseline.test.ts plans again and
// compares, so a rename without `aliases` (a new URN: Pulumi would replace the resource, and prod's
// protected ones refuse) or an accidental input change fails with a readable diff.
//
//   npm run urns-update             rewrites the baseline after an intended change (review the git diff)
//
// Secrets never reach the baseline: a Pulumi secret is written as a SHA-256 of its (plan-time,
// mock-generated or placeholder) value, so a changed secret still shows as a change.
import { createHash } from "crypto";
import * as fs from "fs";
import * as path from "path";
import { SecretValue } from "./harness";
import { planStack, StackPlan } from "./planner";

// The project root from tools/build.js (a link in dist/ resolves to the source), so the compiled
// dist/tools/urnBaseline.js (npm run urns-update) reads and writes the same files as the source.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { ROOT } = require("./build.js") as { ROOT: string };
/** Where the baseline lives: one JSON file per stack, `<system>.<stack>.json` (`default` = the project root). */
export const BASELINE_DIR = path.join(ROOT, "tests", "baselines");

export interface BaselineStack {
  /** File name stem: `default.prod`, `gigi.dev`. */
  id: string;
  stack: string;
  stackFile: string;
}

/** A stack's baseline: URN to the resource's inputs (secrets as `[secret sha256:…]`), URNs sorted. */
export interface Baseline {
  stack: string;
  /** Relative to the project root. */
  stackFile: string;
  resources: Record<string, Record<string, unknown>>;
  /**
   * Old URNs a resource is still matched by (its `aliases`, own and inherited from its parent), by
   * its current URN; absent when no resource has any. A renamed component shows here with the
   * URN it had before the rename.
   */
  aliases?: Record<string, string[]>;
}

/**
 * The stacks the baseline covers: the project's default stacks (Pulumi.dev.yaml, Pulumi.prod.yaml
 * and the README walkthrough's preview-feature-login, which has no stack file of its own) and
 * every Pulumi.<stack>.yaml under examples/<system>/.
 */
export function baselineStacks(root = ROOT): BaselineStack[] {
  const stacks: BaselineStack[] = ["dev", "prod", "preview-feature-login"].map((stack) => ({
    id: `default.${stack}`,
    stack,
    stackFile: path.join(root, `Pulumi.${stack}.yaml`),
  }));
  const examples = path.join(root, "examples");
  for (const system of fs.readdirSync(examples).sort()) {
    const dir = path.join(examples, system);
    if (!fs.statSync(dir).isDirectory()) continue;
    for (const f of fs.readdirSync(dir).sort()) {
      const m = /^Pulumi\.([^.]+)\.yaml$/.exec(f);
      if (m) stacks.push({ id: `${system}.${m[1]}`, stack: m[1], stackFile: path.join(dir, f) });
    }
  }
  return stacks;
}

/** A secret as the baseline writes it: a digest, never the value. */
export function redactSecret(value: unknown): string {
  return `[secret sha256:${createHash("sha256")
    .update(JSON.stringify(value) ?? "undefined")
    .digest("hex")
    .slice(0, 16)}]`;
}

/** Inputs with secrets replaced by their digest and object keys sorted (stable JSON, readable git diffs). */
export function redact(value: unknown): unknown {
  if (value instanceof SecretValue) return redactSecret(value.value);
  if (Array.isArray(value)) return value.map(redact);
  if (value && typeof value === "object") {
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(value).sort()) out[k] = redact((value as Record<string, unknown>)[k]);
    return out;
  }
  return value;
}

/** Plans one stack offline, without the policy pack (the baseline is about what is declared). */
export function planForBaseline(s: BaselineStack, root = ROOT): Promise<StackPlan> {
  return planStack({ stack: s.stack, stackFile: s.stackFile, projectDir: root, runPolicyPack: false });
}

/** The baseline of a planned stack. */
export function baselineOf(s: BaselineStack, plan: StackPlan, root = ROOT): Baseline {
  const resources: Baseline["resources"] = {};
  const aliases: Record<string, string[]> = {};
  for (const r of [...plan.resources].sort((a, b) => (a.urn < b.urn ? -1 : a.urn > b.urn ? 1 : 0))) {
    resources[r.urn] = redact(r.inputs) as Record<string, unknown>;
    if (r.aliases.length) aliases[r.urn] = [...r.aliases].sort();
  }
  const baseline: Baseline = { stack: s.stack, stackFile: path.relative(root, s.stackFile), resources };
  if (Object.keys(aliases).length) baseline.aliases = aliases;
  return baseline;
}

/** Component type tokens renamed with `aliases`, old to new: the URNs a stack had before each rename. */
export const RENAMED_TYPES: ReadonlyArray<{ from: string; to: string }> = [
  { from: "twinstack:index:SharedPostgresDb", to: "twinstack:index:PostgresDatabase" },
  { from: "twinstack:index:VipPair", to: "twinstack:index:VirtualIp" },
];

/** A URN with each renamed type token in its type chain put back to the old token. */
export function urnBeforeRenames(urn: string, renames = RENAMED_TYPES): string {
  const parts = urn.split("::");
  parts[2] = parts[2]
    .split("$")
    .map((t) => renames.find((r) => r.to === t)?.from ?? t)
    .join("$");
  return parts.join("::");
}

/** The baseline as the program declared it before the renames: URNs with the old tokens, no aliases. */
export function baselineBeforeRenames(b: Baseline, renames = RENAMED_TYPES): Baseline {
  const resources: Baseline["resources"] = {};
  for (const [u, inputs] of Object.entries(b.resources)) resources[urnBeforeRenames(u, renames)] = inputs;
  const sorted = Object.fromEntries(
    Object.keys(resources)
      .sort()
      .map((u) => [u, resources[u]]),
  );
  return { stack: b.stack, stackFile: b.stackFile, resources: sorted };
}

export const baselineFile = (id: string, dir = BASELINE_DIR) => path.join(dir, `${id}.json`);

export function formatBaseline(b: Baseline): string {
  return `${JSON.stringify(b, null, 2)}\n`;
}

/** Leaf values by dotted path (`envs[3]`, `taskSpec.containerSpec.image`). */
function leaves(value: unknown, prefix: string, out: Map<string, unknown>): Map<string, unknown> {
  if (Array.isArray(value) && value.length) value.forEach((v, i) => leaves(v, `${prefix}[${i}]`, out));
  else if (value && typeof value === "object" && !Array.isArray(value) && Object.keys(value).length) {
    for (const [k, v] of Object.entries(value)) leaves(v, prefix ? `${prefix}.${k}` : k, out);
  } else out.set(prefix, value);
  return out;
}

/** One changed leaf, readable: a multi-line text (a rendered file) shows its first differing line. */
function describeChange(p: string, before: unknown, after: unknown): string {
  if (typeof before === "string" && typeof after === "string" && (before.includes("\n") || after.includes("\n"))) {
    const a = before.split("\n");
    const b = after.split("\n");
    let i = 0;
    while (i < a.length && i < b.length && a[i] === b[i]) i++;
    return `${p} (line ${i + 1}): ${JSON.stringify(a[i] ?? "(end)")} => ${JSON.stringify(b[i] ?? "(end)")}`;
  }
  const show = (v: unknown) => (v === undefined ? "(none)" : JSON.stringify(v));
  return `${p}: ${show(before)} => ${show(after)}`;
}

/**
 * The differences between a committed baseline and a fresh one, one line each ("" when equal):
 * URNs gone (a rename needs `aliases` on the new resource: https://www.pulumi.com/docs/iac/concepts/options/aliases/),
 * URNs new, and each changed input by path. A URN that is gone but is an alias of a resource of
 * `after` is not gone: Pulumi moves its state to that resource (no replacement), and its inputs are
 * compared with that resource's, shown as `~ old => new`.
 */
export function compareBaselines(before: Baseline, after: Baseline): string[] {
  const lines: string[] = [];
  // Old URN -> the new URN whose aliases include it.
  const movedTo = new Map<string, string>();
  for (const [u, olds] of Object.entries(after.aliases ?? {})) for (const old of olds) if (old in before.resources && !(old in after.resources)) movedTo.set(old, u);
  const moved = new Set(movedTo.values());
  const gone = Object.keys(before.resources).filter((u) => !(u in after.resources) && !movedTo.has(u));
  const added = Object.keys(after.resources).filter((u) => !(u in before.resources) && !moved.has(u));
  for (const u of gone) lines.push(`- ${u}   (URN no longer declared: a rename needs aliases, or Pulumi replaces the resource)`);
  for (const u of added) lines.push(`+ ${u}`);
  const pairs: [string, string][] = [
    ...Object.keys(after.resources)
      .filter((u) => u in before.resources)
      .map((u): [string, string] => [u, u]),
    ...[...movedTo.entries()],
  ];
  for (const [old, u] of pairs) {
    const a = leaves(before.resources[old], "", new Map());
    const b = leaves(after.resources[u], "", new Map());
    const changed = [...new Set([...a.keys(), ...b.keys()])].filter((p) => JSON.stringify(a.get(p)) !== JSON.stringify(b.get(p)));
    if (changed.length) {
      lines.push(old === u ? `~ ${u}` : `~ ${old} => ${u}`);
      for (const p of changed.sort()) lines.push(`    ${describeChange(p, a.get(p), b.get(p))}`);
    }
  }
  return lines;
}

async function main(): Promise<void> {
  fs.mkdirSync(BASELINE_DIR, { recursive: true });
  const stacks = baselineStacks();
  const keep = new Set(stacks.map((s) => `${s.id}.json`));
  for (const f of fs.readdirSync(BASELINE_DIR)) if (f.endsWith(".json") && !keep.has(f)) fs.rmSync(path.join(BASELINE_DIR, f));
  for (const s of stacks) {
    const b = baselineOf(s, await planForBaseline(s));
    fs.writeFileSync(baselineFile(s.id), formatBaseline(b));
    console.log(`${path.relative(ROOT, baselineFile(s.id))}: ${Object.keys(b.resources).length} resources`);
  }
}

if (require.main === module) {
  main().catch((err) => {
    console.error(err);
    process.exit(1);
  });
}
